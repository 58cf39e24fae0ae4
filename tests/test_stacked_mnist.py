"""Tests of Stacked MNIST: stacking, mode numbering and scores (with the shipped classifier)."""
import math

import pytest
import torch

from gan_utils.data import DataNotFoundError, load_mnist
from gan_utils.dynamics.stacked_mnist import mode_ids, score_modes, stacked_labels, stacked_sampler
from gan_utils.pretrained import load


def test_score_modes_known_answers():
    s = score_modes(torch.arange(1000))
    assert s.modes == 1000 and abs(s.kl) < 1e-12
    s = score_modes(torch.tensor([7] * 10))
    assert s.modes == 1 and abs(s.kl - math.log(1000)) < 1e-12
    with pytest.raises(ValueError):
        score_modes(torch.tensor([1000]))


@pytest.fixture(scope="module")
def mnist_test():
    try:
        return load_mnist(train=False, limit=600)
    except DataNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.mark.slow
def test_stacked_images_classified_as_their_label_triples(mnist_test):
    data = mnist_test
    rng = torch.Generator().manual_seed(0)
    idx = torch.randint(600, (200, 3), generator=rng)
    x = data.images[idx].squeeze(2)
    assert x.shape == (200, 3, 28, 28)
    ids = mode_ids(load("mnist-classifier"), x)
    truth = stacked_labels(data.labels, idx)
    assert float((ids == truth).float().mean()) > 0.95  # three digits right: ~0.995^3
    sample = stacked_sampler(data.images)
    y = sample(16, torch.Generator().manual_seed(1))
    assert y.shape == (16, 3, 28, 28) and float(y.min()) >= -1 and float(y.max()) <= 1
