"""Unit tests for gan_utils.foundations.minimax (book chapter 2), against direct formulas and closed forms."""
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from scipy import integrate, stats

from gan_utils.foundations.minimax import (
    NormalToUniform,
    Snapshot,
    snapshot_scores,
    take_snapshot,
    uniform_prior_generator,
    value_function,
)
from gan_utils.foundations.minimax_plots import plot_figure1, plot_k_ablation, plot_snapshot_grid, snapshot_slider
from gan_utils.foundations.optimal_discriminator import optimal_discriminator
from gan_utils.models import mlp_discriminator

matplotlib.use("Agg")


def test_value_function_matches_the_direct_formula_in_float64():
    g = torch.Generator().manual_seed(0)
    a_real = 3 * torch.randn(500, 1, generator=g, dtype=torch.float64)
    a_fake = 3 * torch.randn(300, 1, generator=g, dtype=torch.float64)
    direct = torch.log(torch.sigmoid(a_real)).mean() + torch.log(1 - torch.sigmoid(a_fake)).mean()
    assert float(value_function(a_real, a_fake)) == pytest.approx(float(direct), abs=1e-12)
    # float32 input: the same to float32 precision
    assert float(value_function(a_real.float(), a_fake.float())) == pytest.approx(float(direct), abs=1e-5)


def test_value_function_closed_forms_and_sign():
    zero = torch.zeros(10, 1)
    assert float(value_function(zero, zero)) == pytest.approx(-math.log(4), abs=1e-6)  # D = 1/2 everywhere
    # a confident, correct discriminator: V -> 0 from below; a confident, wrong one: V very negative but finite
    big = torch.full((4, 1), 50.0)
    v_right, v_wrong = float(value_function(big, -big)), float(value_function(-big, big))
    assert -1e-20 < v_right <= 0  # log sigmoid(50) = -softplus(-50), about -2e-22 per term
    assert v_wrong == pytest.approx(-100.0, rel=1e-6)  # -softplus(50) - softplus(50), no overflow
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        assert float(value_function(torch.randn(64, 1, generator=g) * 5, torch.randn(64, 1, generator=g) * 5)) <= 0


def test_value_function_rejects_empty_batches():
    with pytest.raises(ValueError):
        value_function(torch.zeros(0, 1), torch.zeros(3, 1))


