"""Tests for gan_utils.foundations.divergences against closed forms (Gaussian KL, uniform JSD), the grid
trapezoid rule of gan_utils.digit_metrics, and central finite differences."""
import math

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad

from gan_utils.data import GaussianMixture1D
from gan_utils.foundations.divergences import (
    integrate_1d,
    jsd,
    jsd_on_grid,
    jsd_shift_derivative,
    jsd_to_samples,
    kde_density,
    kl,
    mixture_pdf,
    normal_pdf,
    value_at_optimum,
)

LOG2 = math.log(2.0)


def gauss(mu, s):
    return lambda x: np.exp(-0.5 * ((x - mu) / s) ** 2) / (s * math.sqrt(2 * math.pi))


def uniform(a, b):
    return lambda x: np.where((x >= a) & (x <= b), 1.0 / (b - a), 0.0)


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 0, 1), (0, 1, 1.5, 1), (0.3, 0.5, -1, 2), (2, 0.05, 2.1, 0.07)])
def test_kl_gaussians_closed_form(m1, s1, m2, s2):
    exact = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    got = kl(gauss(m1, s1), gauss(m2, s2), (-20, 20), points=[m1, m2])
    assert abs(got - exact) < 1e-9


def test_kl_is_inf_without_absolute_continuity():
    assert kl(uniform(0, 2), uniform(0, 1), (-1, 3), points=[0, 1, 2]) == math.inf
    assert kl(uniform(0, 1), uniform(0, 2), (-1, 3), points=[0, 1, 2]) == pytest.approx(LOG2, abs=1e-12)


@pytest.mark.parametrize("a", [0.0, 0.25, 0.6, 1.0, 3.0])
def test_jsd_shifted_uniforms_closed_form(a):
    # U[0,1] vs U[a,1+a]: on the non-overlapping part (length min(a,1)) log(p/m) = log 2, else 0
    got = jsd(uniform(0, 1), uniform(a, 1 + a), (-1, 5), points=[0, 1, a, 1 + a])
    assert abs(got - min(a, 1.0) * LOG2) < 1e-10


def test_jsd_symmetric_bounded_and_matches_grid_rule():
    p, q = gauss(0, 1), gauss(1.2, 0.6)
    a = jsd(p, q, (-15, 15), points=[0, 1.2])
    b = jsd(q, p, (-15, 15), points=[0, 1.2])
    assert abs(a - b) < 1e-12 and 0 < a < LOG2
    x = np.linspace(-15, 15, 200_001)
    assert abs(a - jsd_on_grid(p(x), q(x), x)) < 1e-8


def test_jsd_to_samples_is_the_grid_jsd_of_the_kde_and_approaches_the_exact_jsd():
    x = np.linspace(-8, 9, 3401)
    p = gauss(0, 1)(x)
    rng = np.random.default_rng(0)
    s = rng.normal(1.0, 1.0, size=20_000)
    assert jsd_to_samples(p, s, x) == jsd_on_grid(p, kde_density(s, x), x)
    assert jsd_to_samples(p, s, x, bandwidth=0.3) == jsd_on_grid(p, kde_density(s, x, bandwidth=0.3), x)
    # JSD(N(0,1) || N(1,1)) by quadrature: the KDE's smoothing adds a small bias, well below 0.01 nats here
    exact = jsd(gauss(0, 1), gauss(1, 1), (-15, 16), points=[0, 1])
    assert abs(jsd_to_samples(p, s, x) - exact) < 0.01
    # samples of p itself: only the KDE floor remains, far below the shifted case
    floor = jsd_to_samples(p, rng.normal(0.0, 1.0, size=20_000), x)
    assert 0 <= floor < 0.002 < exact / 10


def test_value_at_optimum_equals_minus_log4_plus_2jsd():
    pairs = [(gauss(0, 1), gauss(0, 1)), (gauss(0, 1), gauss(2, 1)), (gauss(0, 1), gauss(0, 3)),
             (lambda x: 0.5 * gauss(-2, 0.5)(x) + 0.5 * gauss(2, 0.5)(x), gauss(0, 1.5))]
    for p_data, p_g in pairs:
        v = value_at_optimum(p_data, p_g, (-25, 25), points=[-2, 0, 2])
        j = jsd(p_data, p_g, (-25, 25), points=[-2, 0, 2])
        assert abs(v - (-math.log(4) + 2 * j)) < 1e-9
    assert abs(value_at_optimum(gauss(0, 1), gauss(0, 1), (-20, 20)) + math.log(4)) < 1e-12


