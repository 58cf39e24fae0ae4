"""Tests for gan_utils.data: the exact 1-D mixture, the 2-D ring/grid benchmarks and MNIST loading."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets
from scipy import integrate, stats
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from torchvision.datasets import MNIST

from gan_utils import data
from gan_utils.data import (
    DataNotFoundError,
    GaussianMixture1D,
    grid,
    grid_means,
    load_mnist,
    mixture_log_density,
    ring,
    ring_means,
)

MIX = GaussianMixture1D(weights=(0.2, 0.5, 0.3), means=(-2.0, 0.5, 3.0), stds=(0.5, 1.0, 0.25))


def _pdf_closed_form(x, mix):
    """sum_k w_k exp(-(x-m)^2 / 2s^2) / (s sqrt(2 pi)), written out in float64 without scipy."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    for w, m, s in zip(mix.weights, mix.means, mix.stds):
        out += w * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
    return out


def _moments(mix):
    """Analytic mean, variance and central 4th moment of a Gaussian mixture."""
    w, m, s = (np.array(a, dtype=np.float64) for a in (mix.weights, mix.means, mix.stds))
    mean = float(np.sum(w * m))
    d = m - mean
    var = float(np.sum(w * (s**2 + d**2)))
    mu4 = float(np.sum(w * (d**4 + 6 * d**2 * s**2 + 3 * s**4)))
    return mean, var, mu4


# ------------------------------------------------------------------------------- GaussianMixture1D
def test_pdf_matches_closed_form_and_scipy():
    x = np.linspace(-6, 6, 1001)
    expected = _pdf_closed_form(x, MIX)
    np.testing.assert_allclose(MIX.pdf(x), expected, rtol=1e-12, atol=1e-300)
    via_scipy = sum(w * stats.norm(m, s).pdf(x) for w, m, s in zip(MIX.weights, MIX.means, MIX.stds))
    np.testing.assert_allclose(MIX.pdf(x), via_scipy, rtol=1e-12, atol=1e-300)


def test_pdf_keeps_input_shape():
    x = np.zeros((3, 4))
    assert MIX.pdf(x).shape == (3, 4)
    assert MIX.log_pdf(x).shape == (3, 4)


def test_log_pdf_equals_log_of_pdf_where_pdf_is_representable():
    x = np.linspace(-8, 8, 801)
    np.testing.assert_allclose(MIX.log_pdf(x), np.log(_pdf_closed_form(x, MIX)), rtol=0, atol=1e-10)


def test_log_pdf_is_finite_and_correct_where_pdf_underflows():
    # at x = 60 every component density underflows in float64, yet log p is about -log(s)-...;
    # the widest component (s=1, m=0.5) dominates: log p ~= log w + logpdf, others are ~e^-1000 smaller
    x = np.array([60.0, -60.0])
    assert np.all(MIX.pdf(x) == 0.0)
    lp = MIX.log_pdf(x)
    assert np.all(np.isfinite(lp))
    dominant = math.log(0.5) - 0.5 * ((x - 0.5) / 1.0) ** 2 - 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(lp, dominant, rtol=1e-12)


def test_log_pdf_ignores_zero_weight_components():
    mix = GaussianMixture1D(weights=(1.0, 0.0), means=(0.0, 5.0), stds=(1.0, 1.0))
    x = np.array([-1.0, 0.0, 5.0])
    np.testing.assert_allclose(mix.log_pdf(x), -0.5 * x**2 - 0.5 * math.log(2 * math.pi), rtol=1e-12)


def test_pdf_integrates_to_one():
    value, err = integrate.quad(lambda t: float(MIX.pdf(t)), -np.inf, np.inf, points=None, limit=200)
    assert abs(value - 1.0) < 1e-8
    # and on the support interval, which by construction holds >= 99.9 % of the mass
    lo, hi = MIX.support(0.999)
    inside, _ = integrate.quad(lambda t: float(MIX.pdf(t)), lo, hi, limit=200)
    assert inside >= 0.999 - 1e-9