def test_normal_to_uniform_is_the_probability_integral_transform():
    eps = torch.randn(20000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u = NormalToUniform()(eps).numpy().ravel()
    np.testing.assert_allclose(u, stats.norm.cdf(eps.numpy().ravel()), atol=1e-12)
    assert stats.kstest(u, "uniform").pvalue > 1e-3  # U(0, 1) by Kolmogorov-Smirnov


def test_optimal_discriminator_closed_form_and_errors():
    x = np.linspace(-5, 5, 11)
    p, q = stats.norm.pdf(x, -1, 1), stats.norm.pdf(x, 1, 1)
    # for two unit-variance Gaussians at -1 and +1 the log-odds are exactly -2x
    np.testing.assert_allclose(optimal_discriminator(p, q), 1 / (1 + np.exp(2 * x)), rtol=1e-10)
    # one convention where both densities vanish: D* = 1/2 (a plot may ask for NaN, i.e. a gap)
    np.testing.assert_array_equal(optimal_discriminator(np.zeros(2), np.zeros(2)), 0.5)
    assert np.isnan(optimal_discriminator(np.zeros(2), np.zeros(2), both_zero=np.nan)).all()
    with pytest.raises(ValueError):
        optimal_discriminator(np.ones(3), np.ones(2))
    with pytest.raises(ValueError):
        optimal_discriminator(-np.ones(2), np.ones(2))


def test_snapshot_scores_of_known_densities():
    x = np.linspace(-12, 12, 4801)
    p = stats.norm.pdf(x, 0, 1)
    half = Snapshot("equal", 0, x, np.full_like(x, 0.5), np.array([0.5]), np.array([0.0]), np.zeros(2), p.copy())
    s = snapshot_scores(half, p)
    assert s["jsd"] == pytest.approx(0.0, abs=1e-12) and s["d_half"] == pytest.approx(0.0, abs=1e-12)
    assert s["d_star"] == pytest.approx(0.0, abs=1e-12)  # D = 1/2 is optimal when p_g = p_data
    # p_g = N(5, 1): references by adaptive quadrature of the definitions
    pf, qf = stats.norm(0, 1).pdf, stats.norm(5, 1).pdf
    q = qf(x)
    far = Snapshot("far", 0, x, optimal_discriminator(p, q), np.array([0.5]), np.array([5.0]), np.zeros(2), q)
    s = snapshot_scores(far, p)

    def jsd_integrand(t):
        m = (pf(t) + qf(t)) / 2
        return 0.5 * pf(t) * math.log(pf(t) / m) + 0.5 * qf(t) * math.log(qf(t) / m)

    jsd_ref = integrate.quad(jsd_integrand, -12, 12, points=[0, 2.5, 5], limit=200)[0]
    d_half_ref = integrate.quad(lambda t: pf(t) * abs(pf(t) / (pf(t) + qf(t)) - 0.5), -12, 12, points=[2.5])[0]
    assert s["jsd"] == pytest.approx(jsd_ref, abs=1e-8)
    assert s["d_star"] == pytest.approx(0.0, abs=1e-12) and s["d_half"] == pytest.approx(d_half_ref, abs=1e-6)
    far.d = np.full_like(x, 0.5)  # D = 1/2: E_m |1/2 - D*|
    d_star_ref = integrate.quad(lambda t: 0.5 * (pf(t) + qf(t)) * abs(0.5 - pf(t) / (pf(t) + qf(t))), -12, 12,
                                points=[2.5])[0]
    # |.| has a kink: trapezoid error ~h^2
    assert snapshot_scores(far, p)["d_star"] == pytest.approx(d_star_ref, abs=1e-6)
    with pytest.raises(ValueError):
        snapshot_scores(far, p[:-1])


def test_take_snapshot_records_the_map_and_the_samples():
    torch.manual_seed(0)
    G, D = uniform_prior_generator((8,)), mlp_discriminator(1, (8,))
    x = np.linspace(-3, 3, 61)
    u = np.array([0.1, 0.5, 0.9])
    eps = torch.randn(200, 1, generator=torch.Generator().manual_seed(1))
    snap = take_snapshot(G, D, x, u, eps, label="t", step=7)
    with torch.no_grad():
        expected_map = G[1](torch.tensor(u, dtype=torch.float32).reshape(-1, 1)).numpy().ravel()
        expected_d = torch.sigmoid(D(torch.tensor(x, dtype=torch.float32).reshape(-1, 1))).numpy().ravel()
        # G(eps) = G[1](Phi(eps)): the map at u = Phi(eps) gives the samples
        np.testing.assert_allclose(snap.samples, G[1](torch.special.ndtr(eps)).numpy().ravel(), atol=1e-6)
    np.testing.assert_allclose(snap.g_u, expected_map, atol=1e-6)
    np.testing.assert_allclose(snap.d, expected_d, atol=1e-6)
    assert snap.p_g.shape == x.shape and (snap.p_g >= 0).all() and snap.step == 7
    with pytest.raises(ValueError):
        take_snapshot(G, D, x, np.array([0.0, 0.5]), eps)


def test_plots_return_figures():
    x = np.linspace(-3, 3, 61)
    p = stats.norm.pdf(x)
    snap = Snapshot("s", 0, x, 1 / (1 + np.exp(-x)), np.array([0.2, 0.8]), np.array([-1.0, 1.0]), np.zeros(3), p)
    for fig in (plot_figure1([snap], p, ["(a)"], show_d_star=[True]), plot_snapshot_grid([snap] * 2, p, ncols=3),
                plot_k_ablation({1: [0.1, 0.2], 5: [0.3, 0.35]}, floor=0.01, steps=100)):
        assert isinstance(fig, plt.Figure)
        plt.close(fig)
    with pytest.raises(ValueError):
        plot_figure1([], p)


def test_snapshot_slider_prerenders_one_image_per_snapshot():
    pytest.importorskip("ipywidgets", reason="ipywidgets comes with the book extra (pip install -e .[book])")
    x = np.linspace(-3, 3, 61)
    p = stats.norm.pdf(x)
    snap = Snapshot("s", 0, x, 1 / (1 + np.exp(-x)), np.array([0.2, 0.8]), np.array([-1.0, 1.0]), np.zeros(3), p)
    viewer = snapshot_slider([snap, snap], p)
    assert len(viewer.children[1].children) == 2  # one pre-rendered image per snapshot
