"""Tests for gan_utils.classifier: shapes, rebuild from config, shifts, deterministic training,
and the shipped classifier's accuracy on MNIST test images."""
import dataclasses
import json

import pytest
import torch

from gan_utils import pretrained
from gan_utils.classifier import (
    ClassifierTrainConfig,
    MNISTClassifier,
    MNISTClassifierConfig,
    accuracy,
    classify,
    random_shift,
    train_classifier,
)
from gan_utils.data import DataNotFoundError, load_mnist
from gan_utils.models import build_model, count_parameters
from gan_utils.runtime import torch_threads


def test_shapes_and_feature_dimension():
    clf = MNISTClassifier().eval()
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    assert clf(x).shape == (5, 10)
    assert clf.features(x).shape == (5, 128) and clf.num_features == 128
    assert (clf.features(x) >= 0).all()  # post-ReLU features
    out = classify(clf, x, batch_size=2)
    assert out.probs.shape == (5, 10) and out.features.shape == (5, 128)
    assert torch.allclose(out.probs.sum(dim=1), torch.ones(5), atol=1e-6)
    assert torch.allclose(out.probs, classify(clf, x, batch_size=1000).probs, atol=1e-6)
    assert 50_000 < count_parameters(clf) < 250_000  # small: the shipped file stays under 1 MB
    with pytest.raises(ValueError, match="28, 28"):
        clf(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError):
        MNISTClassifierConfig(channels=(8, 8))


def test_rebuilds_from_its_json_config():
    config = MNISTClassifierConfig(channels=(4, 8, 8), hidden=16)
    fields = json.loads(json.dumps(dataclasses.asdict(config)))  # tuples become lists
    model = build_model("MNISTClassifier", fields)
    assert isinstance(model, MNISTClassifier) and model.config == config and model.num_features == 16


def test_random_shift_moves_a_pixel_within_range_and_keeps_the_background():
    x = torch.full((200, 1, 28, 28), -1.0)
    x[:, 0, 14, 14] = 1.0
    gen = torch.Generator().manual_seed(0)
    y = random_shift(x, 2, gen)
    assert y.shape == x.shape
    assert torch.equal((y == 1).sum(dim=(1, 2, 3)), torch.ones(200, dtype=torch.long))  # one bright pixel each
    rows, cols = torch.nonzero(y[:, 0] == 1)[:, 1], torch.nonzero(y[:, 0] == 1)[:, 2]
    assert set((rows - 14).tolist()) == set(range(-2, 3)) and set((cols - 14).tolist()) == set(range(-2, 3))
    assert torch.equal(random_shift(x, 0, gen), x)


def test_training_is_deterministic_and_lowers_the_loss():
    torch.manual_seed(123)
    images = torch.rand(128, 1, 28, 28) * 2 - 1
    labels = (images.mean(dim=(1, 2, 3)) > images.mean()).long()  # a learnable rule
    config = ClassifierTrainConfig(epochs=3, batch_size=32, max_lr=1e-2, seed=7)
    small = MNISTClassifierConfig(channels=(4, 8, 8), hidden=16)
    with torch_threads(1):
        m1, l1 = train_classifier(images, labels, config, small, progress=False)
        m2, l2 = train_classifier(images, labels, config, small, progress=False)
    assert len(l1) == 12 and l1 == l2
    assert sum(l1[-4:]) < sum(l1[:4])  # the last epoch's losses are lower than the first's
    for (k, v1), v2 in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(v1, v2), k
    assert not m1.training


@pytest.mark.slow
def test_shipped_classifier_accuracy_on_test_images(mnist_test):
    clf = pretrained.load("mnist-classifier")
    acc = accuracy(clf, mnist_test.images, mnist_test.labels)
    assert acc >= 0.99


@pytest.fixture(scope="module")
def mnist_test():
    try:
        return load_mnist(train=False, limit=2000)
    except DataNotFoundError as exc:
        pytest.skip(str(exc))
