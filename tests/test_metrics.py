"""Tests for gan_utils.digit_metrics against analytic results (chi distribution, Gaussian KL) and scipy."""
import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.integrate import trapezoid  # np.trapezoid needs NumPy >= 2

from gan_utils.data import grid, grid_means, ring, ring_means
from gan_utils.dynamics.mode_coverage import mode_coverage
from gan_utils.foundations.divergences import jsd_on_grid, kde_density, kl_on_grid

# P(||eps|| < 3 std) for eps ~ N(0, std^2 I_2): ||eps||/std is chi with 2 dof, P(chi_2 < r) = 1 - e^{-r^2/2}
P_HQ = 1 - math.exp(-9 / 2)


def _rev_kl_bound(K, n, alpha=1e-6):
    """For a multinomial histogram q of n draws from the uniform distribution over K bins,
    2 n KL(q || u) is asymptotically chi^2 with K-1 dof (it is the G-test statistic); its
    1 - alpha quantile bounds the reverse KL with false-alarm probability ~alpha."""
    return stats.chi2.ppf(1 - alpha, K - 1) / (2 * n)


# ---------------------------------------------------------------------------------- mode coverage
@pytest.mark.parametrize("name,n,seed", [("ring", 20_000, 0), ("grid", 50_000, 1)])
def test_exact_samples_capture_all_modes_with_analytic_quality(name, n, seed):
    toy = (ring if name == "ring" else grid)(n, generator=torch.Generator().manual_seed(seed))
    K = len(toy.means)
    cov = mode_coverage(toy.samples, toy.means, toy.std)
    assert cov.modes_captured == K
    # high-quality fraction: binomial(n, P_HQ); 5 standard errors
    assert abs(cov.high_quality_fraction - P_HQ) < 5 * math.sqrt(P_HQ * (1 - P_HQ) / n)
    n_good = int(cov.counts.sum())
    assert n_good == round(cov.high_quality_fraction * n)
    assert 0 <= cov.reverse_kl < _rev_kl_bound(K, n_good)
    # the counts are exactly the high-quality samples of each generating mode (modes are far apart)
    resid = (toy.samples - toy.means[toy.labels]).double().norm(dim=1) / toy.std
    expected_counts = np.bincount(toy.labels[resid < 3].numpy(), minlength=K)
    np.testing.assert_array_equal(cov.counts, expected_counts)


def test_reverse_kl_matches_the_histogram_formula():
    means = ring_means(4).double()
    counts = np.array([10, 30, 0, 60])
    x = torch.cat([means[k].expand(c, 2) for k, c in enumerate(counts)])
    cov = mode_coverage(x, means, std=0.01)
    q = counts / counts.sum()
    expected = sum(qk * math.log(qk * 4) for qk in q if qk > 0)
    assert cov.reverse_kl == pytest.approx(expected, rel=1e-12)
    assert cov.modes_captured == 3
    assert cov.high_quality_fraction == 1.0
    np.testing.assert_array_equal(cov.counts, counts)
    # min_count raises the bar for "captured"
    assert mode_coverage(x, means, std=0.01, min_count=20).modes_captured == 2


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_all_samples_on_one_mode_give_rev_kl_log_k(name):
    means = ring_means() if name == "ring" else grid_means()
    std = 0.01 if name == "ring" else 0.05
    K = len(means)
    g = torch.Generator().manual_seed(2)
    x = means[3] + std * 0.5 * torch.randn(1000, 2, generator=g)
    cov = mode_coverage(x, means, std)
    assert cov.modes_captured == 1
    assert cov.reverse_kl == pytest.approx(math.log(K), rel=1e-12)
    assert cov.counts[3] == int(cov.counts.sum())


def test_samples_far_from_every_mode_have_zero_quality_and_infinite_rev_kl():
    means = grid_means()
    x = torch.full((500, 2), 1.0) + 0.01 * torch.randn(500, 2)  # between modes: distance ~1.41 = 28 std
    cov = mode_coverage(x, means, std=0.05)
    assert cov.high_quality_fraction == 0.0
    assert cov.modes_captured == 0
    assert cov.reverse_kl == math.inf
    assert cov.counts.sum() == 0 and len(cov.counts) == 25


def test_threshold_is_in_units_of_std():
    means = np.zeros((1, 2))
    x = np.array([[2.9, 0.0], [0.0, 3.1], [2.0, 2.0]])  # radii 2.9, 3.1, 2.83 (in std = 1)
    cov = mode_coverage(x, means, std=1.0)
    assert cov.high_quality_fraction == pytest.approx(2 / 3)
    cov = mode_coverage(x * 0.1, means, std=0.1)  # same in units of std
    assert cov.high_quality_fraction == pytest.approx(2 / 3)
    assert mode_coverage(x, means, std=1.0, threshold=3.2).high_quality_fraction == 1.0


def test_mode_coverage_validates_inputs():
    with pytest.raises(ValueError):
        mode_coverage(np.zeros((5, 3)), np.zeros((2, 2)), 0.1)
    with pytest.raises(ValueError):
        mode_coverage(np.zeros(5), np.zeros((2, 2)), 0.1)
    with pytest.raises(ValueError, match="positive"):
        mode_coverage(np.zeros((5, 2)), np.zeros((2, 2)), 0.0)


# --------------------------------------------------------------------------------- KL and JSD
def _gauss(x, m, s):
    return np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))


def _kl_gauss(m1, s1, m2, s2):
    """KL(N(m1, s1^2) || N(m2, s2^2)), closed form."""
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