def test_support_interval_is_union_of_component_intervals():
    lo, hi = MIX.support(0.95)
    z = stats.norm.ppf(0.975)  # 1.959964...
    assert lo == pytest.approx(-2.0 - z * 0.5, abs=1e-12)
    assert hi == pytest.approx(3.0 + z * 0.25, abs=1e-12)


def test_sample_moments_match_analytic_within_clt_tolerance():
    n = 200_000
    x = MIX.sample(n, generator=torch.Generator().manual_seed(0))
    assert x.shape == (n, 1) and x.dtype == torch.float32
    x = x.double().numpy().ravel()
    mean, var, mu4 = _moments(MIX)
    # 5 standard errors: the standard error of the sample mean is sqrt(var/n), of the sample
    # variance sqrt((mu4 - var^2)/n) -- false-alarm probability < 1e-6 each
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / n)
    assert abs(x.var() - var) < 5 * math.sqrt((mu4 - var**2) / n)


def test_sample_component_frequencies_match_weights():
    n = 100_000
    mix = GaussianMixture1D(weights=(0.2, 0.5, 0.3), means=(-10.0, 0.0, 10.0), stds=(1.0, 0.5, 2.0))
    x = mix.sample(n, generator=torch.Generator().manual_seed(1)).numpy().ravel()
    # components 10 apart with std <= 2: the nearest-mean (boundaries -5, +5) classification errs
    # with probability < P(|Z| > 2.5) = 0.0124 for the widest, < 1e-6 for the others
    comp = np.digitize(x, [-5.0, 5.0])
    freq = np.bincount(comp, minlength=3) / n
    p_mis = 2 * stats.norm.sf(2.5) * 0.3 + stats.norm.sf(5.0) * 0.2 + 2 * stats.norm.sf(10.0) * 0.5
    for f, w in zip(freq, mix.weights):
        assert abs(f - w) < p_mis + 5 * math.sqrt(w * (1 - w) / n)


