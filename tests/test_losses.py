"""Tests for gan_utils.losses against the value function written out in float64."""
import math

import numpy as np
import pytest
import torch

from gan_utils.losses import (
    GENERATOR_LOSSES,
    d_loss,
    g_loss_nonsaturating,
    g_loss_saturating,
    lsgan_d_loss,
    lsgan_g_loss,
)


def _sigmoid64(a):
    a = np.asarray(a, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-a))


def _logits(n, seed, scale=3.0):
    return torch.randn(n, 1, generator=torch.Generator().manual_seed(seed)) * scale


# ----------------------------------------------------------------------------------------- d_loss
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_d_loss_is_minus_value_function_from_probabilities(seed):
    real, fake = _logits(50, seed), _logits(70, seed + 100)  # different batch sizes on purpose
    d_real, d_fake = _sigmoid64(real.numpy()), _sigmoid64(fake.numpy())
    V = np.mean(np.log(d_real)) + np.mean(np.log(1.0 - d_fake))
    assert d_loss(real, fake).item() == pytest.approx(-V, rel=1e-5, abs=1e-6)


def test_d_loss_at_d_equal_half_is_log_4():
    zeros = torch.zeros(16, 1)
    assert d_loss(zeros, zeros).item() == pytest.approx(math.log(4.0), abs=1e-6)


def test_d_loss_is_minimised_by_the_optimal_discriminator():
    # For two-point p_data = delta(0), p_g = delta(1) sampled in equal numbers with logit a(x) per point,
    # -V is minimised at D*(x) = p_data / (p_data + p_g): D*(0) = 1, D*(1) = 0 -> loss -> 0,
    # and for identical distributions D* = 1/2 everywhere -> loss log 4. Check the second case by
    # scanning a constant logit: the minimum sits at a = 0.
    a = torch.linspace(-2, 2, 401)
    vals = torch.stack([d_loss(torch.full((4, 1), float(t)), torch.full((4, 1), float(t))) for t in a])
    assert abs(a[vals.argmin()].item()) < 1e-6
    assert vals.min().item() == pytest.approx(math.log(4.0), abs=1e-6)