def test_far_apart_narrow_gaussians_saturate_without_nan():
    # the densities underflow to exactly 0 where the other is positive: 0 log 0 = 0 must hold
    p, q = gauss(0, 0.01), gauss(5, 0.01)
    assert p(np.array([5.0]))[0] == 0.0
    assert abs(jsd(p, q, (-1, 6), points=[0, 5]) - LOG2) < 1e-10
    assert abs(value_at_optimum(p, q, (-1, 6), points=[0, 5])) < 1e-10


def test_shift_derivative_matches_finite_differences():
    p = gauss(0, 0.5)
    for theta in (0.3, 1.0, 2.5):
        q = gauss(theta, 0.5)

        def dq(x, t=theta):  # d/dtheta N(x; theta, s^2)
            return gauss(t, 0.5)(x) * (x - t) / 0.25

        analytic = jsd_shift_derivative(p, q, dq, (-10, 12), points=[0, theta])
        h = 1e-4
        fd = (jsd(p, gauss(theta + h, 0.5), (-10, 12), points=[0, theta])
              - jsd(p, gauss(theta - h, 0.5), (-10, 12), points=[0, theta])) / (2 * h)
        assert abs(analytic - fd) < 1e-7 and analytic > 0


def test_shift_derivative_keeps_relative_precision_far_apart():
    # N(0, s^2) vs N(theta, s^2), theta = 16 s: the derivative is ~1e-15, far below the O(1e-16 * log 2)
    # round-off of the naive integrand; compare with a finite difference of the gap log 2 - JSD, which
    # is computed without cancellation as 1/2 integral p log(1 + q/p) + q log(1 + p/q)
    s, h = 0.05, 1e-4
    def gap(theta):
        q = gauss(theta, s)

        def f(x):
            return 0.5 * (p(x) * np.log1p(q(x) / np.maximum(p(x), 1e-300))
                          + q(x) * np.log1p(p(x) / np.maximum(q(x), 1e-300)))

        return integrate_1d(f, (-1, 2), points=[0, theta / 2, theta])
    p, theta = gauss(0, s), 16 * s

    def dq(x):
        return gauss(theta, s)(x) * (x - theta) / s**2

    analytic = jsd_shift_derivative(p, gauss(theta, s), dq, (-1, 2), points=[0, theta / 2, theta])
    fd = -(gap(theta + h) - gap(theta - h)) / (2 * h)
    assert 0 < analytic < 1e-10
    assert abs(analytic - fd) < 1e-4 * analytic, (analytic, fd)


def test_narrow_density_needs_the_points_hint_and_pieces():
    # a spike of width 1e-4 in [-50, 50]: one plain quad call misses it, the split integral does not
    spike = gauss(7.3, 1e-4)
    plain, _ = quad(lambda x: spike(np.array([x]))[0], -50, 50)
    assert plain < 1e-6
    assert abs(integrate_1d(spike, (-50, 50), points=[7.3]) - 1.0) < 1e-10
    assert abs(integrate_1d(spike, (-50, 50), points=[7.3], pieces=1) - 1.0) < 1e-10


def test_bad_input_raises():
    with pytest.raises(ValueError, match="support"):
        jsd(gauss(0, 1), gauss(0, 1), (1, -1))
    with pytest.raises(ValueError, match="support"):
        kl(gauss(0, 1), gauss(0, 1), (-math.inf, 1))
    with pytest.raises(ValueError, match="non-negative"):
        jsd(lambda x: -np.ones_like(x), gauss(0, 1), (-1, 1))
    with pytest.raises(ValueError, match="shape"):
        value_at_optimum(lambda x: np.ones(3), gauss(0, 1), (-1, 1))


def test_density_callables_match_scipy():
    x = np.linspace(-6, 6, 101)
    np.testing.assert_allclose(normal_pdf(0.3, 0.7)(x), stats.norm(0.3, 0.7).pdf(x), rtol=1e-13, atol=1e-300)
    mix = GaussianMixture1D((0.2, 0.8), (-1.0, 2.0), (0.5, 1.5))
    np.testing.assert_allclose(mixture_pdf(mix.weights, mix.means, mix.stds)(x), mix.pdf(x), rtol=1e-13)
    with pytest.raises(ValueError):
        normal_pdf(0, 0)
    with pytest.raises(ValueError):
        mixture_pdf((0.5, 0.6), (0, 1), (1, 1))
