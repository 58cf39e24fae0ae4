"""Unit tests for gan_utils.foundations.density (book chapter 1), against closed forms where they exist."""
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from scipy import stats

from gan_utils.data import GaussianMixture1D
from gan_utils.foundations.density import (
    components_for_variance,
    entropy,
    expected_log_likelihood,
    fit_gmm_em,
    pca_spectrum,
    random_images,
    sample_log_likelihood,
)
from gan_utils.foundations.density_plots import plot_implicit_samples, plot_mle_fit, plot_pca_spectrum
from gan_utils.foundations.divergences import kl_on_grid

matplotlib.use("Agg")

GRID = np.linspace(-20.0, 20.0, 40001)


@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.5])
def test_entropy_of_gaussian_matches_closed_form(sigma):
    p = stats.norm.pdf(GRID, 1.0, sigma)
    assert entropy(p, GRID) == pytest.approx(0.5 * math.log(2 * math.pi * math.e * sigma**2), abs=1e-9)


def test_entropy_ignores_zero_density_and_rejects_bad_input():
    x = np.linspace(0.0, 1.0, 1001)
    p = np.where(x < 0.5, 2.0, 0.0)  # uniform on [0, 0.5) sampled on a grid: H ~ log(1/2)
    assert np.isfinite(entropy(p, x))
    with pytest.raises(ValueError):
        entropy(-p, x)


def test_expected_log_likelihood_is_minus_entropy_minus_gaussian_kl():
    """E_p[log q] = -H(p) - KL(p || q) (eq-ell-identity) with both terms in closed form for Gaussians."""
    m1, s1, m2, s2 = 0.5, 0.8, -1.0, 1.7
    kl = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    h = 0.5 * math.log(2 * math.pi * math.e * s1**2)
    e = expected_log_likelihood(lambda t: stats.norm.pdf(t, m1, s1), lambda t: stats.norm.logpdf(t, m2, s2),
                                (-15.0, 15.0), points=(m1, m2))
    assert e == pytest.approx(-h - kl, abs=1e-9)
    # and the grid KL of gan_utils.digit_metrics agrees with the same closed form
    assert kl_on_grid(stats.norm.pdf(GRID, m1, s1), stats.norm.pdf(GRID, m2, s2), GRID) == pytest.approx(kl, abs=1e-9)


def test_em_with_one_component_is_the_closed_form_gaussian_mle():
    x = np.random.default_rng(0).normal(2.0, 3.0, size=5000)
    fit = fit_gmm_em(x, 1)
    assert fit.mixture.means[0] == pytest.approx(x.mean(), abs=1e-10)
    assert fit.mixture.stds[0] == pytest.approx(x.std(ddof=0), abs=1e-10)  # MLE divides by N
    assert fit.log_likelihood[-1] == pytest.approx(stats.norm.logpdf(x, x.mean(), x.std()).mean(), abs=1e-10)


def test_em_recovers_a_well_separated_mixture_and_never_decreases_the_likelihood():
    truth = GaussianMixture1D(weights=(0.3, 0.5, 0.2), means=(-4.0, 0.0, 3.5), stds=(0.5, 0.8, 0.4))
    x = truth.sample(30000, generator=torch.Generator().manual_seed(0))
    fit = fit_gmm_em(x, 3, seed=0)
    np.testing.assert_allclose(fit.mixture.weights, truth.weights, atol=0.01)
    np.testing.assert_allclose(fit.mixture.means, truth.means, atol=0.03)
    np.testing.assert_allclose(fit.mixture.stds, truth.stds, atol=0.03)
    assert np.diff(fit.log_likelihood).min() >= -1e-12  # EM's monotonicity
    assert fit.log_likelihood[-1] > fit.log_likelihood[0]
    again = fit_gmm_em(x, 3, seed=0)
    assert again.mixture == fit.mixture  # deterministic for a fixed seed


def test_em_rejects_bad_arguments():
    with pytest.raises(ValueError):
        fit_gmm_em(np.zeros(2), 3)
    with pytest.raises(ValueError):
        fit_gmm_em(np.zeros(10), 0)


def test_sample_log_likelihood_mean_and_standard_error():
    x = np.random.default_rng(1).normal(size=400)
    mean, se = sample_log_likelihood(lambda t: stats.norm.logpdf(t), x)
    values = stats.norm.logpdf(x)
    assert mean == pytest.approx(values.mean(), abs=1e-12)
    assert se == pytest.approx(values.std(ddof=1) / 20.0, abs=1e-12)
    # E[log N(x; 0, 1)] under N(0, 1) is -0.5 log(2 pi e); the estimate is within 4 standard errors
    assert abs(mean + 0.5 * math.log(2 * math.pi * math.e)) < 4 * se


def test_pca_spectrum_recovers_a_known_covariance_exactly():
    """Data built so that its sample covariance is exactly V diag(lam) V^T."""
    rng = np.random.default_rng(0)
    n, lam = 500, np.array([5.0, 3.0, 1.0, 0.5, 0.25, 0.0])
    z = rng.normal(size=(n, lam.size))
    q, _ = np.linalg.qr(z - z.mean(axis=0))  # orthonormal, centred columns
    v, _ = np.linalg.qr(rng.normal(size=(lam.size, lam.size)))  # a random rotation
    x = math.sqrt(n - 1) * q * np.sqrt(lam) @ v.T
    ratios = pca_spectrum(torch.from_numpy(x).reshape(n, 1, 2, 3))
    np.testing.assert_allclose(ratios, lam / lam.sum(), atol=1e-12)


def test_components_for_variance():
    r = np.array([0.5, 0.3, 0.15, 0.05])
    assert [components_for_variance(r, f) for f in (0.4, 0.5, 0.8, 0.9, 0.95, 0.96, 1.0)] == [1, 1, 2, 3, 3, 4, 4]
    with pytest.raises(ValueError):
        components_for_variance(r, 0.0)


def test_iid_uniform_pixels_have_a_flat_spectrum_with_many_samples():
    images = random_images(20000, (1, 4, 4), generator=torch.Generator().manual_seed(0))
    assert images.shape == (20000, 1, 4, 4) and images.min() >= -1 and images.max() <= 1
    levels = (images + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)  # 256 discrete levels
    ratios = pca_spectrum(images)
    np.testing.assert_allclose(ratios, 1 / 16, atol=0.01)  # population covariance is sigma^2 I
    assert components_for_variance(ratios, 0.95) >= 15


def test_chapter1_plots_return_labelled_figures():
    x = np.linspace(-4, 4, 201)
    p = stats.norm.pdf(x)
    samples = np.random.default_rng(0).normal(size=500)
    figs = [
        plot_mle_fit(x, p, p, samples, p_init=p, log_likelihood=np.array([-2.0, -1.5, -1.4])),
        plot_implicit_samples(x, p, {"before": samples + 1, "after": samples}),
        plot_pca_spectrum({"a": np.array([0.6, 0.3, 0.1]), "b": np.full(4, 0.25)}, fractions=(0.9,)),
    ]
    assert [len(f.axes) for f in figs] == [2, 2, 2]
    for fig in figs:
        for ax in fig.axes:
            assert ax.get_xlabel(), ax
        assert fig.axes[0].get_ylabel()
    # the 90% marker of spectrum "a" sits at k = 2, of the flat spectrum "b" at k = 4
    labels = [t.get_text() for t in figs[2].axes[0].get_legend().get_texts()]
    assert "a: 90% at k = 2" in labels and "b: 90% at k = 4" in labels
    for fig in figs:
        plt.close(fig)