def test_d_loss_gradients_match_closed_form():
    real = _logits(8, 3).requires_grad_(True)
    fake = _logits(5, 4).requires_grad_(True)
    d_loss(real, fake).backward()
    # d/da [-mean log sigmoid(a)] = -(1 - sigmoid(a))/n; d/da [-mean log(1 - sigmoid(a))] = sigmoid(a)/n
    exp_real = -(1 - _sigmoid64(real.detach().numpy())) / 8
    exp_fake = _sigmoid64(fake.detach().numpy()) / 5
    np.testing.assert_allclose(real.grad.numpy(), exp_real, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(fake.grad.numpy(), exp_fake, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------------------- generator losses
def test_generator_losses_match_their_formulas():
    fake = _logits(40, 7)
    d = _sigmoid64(fake.numpy())
    assert g_loss_saturating(fake).item() == pytest.approx(np.mean(np.log(1 - d)), rel=1e-5, abs=1e-6)
    assert g_loss_nonsaturating(fake).item() == pytest.approx(-np.mean(np.log(d)), rel=1e-5, abs=1e-6)


def test_generator_loss_table():
    assert GENERATOR_LOSSES["saturating"] is g_loss_saturating
    assert GENERATOR_LOSSES["nonsaturating"] is g_loss_nonsaturating


@pytest.mark.parametrize("loss,formula", [
    (g_loss_saturating, lambda s: -s),          # d/da log(1 - sigmoid(a)) = -sigmoid(a)
    (g_loss_nonsaturating, lambda s: -(1 - s)),  # d/da -log sigmoid(a) = -(1 - sigmoid(a))
])
@pytest.mark.parametrize("dtype,rtol,atol", [(torch.float64, 1e-12, 1e-300), (torch.float32, 1e-5, 1e-8)])
def test_generator_loss_gradients_wrt_logit(loss, formula, dtype, rtol, atol):
    # float64: the formula to 12 digits even where 1 - sigmoid(a) ~ 1e-13; float32: the
    # cancellation in sigmoid(a) - 1 limits the accuracy to ~1e-7 absolute, hence atol 1e-8 (/n)
    a = torch.tensor([-30.0, -8.0, -2.0, -0.5, 0.0, 0.5, 2.0, 8.0, 30.0], dtype=dtype)
    a = a.unsqueeze(1).requires_grad_(True)
    n = a.shape[0]
    loss(a).backward()
    assert a.grad.dtype == dtype
    expected = formula(_sigmoid64(a.detach().double().numpy())) / n
    np.testing.assert_allclose(a.grad.double().numpy(), expected, rtol=rtol, atol=atol)


def test_saturating_loss_saturates_and_nonsaturating_does_not():
    # when D confidently rejects fakes (a -> -inf) the saturating gradient vanishes, the other -> -1/n
    a = torch.full((4, 1), -20.0, requires_grad=True)
    g_loss_saturating(a).backward()
    assert a.grad.abs().max().item() < 1e-8
    b = torch.full((4, 1), -20.0, requires_grad=True)
    g_loss_nonsaturating(b).backward()
    torch.testing.assert_close(b.grad, torch.full((4, 1), -0.25), rtol=1e-6, atol=1e-8)


# -------------------------------------------------------------------------------------- stability
def test_losses_are_finite_with_correct_limits_at_extreme_logits():
    big = torch.full((3, 1), 100.0)
    # D(x) = sigmoid(100) = 1 - 4e-44 for reals, D(G(z)) = sigmoid(-100) for fakes: perfect D, loss -> 0
    assert d_loss(big, -big).item() == pytest.approx(0.0, abs=1e-30)
    # the worst D: -log sigmoid(-100) - log(1 - sigmoid(100)) = 100 + 100 (+ log(1+e^-100) terms)
    assert d_loss(-big, big).item() == pytest.approx(200.0, rel=1e-6)
    # saturating G loss: log(1 - sigmoid(a)) = -softplus(a)
    assert g_loss_saturating(big).item() == pytest.approx(-100.0, rel=1e-6)
    assert g_loss_saturating(-big).item() == pytest.approx(0.0, abs=1e-30)
    # non-saturating G loss: -log sigmoid(a) = softplus(-a)
    assert g_loss_nonsaturating(-big).item() == pytest.approx(100.0, rel=1e-6)
    assert g_loss_nonsaturating(big).item() == pytest.approx(0.0, abs=1e-30)
    for loss in (g_loss_saturating, g_loss_nonsaturating):
        for a in (big, -big):
            x = a.clone().requires_grad_(True)
            val = loss(x)
            val.backward()
            assert torch.isfinite(val) and torch.isfinite(x.grad).all()
    x, y = big.clone().requires_grad_(True), (-big).clone().requires_grad_(True)
    d_loss(y, x).backward()
    torch.testing.assert_close(x.grad, torch.full((3, 1), 1 / 3))
    torch.testing.assert_close(y.grad, torch.full((3, 1), -1 / 3))


# ------------------------------------------------------------------------------------------ LSGAN
def test_lsgan_losses_match_direct_formulas():
    real, fake = _logits(30, 11).double(), _logits(20, 12).double()
    r, f = real.numpy(), fake.numpy()
    for a, b, c in [(0.0, 1.0, 1.0), (-1.0, 1.0, 0.0), (0.3, 0.9, 0.5)]:
        exp_d = 0.5 * np.mean((r - b) ** 2) + 0.5 * np.mean((f - a) ** 2)
        exp_g = 0.5 * np.mean((f - c) ** 2)
        assert lsgan_d_loss(real, fake, a=a, b=b).item() == pytest.approx(exp_d, rel=1e-12)
        assert lsgan_g_loss(fake, c=c).item() == pytest.approx(exp_g, rel=1e-12)


def test_lsgan_defaults_are_a0_b1_c1_and_zero_at_targets():
    assert lsgan_d_loss(torch.ones(5, 1), torch.zeros(5, 1)).item() == 0.0
    assert lsgan_g_loss(torch.ones(5, 1)).item() == 0.0
    assert lsgan_d_loss(torch.zeros(5, 1), torch.ones(5, 1)).item() == pytest.approx(1.0)
    assert lsgan_g_loss(torch.zeros(5, 1)).item() == pytest.approx(0.5)


def test_lsgan_gradients():
    f = torch.tensor([[0.2], [1.5], [-0.7]], requires_grad=True)
    lsgan_g_loss(f, c=1.0).backward()
    # d/df 1/2 mean (f - c)^2 = (f - c)/n
    torch.testing.assert_close(f.grad, (f.detach() - 1.0) / 3)
