"""Tests for gan_utils.foundations.optimal_discriminator (book chapter 3) against closed forms, scipy and
finite differences."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy import integrate, optimize, stats  # noqa: E402

from gan_utils.data import GaussianMixture1D  # noqa: E402
from gan_utils.foundations.optimal_discriminator import (  # noqa: E402
    bernoulli_kl,
    central_interval,
    discriminator_on_grid,
    input_gradients,
    input_gradients_from_logit,
    mixture_score,
    optimal_discriminator,
    optimal_logit,
    optimal_logit_gradients,
    pointwise_argmax,
    pointwise_objective,
    posterior_real,
    value_on_grid,
)
from gan_utils.foundations.optimal_discriminator_plots import (  # noqa: E402
    plot_d_training,
    plot_discriminator_fit,
    plot_extrapolation,
    plot_pointwise_objective,
)

P_DATA = GaussianMixture1D(weights=(0.4, 0.6), means=(-1.5, 1.5), stds=(0.6, 0.8))
P_G = GaussianMixture1D(weights=(1.0,), means=(1.0,), stds=(2.0,))


# ------------------------------------------------------------------------------ optimal_discriminator
def test_optimal_discriminator_closed_form_numpy():
    pd = np.array([1.0, 0.0, 3.0, 0.25, 1e-300])
    pg = np.array([1.0, 2.0, 1.0, 0.75, 1e-300])
    out = optimal_discriminator(pd, pg)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [0.5, 0.0, 0.75, 0.25, 0.5], rtol=0, atol=1e-15)


def test_optimal_discriminator_on_mixtures_matches_ratio_written_out():
    x = np.linspace(-5, 7, 301)
    a, b = P_DATA.pdf(x), P_G.pdf(x)
    np.testing.assert_allclose(optimal_discriminator(a, b), a / (a + b), rtol=1e-15)
    assert np.all((optimal_discriminator(a, b) > 0) & (optimal_discriminator(a, b) < 1))


def test_optimal_discriminator_torch_matches_numpy_and_keeps_type():
    pd = torch.tensor([[1.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
    pg = torch.tensor([[3.0, 5.0], [2.0, 0.0]], dtype=torch.float64)
    out = optimal_discriminator(pd, pg)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64 and out.shape == (2, 2)
    np.testing.assert_allclose(out.numpy(), optimal_discriminator(pd.numpy(), pg.numpy()), rtol=0, atol=0)
    out32 = optimal_discriminator(pd.float(), pg.float())
    assert out32.dtype == torch.float32


def test_both_zero_gives_one_half_or_the_requested_value():
    zero = np.zeros(3)
    np.testing.assert_array_equal(optimal_discriminator(zero, zero), 0.5)
    assert np.isnan(optimal_discriminator(zero, zero, both_zero=np.nan)).all()
    assert torch.equal(optimal_discriminator(torch.zeros(2), torch.zeros(2)), torch.full((2,), 0.5))


def test_equal_densities_give_exactly_one_half():
    x = np.linspace(-6, 6, 1001)
    d = optimal_discriminator(P_DATA.pdf(x), P_DATA.pdf(x))
    assert np.abs(d - 0.5).max() <= 1e-12


@pytest.mark.parametrize("pd, pg", [
    (np.array([1.0, -0.1]), np.array([1.0, 1.0])),
    (np.array([1.0, 1.0]), np.array([-1e-9, 1.0])),
    (np.array([np.nan]), np.array([1.0])),
    (np.ones(3), np.ones(4)),
    (torch.tensor([-1.0]), torch.tensor([1.0])),
    (torch.ones(2, 1), torch.ones(2)),
])
def test_optimal_discriminator_rejects_bad_input(pd, pg):
    with pytest.raises(ValueError):
        optimal_discriminator(pd, pg)


def test_optimal_logit_matches_d_star_and_survives_underflow():
    x = np.linspace(-5, 7, 201)
    a = optimal_logit(P_DATA.log_pdf(x), P_G.log_pdf(x))
    np.testing.assert_allclose(1 / (1 + np.exp(-a)), optimal_discriminator(P_DATA.pdf(x), P_G.pdf(x)), rtol=1e-12)
    far = np.array([60.0, -70.0])  # both pdfs underflow to 0 here; the logit is still exact
    assert np.all(P_DATA.pdf(far) == 0)
    a_far = optimal_logit(P_DATA.log_pdf(far), P_G.log_pdf(far))
    expected = P_DATA.log_pdf(far) - stats.norm.logpdf(far, 1.0, 2.0)
    np.testing.assert_allclose(a_far, expected, rtol=1e-12)
    assert np.all(np.isfinite(a_far)) and np.all(a_far < -1000)
    with pytest.raises(ValueError):
        optimal_logit(np.zeros(2), np.zeros(3))


# ------------------------------------------------------------------------------- posterior (Bayes)
@pytest.mark.parametrize("prior", [0.5, 0.2, 0.9])
def test_posterior_real_is_bayes_rule(prior):
    x = np.linspace(-4, 5, 51)
    pd, pg = P_DATA.pdf(x), P_G.pdf(x)
    joint_real, joint_fake = prior * pd, (1 - prior) * pg
    np.testing.assert_allclose(posterior_real(pd, pg, prior), joint_real / (joint_real + joint_fake), rtol=1e-14)
    # logit form: log(p_data/p_g) + log(pi/(1-pi))
    logit = optimal_logit(np.log(pd), np.log(pg)) + math.log(prior / (1 - prior))
    np.testing.assert_allclose(posterior_real(pd, pg, prior), 1 / (1 + np.exp(-logit)), rtol=1e-12)


def test_posterior_with_equal_priors_is_d_star_and_bad_priors_raise():
    pd, pg = np.array([0.3, 0.0]), np.array([0.1, 0.0])
    np.testing.assert_allclose(posterior_real(pd, pg), optimal_discriminator(pd, pg), rtol=0, atol=1e-16)
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError):
            posterior_real(pd, pg, bad)


# ------------------------------------------------------------------------------- pointwise objective
@pytest.mark.parametrize("a, b", [(1.0, 1.0), (2.0, 1.0), (0.3, 2.7), (1e-3, 5.0), (7.0, 0.02)])
def test_pointwise_argmax_matches_minimize_scalar(a, b):
    res = optimize.minimize_scalar(lambda y: -float(pointwise_objective(np.array(y), a, b)),
                                   bounds=(1e-12, 1 - 1e-12), method="bounded", options={"xatol": 1e-12})
    assert res.x == pytest.approx(pointwise_argmax(a, b), abs=1e-7)
    assert pointwise_argmax(a, b) == pytest.approx(a / (a + b), rel=1e-15)


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (2.0, 0.5), (0.1, 3.0)])
def test_pointwise_objective_derivatives(a, b):
    y = np.linspace(0.05, 0.95, 19)
    h = 1e-5

    def f(t):
        return pointwise_objective(t, a, b)

    d1 = (f(y + h) - f(y - h)) / (2 * h)
    d2 = (f(y + h) - 2 * f(y) + f(y - h)) / h**2
    np.testing.assert_allclose(d1, a / y - b / (1 - y), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d2, -a / y**2 - b / (1 - y) ** 2, rtol=1e-3)
    assert np.all(d2 < 0)  # strictly concave
    y_star = pointwise_argmax(a, b)
    assert a / y_star - b / (1 - y_star) == pytest.approx(0.0, abs=1e-12)
    f_star = a * math.log(a / (a + b)) + b * math.log(b / (a + b))
    assert float(f(np.array(y_star))) == pytest.approx(f_star, rel=1e-12)


def test_pointwise_edge_cases():
    y = np.linspace(0, 1, 1001)
    assert pointwise_argmax(0.0, 2.0) == 0.0 and pointwise_argmax(3.0, 0.0) == 1.0
    assert y[np.argmax(pointwise_objective(y, 0.0, 2.0))] == 0.0   # b log(1 - y): decreasing
    assert y[np.argmax(pointwise_objective(y, 3.0, 0.0))] == 1.0   # a log y: increasing
    assert np.all(pointwise_objective(y, 0.0, 0.0) == 0.0)           # every y is optimal
    assert pointwise_objective(np.array([1.5]), 1.0, 1.0)[0] == -np.inf
    for bad in ((0.0, 0.0), (-1.0, 1.0), (1.0, -1.0)):
        with pytest.raises(ValueError):
            pointwise_argmax(*bad)
    with pytest.raises(ValueError):
        pointwise_objective(y, -1.0, 1.0)


# ------------------------------------------------------------------------------------ the region
def test_central_interval_holds_the_mass_by_quadrature():
    lo, hi = central_interval(P_DATA, P_G, 0.99)

    def m(t):
        return 0.5 * (P_DATA.pdf(t) + P_G.pdf(t))

    inside = integrate.quad(m, lo, hi, limit=200)[0]
    left = integrate.quad(m, -np.inf, lo)[0]
    assert inside == pytest.approx(0.99, abs=1e-9)
    assert left == pytest.approx(0.005, abs=1e-9)
    # one standard normal twice: the interval is the textbook +-2.5758
    std = GaussianMixture1D((1.0,), (0.0,), (1.0,))
    lo, hi = central_interval(std, std, 0.99)
    assert hi == pytest.approx(stats.norm.ppf(0.995), abs=1e-9) and lo == pytest.approx(-hi, abs=1e-9)
    with pytest.raises(ValueError):
        central_interval(std, std, 1.0)


# ------------------------------------------------------------------------------------ gradients
def test_mixture_score_matches_finite_differences_and_stays_finite():
    x = np.linspace(-5, 7, 61)
    h = 1e-5
    fd = (P_DATA.log_pdf(x + h) - P_DATA.log_pdf(x - h)) / (2 * h)
    np.testing.assert_allclose(mixture_score(P_DATA, x), fd, rtol=1e-5, atol=1e-6)
    far = np.array([80.0])  # pdf underflows; the score is that of the widest component there
    np.testing.assert_allclose(mixture_score(P_DATA, far), (1.5 - 80.0) / 0.8**2, rtol=1e-9)


def test_input_gradients_from_logit_match_finite_differences():
    a0, slope = np.array([-3.0, 0.0, 2.5]), np.array([1.5, -0.7, 2.0])
    g = input_gradients_from_logit(a0, slope)
    h = 1e-6

    def sig(t):
        return 1 / (1 + np.exp(-t))

    for key, fn in {"D": sig, "log_D": lambda t: np.log(sig(t)), "log_1_minus_D": lambda t: np.log(1 - sig(t))}.items():
        fd = (fn(a0 + slope * h) - fn(a0 - slope * h)) / (2 * h)  # a(x) = a0 + slope (x - x0)
        np.testing.assert_allclose(g[key], fd, rtol=1e-6, atol=1e-9)


def test_optimal_logit_gradients_against_finite_differences_of_d_star():
    x = np.array([-2.0, 0.3, 4.0])
    g = optimal_logit_gradients(P_DATA, P_G, x)
    h = 1e-5

    def d(t):
        return optimal_discriminator(P_DATA.pdf(t), P_G.pdf(t))

    np.testing.assert_allclose(g["D"], (d(x + h) - d(x - h)) / (2 * h), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(g["log_D"], (np.log(d(x + h)) - np.log(d(x - h))) / (2 * h), rtol=1e-5)


def test_input_gradients_of_a_linear_discriminator():
    D = torch.nn.Linear(1, 1)
    with torch.no_grad():
        D.weight.fill_(2.0)
        D.bias.fill_(-1.0)
    x = np.array([-1.0, 0.5, 3.0])
    g = input_gradients(D, x, "cpu")
    np.testing.assert_allclose(g["logit"], 2.0, rtol=1e-7)
    np.testing.assert_allclose(g["log_D"], 2.0 / (1 + np.exp(2 * x - 1)), rtol=1e-5)
    d, a = discriminator_on_grid(D, x, "cpu")
    np.testing.assert_allclose(a, 2 * x - 1, rtol=1e-6)
    np.testing.assert_allclose(d, 1 / (1 + np.exp(-(2 * x - 1))), rtol=1e-6)


# ------------------------------------------------------------------------ the value and its gap
X_Q = np.linspace(-20.0, 22.0, 20_001)


def test_value_at_d_star_is_minus_log4_plus_two_jsd_by_quad():
    a_star = optimal_logit(P_DATA.log_pdf(X_Q), P_G.log_pdf(X_Q))
    v = value_on_grid(a_star, P_DATA.pdf(X_Q), P_G.pdf(X_Q), X_Q)

    def kl_to_m(p, t):
        pt, mt = p.pdf(t), 0.5 * (P_DATA.pdf(t) + P_G.pdf(t))
        return pt * np.log(pt / mt) if pt > 0 else 0.0

    jsd = 0.5 * sum(integrate.quad(lambda t, p=p: kl_to_m(p, t), -20, 22, points=[-1.5, 1.0, 1.5], limit=200)[0]
                    for p in (P_DATA, P_G))
    assert v == pytest.approx(-math.log(4) + 2 * jsd, abs=1e-7)


def test_value_gap_is_the_bernoulli_kl_integral_and_nonnegative():
    pd, pg = P_DATA.pdf(X_Q), P_G.pdf(X_Q)
    a_star = optimal_logit(P_DATA.log_pdf(X_Q), P_G.log_pdf(X_Q))
    v_star = value_on_grid(a_star, pd, pg, X_Q)
    assert value_on_grid(np.zeros_like(X_Q), pd, pg, X_Q) == pytest.approx(-math.log(4), abs=1e-9)
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = 0.3 * X_Q + rng.normal() + rng.normal() * np.sin(X_Q)
        v = value_on_grid(a, pd, pg, X_Q)
        gap = np.trapezoid((pd + pg) * bernoulli_kl(1 / (1 + np.exp(-a_star)), 1 / (1 + np.exp(-a))), X_Q)
        assert v < v_star
        assert v_star - v == pytest.approx(gap, rel=1e-9, abs=1e-12)
    with pytest.raises(ValueError):
        value_on_grid(np.zeros(3), np.ones(3), np.ones(3), np.arange(4.0))


def test_bernoulli_kl_against_scipy_entropy():
    for p, q in [(0.3, 0.6), (0.01, 0.5), (0.0, 0.2), (1.0, 0.9)]:
        assert bernoulli_kl(p, q) == pytest.approx(stats.entropy([p, 1 - p], [q, 1 - q]), abs=1e-14)


# -------------------------------------------------------------------------------------- plotting
def test_plots_return_labelled_figures():
    x = np.linspace(-4, 6, 101)
    pd, pg = P_DATA.pdf(x), P_G.pdf(x)
    ds = optimal_discriminator(pd, pg)
    a = optimal_logit(P_DATA.log_pdf(x), P_G.log_pdf(x))
    figs = [
        plot_pointwise_objective(np.linspace(0.01, 0.99, 50), [(1.0, 1.0), (2.0, 1.0)], title="t"),
        plot_discriminator_fit(x, pd, pg, ds, ds, (-3.0, 5.0), title="t"),
        plot_extrapolation(x, ds, ds, a, a, {"p_data": (-3, 3), "p_g": (-4, 6)}, points=[5.0], title="t"),
        plot_d_training({"run": {"step": [1, 2], "d_loss": [1.4, 1.3]}}, {"run": 1.2}),
    ]
    for fig in figs:
        assert isinstance(fig, plt.Figure)
        for ax in fig.axes:
            if ax.get_visible() and ax.has_data():
                assert ax.get_ylabel(), ax
        assert any(ax.get_xlabel() for ax in fig.axes)
        plt.close(fig)
