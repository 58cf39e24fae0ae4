"""Tests for the generated-digit metrics of gan_utils.digit_metrics, against closed forms and torchmetrics."""
import math

import numpy as np
import pytest
import torch
from scipy import linalg

from gan_utils import digit_metrics as metrics
from gan_utils.classifier import FeatureExtractor, MNISTClassifier, MNISTClassifierConfig, classify

SMALL = MNISTClassifierConfig(channels=(4, 8, 8), hidden=16)  # untrained and small: fast, same code path


def test_kl_to_uniform_of_known_histograms():
    # q = (1/4, 1/4, 1/2), K = 3: sum q log(3 q)
    expected = 2 * 0.25 * math.log(0.75) + 0.5 * math.log(1.5)
    assert metrics.kl_to_uniform([1, 1, 2]) == pytest.approx(expected, rel=1e-12)
    assert metrics.kl_to_uniform([5] * 10) == pytest.approx(0.0, abs=1e-15)
    assert metrics.kl_to_uniform([0, 0, 7, 0]) == pytest.approx(math.log(4), rel=1e-12)
    with pytest.raises(ValueError):
        metrics.kl_to_uniform([0, 0])


def test_class_histogram_and_confidence():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1]])
    assert metrics.class_histogram(probs).tolist() == [2, 1, 1]
    assert metrics.mean_confidence(probs) == pytest.approx((0.7 + 0.8 + 0.4 + 0.6) / 4, rel=1e-6)
    with pytest.raises(ValueError):
        metrics.class_histogram(torch.tensor([[0.5, 0.6]]))  # rows must sum to 1


def test_inception_score_extremes_and_splits():
    one_hot = np.eye(10)[np.arange(200) % 10]  # certain and balanced: IS = K
    uniform = np.full((200, 10), 0.1)  # every p(y|x) the same: IS = 1
    assert metrics.inception_score(one_hot) == pytest.approx((10.0, 0.0), abs=1e-9)
    assert metrics.inception_score(uniform) == pytest.approx((1.0, 0.0), abs=1e-9)
    # all images certain of one class: p(y|x) = p(y), IS = 1
    assert metrics.inception_score(np.eye(10)[np.zeros(50, dtype=int)])[0] == pytest.approx(1.0, abs=1e-9)
    # two splits scoring 10 and 1: mean 5.5, population sd 4.5
    mean, sd = metrics.inception_score(np.concatenate([one_hot, uniform]), splits=2)
    assert (mean, sd) == pytest.approx((5.5, 4.5), abs=1e-9)
    # a two-class case by hand: p(y|x) = (0.9, 0.1) and (0.1, 0.9), p(y) = (0.5, 0.5)
    kl = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    assert metrics.inception_score(np.array([[0.9, 0.1], [0.1, 0.9]]))[0] == pytest.approx(math.exp(kl), rel=1e-12)
    with pytest.raises(ValueError):
        metrics.inception_score(uniform, splits=0)


def _with_moments(rng, mean, cov, n):
    """n samples whose sample mean and (unbiased) sample covariance equal mean and cov exactly."""
    z = rng.normal(size=(n, len(mean)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.atleast_2d(np.cov(z, rowvar=False)))).T
    return z @ np.linalg.cholesky(cov).T + mean


def test_frechet_distance_matches_closed_form():
    rng = np.random.default_rng(0)
    d = 6
    a_, b_ = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    cov1, cov2 = a_ @ a_.T + np.eye(d), b_ @ b_.T + 0.3 * np.eye(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    x, y = _with_moments(rng, mu1, cov1, 400), _with_moments(rng, mu2, cov2, 300)
    reference = np.sum((mu1 - mu2) ** 2) + np.trace(cov1 + cov2 - 2 * linalg.sqrtm(cov1 @ cov2).real)
    assert metrics.frechet_distance(x, y) == pytest.approx(reference, rel=1e-9)
    x32 = torch.from_numpy(x).float()
    assert metrics.frechet_distance(x32, x32) == pytest.approx(0.0, abs=1e-4)
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    u = _with_moments(rng, np.array([1.0]), np.array([[4.0]]), 50)
    v = _with_moments(rng, np.array([-0.5]), np.array([[0.25]]), 60)
    assert metrics.frechet_distance(u, v) == pytest.approx(1.5**2 + (2.0 - 0.5) ** 2, rel=1e-9)


def test_frechet_distance_with_singular_covariance_is_finite():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 5))
    x[:, 3] = 0.0  # a dead feature
    y = rng.normal(size=(120, 5))
    y[:, 3] = 0.0
    value = metrics.frechet_distance(x, y)
    assert np.isfinite(value) and value > 0
    assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        metrics.frechet_distance(x, y[:, :4])


def test_frechet_agrees_with_torchmetrics_using_the_classifier_as_feature_extractor():
    tm_fid = pytest.importorskip("torchmetrics.image.fid")
    torch.manual_seed(0)
    clf = MNISTClassifier(SMALL).eval()
    a = torch.rand(100, 1, 28, 28) * 2 - 1
    b = (torch.rand(100, 1, 28, 28) * 2 - 1).clamp(-1, 0.5)
    fid = tm_fid.FrechetInceptionDistance(feature=FeatureExtractor(clf))
    fid.update(a, real=True)
    fid.update(b, real=False)
    ours = metrics.classifier_frechet_distance(a, b, clf)
    assert ours > 0
    assert ours == pytest.approx(float(fid.compute()), rel=1e-4)


def test_evaluate_generator_samples_matches_the_parts():
    torch.manual_seed(0)
    clf = MNISTClassifier(SMALL).eval()
    images = torch.rand(40, 1, 28, 28) * 2 - 1
    ref = torch.rand(30, 1, 28, 28) * 2 - 1
    out = metrics.evaluate_generator_samples(images, clf, reference=ref, splits=2)
    probs = classify(clf, images).probs
    assert out.n == 40 and sum(out.class_counts) == 40
    assert out.class_kl == pytest.approx(metrics.kl_to_uniform(metrics.class_histogram(probs)))
    assert out.confidence == pytest.approx(metrics.mean_confidence(probs))
    top = probs.max(dim=1).values.double()
    assert out.confidence_se == pytest.approx(float(top.std() / 40 ** 0.5), rel=1e-6)  # torch: ddof = 1
    assert (out.inception_score, out.inception_score_std) == pytest.approx(metrics.inception_score(probs, 2))
    assert out.frechet_distance == pytest.approx(metrics.classifier_frechet_distance(ref, images, clf))
    assert metrics.evaluate_generator_samples(images, clf).frechet_distance is None
    ref_feats = classify(clf, ref).features
    assert metrics.evaluate_generator_samples(images, clf, reference_features=ref_feats) == \
        metrics.evaluate_generator_samples(images, clf, reference=ref)
    with pytest.raises(ValueError, match="not both"):
        metrics.evaluate_generator_samples(images, clf, reference=ref, reference_features=ref_feats)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        metrics.evaluate_generator_samples(images * 3, clf)
    with pytest.raises(ValueError, match="shape"):
        metrics.evaluate_generator_samples(images[:, :, :27], clf)


def test_inception_fid_offline_raises_a_clear_error():
    try:
        import torch_fidelity  # noqa: F401, PLC0415 -- optional heavy dependency: only whether it is installed
    except ImportError:
        x = torch.zeros(4, 1, 28, 28)
        with pytest.raises(metrics.InceptionUnavailableError, match="torch-fidelity"):
            metrics.inception_fid(x, x)
    else:
        pytest.skip("torch-fidelity installed; the online path is not exercised in unit tests")