def test_sample_is_reproducible_with_a_generator():
    a = MIX.sample(100, generator=torch.Generator().manual_seed(5))
    b = MIX.sample(100, generator=torch.Generator().manual_seed(5))
    c = MIX.sample(100, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_sample_zero_samples_gives_empty_tensor():
    assert MIX.sample(0).shape == (0, 1)
    with pytest.raises(ValueError, match="non-negative"):
        MIX.sample(-1)


@pytest.mark.parametrize(
    "weights,means,stds,match",
    [
        ((0.5, 0.5), (0.0,), (1.0, 1.0), "same non-zero length"),
        ((), (), (), "same non-zero length"),
        ((0.5, 0.6), (0.0, 1.0), (1.0, 1.0), "sum to 1"),
        ((1.5, -0.5), (0.0, 1.0), (1.0, 1.0), "non-negative"),
        ((1.0,), (0.0,), (0.0,), "positive"),
        ((1.0,), (0.0,), (-1.0,), "positive"),
    ],
)
def test_mixture_validates_its_parameters(weights, means, stds, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture1D(weights=weights, means=means, stds=stds)


# -------------------------------------------------------------------------------------- ring / grid
def test_ring_has_eight_distinct_means_on_the_unit_circle_spaced_2pi_over_8():
    means = ring_means().double()
    assert means.shape == (8, 2)
    np.testing.assert_allclose(means.norm(dim=1).numpy(), 1.0, atol=1e-6)
    # all pairwise distances between distinct modes are >= the chord 2 sin(pi/8): 8 DISTINCT modes
    d = torch.cdist(means, means) + torch.eye(8) * 10
    assert d.min().item() == pytest.approx(2 * math.sin(math.pi / 8), abs=1e-6)
    angles = np.sort(np.mod(np.arctan2(means[:, 1].numpy(), means[:, 0].numpy()), 2 * math.pi))
    gaps = np.diff(np.concatenate([angles, [angles[0] + 2 * math.pi]]))
    np.testing.assert_allclose(gaps, 2 * math.pi / 8, atol=1e-6)
    np.testing.assert_allclose(angles[0], 0.0, atol=1e-7)  # first mode at angle 0


def test_ring_means_generalise_to_other_counts_and_radii():
    means = ring_means(modes=5, radius=2.5).double()
    np.testing.assert_allclose(means.norm(dim=1).numpy(), 2.5, atol=1e-6)
    assert len({tuple(np.round(m, 5)) for m in means.numpy()}) == 5


def test_ring_samples_have_the_stated_std_around_their_modes():
    n = 40_000
    toy = ring(n, generator=torch.Generator().manual_seed(0))
    assert toy.samples.shape == (n, 2) and toy.labels.shape == (n,) and toy.std == 0.01
    assert torch.equal(toy.means, ring_means())
    resid = (toy.samples - toy.means[toy.labels]).double()
    # std of the sample std is about std / sqrt(2n); allow 5 of those
    for j in range(2):
        assert abs(resid[:, j].std().item() - 0.01) < 5 * 0.01 / math.sqrt(2 * n)
        assert abs(resid[:, j].mean().item()) < 5 * 0.01 / math.sqrt(n)
    # labels uniform over the 8 modes
    freq = torch.bincount(toy.labels, minlength=8).double() / n
    assert (freq - 1 / 8).abs().max().item() < 5 * math.sqrt((1 / 8) * (7 / 8) / n)


def test_grid_means_are_exactly_the_25_points_of_minus4_to_4_step_2():
    means = grid_means()
    assert means.shape == (25, 2)
    got = {tuple(p) for p in means.tolist()}
    expected = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert got == expected


def test_grid_samples_have_the_stated_std_around_their_modes():
    n = 50_000
    toy = grid(n, generator=torch.Generator().manual_seed(1))
    assert toy.std == 0.05 and torch.equal(toy.means, grid_means())
    resid = (toy.samples - toy.means[toy.labels]).double()
    for j in range(2):
        assert abs(resid[:, j].std().item() - 0.05) < 5 * 0.05 / math.sqrt(2 * n)
    assert torch.bincount(toy.labels, minlength=25).min().item() > 0


def test_toy_sampling_is_reproducible_and_validates():
    a = grid(64, generator=torch.Generator().manual_seed(3)).samples
    b = grid(64, generator=torch.Generator().manual_seed(3)).samples
    assert torch.equal(a, b)
    assert ring(0).samples.shape == (0, 2)
    with pytest.raises(ValueError, match="non-negative"):
        ring(-1)
    with pytest.raises(ValueError, match="positive"):
        grid(10, std=0.0)


def test_samplers_draw_only_from_the_given_generator():
    # the global stream must neither be consumed nor matter when a generator is passed
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    a = MIX.sample(50, generator=torch.Generator().manual_seed(9))
    r = ring(50, generator=torch.Generator().manual_seed(9))
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.manual_seed(1)
    assert torch.equal(MIX.sample(50, generator=torch.Generator().manual_seed(9)), a)
    assert torch.equal(ring(50, generator=torch.Generator().manual_seed(9)).samples, r.samples)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_samplers_accept_a_cuda_generator_as_train_gan_passes_it():
    # train_gan makes its generator on the training device and hands it to sample_real
    g = torch.Generator(device="cuda").manual_seed(0)
    x = MIX.sample(1000, generator=g, device="cuda")
    assert x.device.type == "cuda" and x.shape == (1000, 1)
    toy = grid(1000, generator=g, device="cuda")
    assert toy.samples.device.type == "cuda" and toy.labels.device.type == "cuda"
    resid = (toy.samples - toy.means[toy.labels]).double()
    assert abs(resid.std().item() - 0.05) < 5 * 0.05 / math.sqrt(2 * 2000)


# ------------------------------------------------------------------------------------------- MNIST
def _have_mnist():
    return (data.data_root() / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists()


def needs_mnist(test):
    """A test that reads MNIST: marked slow, and skipped when MNIST is not under $GAN_BOOK_DATA."""
    return pytest.mark.slow(pytest.mark.skipif(not _have_mnist(), reason="MNIST not found under $GAN_BOOK_DATA")(test))


@needs_mnist
def test_load_mnist_test_split_shapes_dtype_range_labels():
    n = 500
    images, labels = load_mnist(train=False, limit=n)
    assert images.shape == (n, 1, 28, 28)
    assert images.dtype == torch.float32
    assert labels.shape == (n,) and labels.dtype == torch.int64
    # pixel 0 -> -1 and 255 -> +1 exactly, both occur in MNIST
    assert images.min().item() == -1.0 and images.max().item() == 1.0
    assert set(labels.unique().tolist()) <= set(range(10))
    assert len(labels.unique()) == 10  # 500 test digits contain every class


@needs_mnist
def test_load_mnist_scaling_is_x_over_127_5_minus_1():
    raw = MNIST(root=str(data.data_root()), train=False, download=False).data[:20]
    images, _ = load_mnist(train=False, limit=20)
    expected = raw.double() / 127.5 - 1.0
    torch.testing.assert_close(images.squeeze(1).double(), expected, rtol=0, atol=1e-7)
    # the set of values is the image of {0..255}: every pixel is (k / 127.5 - 1) for an integer k
    k = (images.double() + 1) * 127.5
    torch.testing.assert_close(k, k.round(), rtol=0, atol=1e-4)


def test_missing_data_folder_raises_one_line_error_naming_the_env_var(tmp_path, monkeypatch):
    def no_network(self, *args, **kwargs):
        raise RuntimeError("download attempted in a test\nsecond line")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", no_network)
    empty = tmp_path / "nothing here"
    monkeypatch.setenv("GAN_BOOK_DATA", str(empty))
    assert data.data_root() == Path(str(empty))
    with pytest.raises(DataNotFoundError) as info:
        load_mnist(train=False, limit=10)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert "GAN_BOOK_DATA" in message
    assert str(empty) in message
    assert isinstance(info.value, RuntimeError)


def test_data_root_default_is_the_user_cache(monkeypatch):
    monkeypatch.delenv("GAN_BOOK_DATA", raising=False)
    assert data.data_root() == Path.home() / ".cache" / "gan_book"
    monkeypatch.setenv("GAN_BOOK_DATA", "")
    assert data.data_root() == Path.home() / ".cache" / "gan_book"
    monkeypatch.setenv("GAN_BOOK_DATA", "~/somewhere")
    assert data.data_root() == Path.home() / "somewhere"


# ------------------------------------------------------------------- exact 2-D mixture densities
@pytest.mark.parametrize("make", [lambda: ring(10), lambda: grid(10)], ids=["ring", "grid"])
def test_mixture_log_density_matches_scipy(make):
    toy = make()
    x = torch.cat([toy.means[:3] + 0.01, torch.tensor([[0.3, -0.2], [1.5, 1.5]])])
    mu = toy.means.double().numpy()
    reference = logsumexp([multivariate_normal(m, toy.std**2 * np.eye(2)).logpdf(x.double().numpy())
                           for m in mu], axis=0) - np.log(len(mu))
    got = toy.log_density(x).numpy()
    np.testing.assert_allclose(got, reference, rtol=1e-10, atol=1e-10)


def test_mixture_density_integrates_to_one_and_stays_finite_far_away():
    means = ring_means(8, 1.0)
    std = 0.2  # wide enough that a 401^2 grid resolves every mode
    t = torch.linspace(-2.5, 2.5, 401, dtype=torch.float64)
    xx, yy = torch.meshgrid(t, t, indexing="ij")
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)
    mass = mixture_log_density(pts, means, std).exp().sum() * (t[1] - t[0]) ** 2
    assert abs(float(mass) - 1.0) < 1e-6
    far = mixture_log_density(torch.tensor([[100.0, 100.0]]), means, 0.01)
    assert torch.isfinite(far).all() and float(far) < -1e7
    with pytest.raises(ValueError):
        mixture_log_density(torch.zeros(3, 3), means, std)


@needs_mnist
def test_mnist_stays_on_the_cpu_when_the_gpu_is_too_full(monkeypatch):
    """Without touching a GPU: a CUDA device reporting 64 KiB free gets the tensors on the CPU."""
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (2**16, 2**30))
    with pytest.warns(RuntimeWarning, match="keeping it on the CPU"):
        mnist = load_mnist(train=False, device="cuda", limit=100)
    assert mnist.images.device.type == "cpu" and mnist.images.shape == (100, 1, 28, 28)
    assert data._device_if_fits(torch.device("cpu"), 10**12).type == "cpu"
