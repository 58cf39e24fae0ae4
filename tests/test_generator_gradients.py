"""Tests for gan_utils.dynamics.generator_gradients (book chapter 5) against closed forms and finite differences."""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from gan_utils.dynamics.generator_gradients import (
    central_difference,
    closed_form_logit_gradients,
    frozen_generator_loss,
    logit_gradients,
    lsgan_generator_objective,
    lsgan_optimal_discriminator,
    pearson_chi2,
)
from gan_utils.foundations.divergences import jsd, kl

SUPPORT = (-10.0, 10.0)


def p_data(x):
    return 0.6 * stats.norm.pdf(x, -1.0, 0.7) + 0.4 * stats.norm.pdf(x, 1.5, 0.5)


def p_g(theta):
    return lambda x: stats.norm.pdf(x, theta, 1.0)


def test_autograd_logit_gradients_match_closed_forms():
    a = torch.linspace(-12, 12, 241, dtype=torch.float64)
    auto, closed = logit_gradients(a), closed_form_logit_gradients(a.numpy())
    d = torch.sigmoid(a).numpy()
    for name in ("saturating", "nonsaturating"):
        np.testing.assert_allclose(auto[name][1].numpy(), closed[name], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(auto["saturating"][0].numpy(), np.log1p(-d), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(auto["nonsaturating"][0].numpy(), -np.log(d), rtol=1e-9, atol=1e-12)
    # the saturation itself: at a = -12 (D ~ 6e-6) one gradient vanishes, the other does not
    assert abs(closed["saturating"][0]) < 1e-5 and closed["nonsaturating"][0] == pytest.approx(-1.0, abs=1e-5)


@pytest.mark.parametrize("theta0", [-2.0, 1.0])
def test_gradient_identities_with_frozen_optimal_discriminator(theta0):
    f0 = p_g(theta0)
    ns = central_difference(lambda t: frozen_generator_loss(p_data, p_g(t), f0, "nonsaturating", SUPPORT), theta0)
    ns_ref = central_difference(lambda t: kl(p_g(t), p_data, SUPPORT) - 2 * jsd(p_g(t), p_data, SUPPORT), theta0)
    sat = central_difference(lambda t: frozen_generator_loss(p_data, p_g(t), f0, "saturating", SUPPORT), theta0)
    sat_ref = central_difference(lambda t: 2 * jsd(p_g(t), p_data, SUPPORT), theta0)
    assert ns == pytest.approx(ns_ref, rel=1e-5)
    assert sat == pytest.approx(sat_ref, rel=1e-5)
    # identities of gradients, not of values: the frozen losses differ from the divergences
    value = frozen_generator_loss(p_data, f0, f0, "nonsaturating", SUPPORT)
    assert abs(value - (kl(f0, p_data, SUPPORT) - 2 * jsd(f0, p_data, SUPPORT))) > 1e-2


def test_lsgan_optimum_is_half_pearson_chi2_and_zero_one_one_minimum():
    for theta in (-1.0, 0.5, 2.0):
        g = p_g(theta)
        value = lsgan_generator_objective(p_data, g, SUPPORT, (-1.0, 1.0, 0.0))
        chi2 = pearson_chi2(lambda x: 2 * g(x), lambda x: p_data(x) + g(x), SUPPORT)
        assert value == pytest.approx(0.5 * chi2, rel=1e-9)
    # chi^2 of equal measures is 0; the 0-1-1 objective is 1/4 at p_g = p_data, larger elsewhere
    assert pearson_chi2(p_data, p_data, SUPPORT) == pytest.approx(0.0, abs=1e-14)
    base = lsgan_generator_objective(p_data, p_data, SUPPORT, (0.0, 1.0, 1.0))
    assert base == pytest.approx(0.25, abs=1e-10)
    assert lsgan_generator_objective(p_data, p_g(0.0), SUPPORT, (0.0, 1.0, 1.0)) > base


def test_lsgan_optimal_discriminator_minimises_pointwise_least_squares():
    pd, pg = 0.3, 0.7
    d = lsgan_optimal_discriminator(np.array([pd]), np.array([pg]), a=-1.0, b=1.0)[0]
    grid = np.linspace(-2, 2, 40001)
    objective = pd * (grid - 1.0) ** 2 + pg * (grid + 1.0) ** 2
    assert d == pytest.approx(grid[objective.argmin()], abs=1e-4)
    assert lsgan_optimal_discriminator(np.zeros(1), np.zeros(1), 0.0, 1.0)[0] == 0.5


def test_bad_input():
    with pytest.raises(ValueError):
        frozen_generator_loss(p_data, p_data, p_data, "wasserstein", SUPPORT)
    with pytest.raises(ValueError):
        central_difference(math.sin, 0.0, h=0.0)
    with pytest.raises(ValueError):
        lsgan_optimal_discriminator(np.ones(2), np.ones(3), 0.0, 1.0)
    with pytest.raises(ValueError):
        logit_gradients(torch.arange(3))