X = np.linspace(-20, 20, 40_001)


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 1, 1), (0, 1, 0, 2), (-1, 0.5, 2, 1.5), (0, 2, 0, 1)])
def test_kl_on_grid_matches_gaussian_closed_form(m1, s1, m2, s2):
    p, q = _gauss(X, m1, s1), _gauss(X, m2, s2)
    # trapezoid on a 1e-3 grid of smooth integrands: error far below 1e-6
    assert kl_on_grid(p, q, X) == pytest.approx(_kl_gauss(m1, s1, m2, s2), abs=1e-6)


def test_kl_is_zero_for_equal_densities_and_asymmetric_otherwise():
    p, q = _gauss(X, 0, 1), _gauss(X, 0, 2)
    assert kl_on_grid(p, p, X) == 0.0
    assert kl_on_grid(p, q, X) != pytest.approx(kl_on_grid(q, p, X), abs=1e-2)


def test_kl_is_infinite_when_q_vanishes_where_p_does_not():
    x = np.linspace(0, 1, 11)
    p = np.ones_like(x)
    q = np.where(x < 0.5, 2.0, 0.0)
    assert kl_on_grid(p, q, x) == math.inf
    # the other way round the points with q = 0 contribute nothing: KL(q || p) = integral q log q (p = 1)
    assert kl_on_grid(q, p, x) == pytest.approx(trapezoid(q * np.log(np.where(q > 0, q, 1)), x), rel=1e-12)


def test_jsd_matches_direct_quadrature_and_is_symmetric():
    p, q = _gauss(X, 0, 1), _gauss(X, 1.5, 0.7)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = 0.5 * trapezoid(np.where(p > 0, p * np.log(p / m), 0), X) + \
            0.5 * trapezoid(np.where(q > 0, q * np.log(q / m), 0), X)
    jsd = jsd_on_grid(p, q, X)
    assert jsd == pytest.approx(direct, rel=1e-10)
    assert jsd_on_grid(q, p, X) == pytest.approx(jsd, rel=1e-12)
    assert 0 < jsd < math.log(2)


@pytest.mark.parametrize("shift", [0.0, 0.1, 1.0, 3.0, 10.0])
def test_jsd_bounds_and_monotone_in_separation(shift):
    p, q = _gauss(X, 0, 1), _gauss(X, shift, 1)
    jsd = jsd_on_grid(p, q, X)
    assert -1e-12 <= jsd <= math.log(2) + 1e-12
    if shift == 0.0:
        assert jsd == pytest.approx(0.0, abs=1e-12)
    if shift == 10.0:
        assert jsd == pytest.approx(math.log(2), abs=1e-6)


def test_jsd_of_disjoint_supports_is_log_2():
    # two triangular densities on [0, 2] and [3, 5]; they are piecewise linear with kinks on grid
    # points, so the trapezoidal rule integrates each to exactly 1 and JSD to exactly log 2
    x = np.linspace(-1, 6, 701)
    p = np.clip(1 - np.abs(x - 1), 0, None)
    q = np.clip(1 - np.abs(x - 4), 0, None)
    assert trapezoid(p, x) == pytest.approx(1.0, abs=1e-12)
    assert jsd_on_grid(p, q, x) == pytest.approx(math.log(2), abs=1e-12)


def test_divergences_validate_inputs():
    x = np.linspace(0, 1, 5)
    with pytest.raises(ValueError):
        kl_on_grid(np.ones(5), np.ones(4), x)
    with pytest.raises(ValueError):
        jsd_on_grid(np.ones((5, 1)), np.ones((5, 1)), np.ones((5, 1)))
    with pytest.raises(ValueError, match="non-negative"):
        kl_on_grid(-np.ones(5), np.ones(5), x)


# ------------------------------------------------------------------------------------------- KDE
def test_kde_matches_scipy_gaussian_kde_with_the_same_bandwidth():
    rng = np.random.default_rng(0)
    s = np.concatenate([rng.normal(-1, 0.5, 3000), rng.normal(2, 1, 6000)])  # > 4096: several blocks
    x = np.linspace(-4, 6, 301)
    h = 0.2
    ref = stats.gaussian_kde(s, bw_method=h / s.std(ddof=1))  # scipy: bandwidth = factor * sd(ddof=1)
    np.testing.assert_allclose(kde_density(s, x, bandwidth=h), ref(x), rtol=1e-10, atol=1e-14)
    # torch input, any shape, same answer
    np.testing.assert_allclose(kde_density(torch.tensor(s).reshape(-1, 1), x, bandwidth=h), ref(x), rtol=1e-10)


def test_kde_default_bandwidth_is_1_06_sd_n_to_minus_fifth():
    rng = np.random.default_rng(1)
    s = rng.normal(0, 2, 5000)
    x = np.linspace(-8, 8, 161)
    h = 1.06 * s.std() * s.size ** (-0.2)
    ref = stats.gaussian_kde(s, bw_method=h / s.std(ddof=1))
    np.testing.assert_allclose(kde_density(s, x), ref(x), rtol=1e-10, atol=1e-14)
    # and it estimates the true density N(0, 4) well: integrated absolute error < 0.05
    err = trapezoid(np.abs(kde_density(s, x) - _gauss(x, 0, 2)), x)
    assert err < 0.05


def test_kde_integrates_to_one_and_validates():
    s = np.array([0.0, 1.0, 5.0])
    x = np.linspace(-10, 15, 5001)
    assert trapezoid(kde_density(s, x, bandwidth=0.5), x) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError):
        kde_density(np.array([1.0]), x)
    for bad in (0.0, -0.5):
        with pytest.raises(ValueError, match="bandwidth"):
            kde_density(s, x, bandwidth=bad)
