"""Tests of Stacked MNIST: stacking, mode numbering and scores (with the shipped classifier)."""
import importlib.util
import math
from pathlib import Path

import pytest
import torch

import gan_utils.dcgan  # noqa: F401  (registers the DCGAN classes for loading)
from gan_utils import pretrained
from gan_utils.data import DataNotFoundError, load_mnist
from gan_utils.dynamics.stacked_mnist import channel_confidence, mode_ids, score_modes, stacked_labels, stacked_sampler
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


@pytest.mark.slow
def test_channel_confidence_high_on_real_stacked_digits_and_rejects_bad_shapes(mnist_test):
    clf = load("mnist-classifier")
    x = stacked_sampler(mnist_test.images)(300, torch.Generator().manual_seed(2))
    assert 0.9 < channel_confidence(clf, x) <= 1.0
    blank = -torch.ones(20, 3, 28, 28)  # the same blank image in every channel: one class, confidence in (0.1, 1]
    assert 0.1 <= channel_confidence(clf, blank) <= 1.0
    with pytest.raises(ValueError):
        channel_confidence(clf, x[:, :1])


@pytest.mark.parametrize("name", ["stacked-dcgan", "stacked-pacdcgan2"])
def test_shipped_stacked_generators_load_verified_and_draw_stacked_images(name):
    G = load(name)  # verifies the pinned sha256
    assert G.config.nc == 3
    with torch.no_grad():
        x = G(torch.randn(4, G.config.nz, 1, 1))
    assert x.shape == (4, 3, 28, 28) and float(x.abs().max()) <= 1
    extra = pretrained.info(name)["extra"]
    assert extra["final_confidence"] >= 0.8 and extra["threads"] == 1
    steps = {pretrained.info(n)["extra"]["steps"] for n in ("stacked-dcgan", "stacked-pacdcgan2")}
    assert len(steps) == 1  # equal budget


def test_training_script_builds_equal_generators():
    spec = importlib.util.spec_from_file_location(
        "train_stacked_mnist", Path(__file__).resolve().parents[1] / "scripts" / "train_stacked_mnist.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    G1, D1, _ = mod.build("dcgan", 8, 8, 10)
    G2, D2, _ = mod.build("pacdcgan2", 8, 8, 10)
    assert sum(p.numel() for p in G1.parameters()) == sum(p.numel() for p in G2.parameters())
    x = torch.randn(6, 3, 28, 28)
    assert D1(x).numel() == 6 and D2(x).numel() == 3
    with pytest.raises(ValueError):
        mod.build("wgan", 8, 8, 10)
