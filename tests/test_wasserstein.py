"""Tests of chapter 11's code: W1 in 1-D, the critic losses, the gradient penalty (with regression checks for two
bugs readers hit), weight clipping, spectral normalisation (batched and torch's), and the critic options of the
training step, the harness and the ensembles."""
import math

import matplotlib
import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance
from torch import nn

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gan_utils import losses
from gan_utils.dcgan import DCGANConfig
from gan_utils.dynamics.mode_coverage import BENCHMARKS, PROTOCOLS, make_ensemble_pair, train_benchmark
from gan_utils.dynamics.wasserstein import (
    BatchedSpectralNorm,
    batched_spectral_norm_,
    critic_mlp,
    disjoint_gradients,
    dual_estimate,
    layer_sigmas,
    lipschitz_lower_bound,
    normal_cdf,
    power_iteration,
    share_at_clip,
    sn_dcgan_discriminator,
    spearman,
    train_critic,
    w1_from_cdfs,
    w1_sorted,
)
from gan_utils.dynamics.wasserstein_plots import plot_clip_sweep, plot_critics_1d, plot_jsd_vs_w1, plot_tracking
from gan_utils.ensemble import BatchedLinear, EnsembleMLP, EnsembleMLPConfig, train_ensemble
from gan_utils.models import mlp_discriminator, mlp_generator
from gan_utils.train import TrainConfig, clip_weights_, train_gan


# ------------------------------------------------------------------------------------------------ W1
def test_w1_sorted_matches_scipy():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(1000, generator=g), torch.rand(1000, generator=g) * 3
    assert w1_sorted(x, y) == pytest.approx(wasserstein_distance(x.numpy(), y.numpy()), rel=1e-12)
    with pytest.raises(ValueError):
        w1_sorted(x, y[:10])


def test_w1_of_a_shift_is_the_shift_and_of_point_masses_the_distance():
    assert w1_from_cdfs(normal_cdf(0, 1), normal_cdf(2.5, 1), (-12, 15), [0, 2.5]) == pytest.approx(2.5, rel=1e-9)
    assert w1_sorted(np.zeros(5), np.full(5, 3.0)) == 3.0


def test_disjoint_pair_jsd_gradient_vanishes_w1_gradient_is_one():
    djsd, dw1 = disjoint_gradients(0.05, 20.0)
    assert abs(djsd) <= 1e-12 and abs(dw1 - 1) <= 1e-3
    djsd_near, _ = disjoint_gradients(0.05, 1.0)  # overlapping: the JSD does have a gradient
    assert abs(djsd_near) > 1e-3


# ------------------------------------------------------------------------------------------------ losses
def test_critic_losses():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 1.0])
    assert losses.wasserstein_d_loss(real, fake).item() == pytest.approx(-1.0 - 1.25)
    assert losses.wasserstein_g_loss(fake).item() == pytest.approx(1.0)
    # hinge: E max(0, 1 - f(x)) = (0 + 0.5) / 2; E max(0, 1 + f(G(z))) = (0 + 2) / 2
    assert losses.hinge_d_loss(real, fake).item() == pytest.approx(0.25 + 1.0)
    assert losses.hinge_g_loss(fake).item() == pytest.approx(1.0)


def test_gradient_norms_per_sample_of_a_linear_critic():
    w = torch.tensor([3.0, 4.0])
    x = torch.randn(7, 2)
    norms = losses.critic_gradient_norms(lambda t: t @ w, x)
    assert torch.allclose(norms, torch.full((7,), 5.0))
    gp = losses.gradient_penalty(lambda t: t @ w, x, torch.randn(7, 2), torch.rand(7, 1), weight=10.0)
    assert gp.item() == pytest.approx(10 * 16, rel=1e-5)


def test_gradient_penalty_of_batched_members_is_per_member():
    # member s has the linear critic x -> c_s * x_1: its gradient norm is |c_s| whatever the other members are
    c = torch.tensor([0.5, 1.0, 2.0]).view(3, 1, 1)
    critic = lambda t: c * t[..., :1]  # noqa: E731
    x = torch.randn(3, 4, 2)
    norms = losses.critic_gradient_norms(critic, x, batch_dims=2)
    assert torch.allclose(norms, c.view(3, 1).expand(3, 4), atol=1e-6)
    gp = losses.gradient_penalty(critic, x, torch.randn(3, 4, 2), torch.rand(3, 4, 1), weight=1.0)
    assert gp.item() == pytest.approx(((0.5 - 1) ** 2 + 0 + 1) / 3, rel=1e-5)


def test_regression_zero_gradient_norm_gives_no_nan():
    # peer bug 1: sqrt(sum g^2) has an infinite derivative at g = 0, and 0 * inf = NaN reaches every weight
    critic = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        critic[0].bias.fill_(-100.0)  # every ReLU off: the critic is flat, its input gradient exactly 0
    x, fake = torch.randn(8, 2), torch.randn(8, 2)
    eps = torch.rand(8, 1)
    x_hat = losses.interpolates(x, fake, eps).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    naive = ((g.pow(2).sum(-1).sqrt() - 1) ** 2).mean()
    naive.backward()
    assert torch.isnan(critic[0].weight.grad).any()  # the bug, reproduced
    critic.zero_grad()
    losses.gradient_penalty(critic, x, fake, eps).backward()
    assert critic[0].weight.grad is not None and torch.isfinite(critic[0].weight.grad).all()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in critic.parameters())


def test_regression_interpolation_weights_must_be_uniform():
    # peer bug 2: eps ~ N(0, 1) instead of U[0, 1] puts "interpolates" outside the segment between x and G(z)
    x, fake = torch.randn(64, 2), torch.randn(64, 2)
    with pytest.raises(ValueError, match="torch.rand"):
        losses.gradient_penalty(lambda t: t.sum(-1), x, fake, torch.randn(64, 1, generator=torch.Generator()))
    eps = torch.rand(64, 1)
    x_hat = losses.interpolates(x, fake, eps)
    # every interpolate lies on its segment: |x_hat - fake| + |x - x_hat| = |x - fake|
    seg = (x_hat - fake).norm(dim=1) + (x - x_hat).norm(dim=1)
    assert torch.allclose(seg, (x - fake).norm(dim=1), atol=1e-5)
    with pytest.raises(ValueError):
        losses.interpolates(x, fake, torch.rand(64, 2, 1))


def test_the_harnesses_draw_uniform_weights(monkeypatch):
    seen = []
    original = losses.interpolates

    def spy(real, fake, eps):
        seen.append(eps.detach().clone())
        return original(real, fake, eps)

    monkeypatch.setattr(losses, "interpolates", spy)
    G, D = mlp_generator(2, 2, (8,)), mlp_discriminator(2, (8,))
    cfg = TrainConfig(steps=3, z_shape=(2,), batch_size=256, k=2, loss="wasserstein", gp_weight=10.0)
    train_gan(G, D, lambda n, g: torch.randn(n, 2, generator=g), cfg, "cpu", progress=False)
    assert len(seen) == 6 and all(e.shape == (256, 1) for e in seen)
    e = torch.cat(seen)
    assert 0 <= e.min() and e.max() <= 1 and abs(e.mean() - 0.5) < 0.03  # U[0, 1]: mean 1/2


# ------------------------------------------------------------------------------------------------ clipping
def test_clip_weights_and_share_at_clip():
    net = nn.Linear(10, 10)
    with torch.no_grad():
        net.weight.copy_(torch.linspace(-1, 1, 100).view(10, 10))
    clip_weights_(net, 0.5)
    assert net.weight.abs().max() <= 0.5 and net.bias.abs().max() <= 0.5
    expected = float((np.abs(np.linspace(-1, 1, 100)) >= 0.99 * 0.5).mean())  # clamped to +-0.5 or within 1%
    assert share_at_clip(net, 0.5) == pytest.approx(expected) and 0.4 < expected < 0.6


def test_train_gan_with_clipping_keeps_d_inside_the_box():
    G, D = mlp_generator(2, 2, (8,)), mlp_discriminator(2, (8,))
    cfg = TrainConfig(steps=5, z_shape=(2,), batch_size=32, k=3, loss="wasserstein", clip=0.01, lr_d=0.1)
    hist = train_gan(G, D, lambda n, g: torch.randn(n, 2, generator=g), cfg, "cpu", progress=False)
    assert len(hist) == 5 and max(p.abs().max().item() for p in D.parameters()) <= 0.01 + 1e-9


def test_config_validation():
    with pytest.raises(ValueError):
        TrainConfig(steps=1, gp_weight=-1.0)
    with pytest.raises(ValueError):
        TrainConfig(steps=1, clip=0.0)
    assert TrainConfig(steps=1, loss="hinge").loss == "hinge"


# ------------------------------------------------------------------------------------------------ spectral norm
def test_power_iteration_matches_svdvals_per_member():
    W = torch.randn(4, 6, 5, generator=torch.Generator().manual_seed(0))
    sigma, _, _ = power_iteration(W, torch.nn.functional.normalize(torch.randn(4, 6), dim=-1), iters=200)
    assert torch.allclose(sigma, torch.linalg.svdvals(W)[:, 0], rtol=1e-5)


def test_batched_spectral_norm_gives_unit_sigma_per_member_and_members_independent():
    D = EnsembleMLP(EnsembleMLPConfig(2, 1, (16, 16), "maxout", maxout_pieces=2), [0, 1, 2])
    batched_spectral_norm_(D)
    for _ in range(30):
        D(torch.randn(3, 8, 2))
    for s in layer_sigmas(D):
        assert torch.allclose(s, torch.ones(3), atol=1e-4)
    # one member's u vectors and normalised weights do not depend on the other members' weights
    lin = next(m for m in D.modules() if isinstance(m, BatchedLinear))
    w_before = lin.weight[0].detach().clone()
    with torch.no_grad():
        lin.parametrizations.weight.original[1:].mul_(3.0)
    assert torch.allclose(lin.weight[0], w_before, atol=1e-6)
    with pytest.raises(ValueError):
        BatchedSpectralNorm(torch.randn(3, 4))


def test_sn_dcgan_discriminator_has_spectral_norm_and_no_batchnorm():
    D = sn_dcgan_discriminator(DCGANConfig(ngf=8, ndf=8))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    for _ in range(50):
        D(torch.randn(4, 1, 28, 28))
    for m in D.modules():
        if isinstance(m, nn.Conv2d):  # torch's sigma estimate vs the exact one of the original kernel
            W = m.parametrizations.weight.original.detach().flatten(1)
            u, v = m.parametrizations.weight[0]._u, m.parametrizations.weight[0]._v
            assert float(u @ W @ v) == pytest.approx(float(torch.linalg.svdvals(W)[0]), rel=1e-3)


# ------------------------------------------------------------------------------------------------ critic, W1 dual
def test_trained_critic_estimates_w1_and_is_nearly_lipschitz():
    def p(n, g):
        return torch.randn(n, 1, generator=g)

    def q(n, g):
        return torch.randn(n, 1, generator=g) * 0.3 + 2

    f = critic_mlp(1, (32, 32))
    train_critic(f, p, q, 600, 256, gp_weight=100.0, betas=(0.0, 0.9), one_sided=True)
    g = torch.Generator().manual_seed(5)
    xp, xq = p(20000, g), q(20000, g)
    assert dual_estimate(f, xp, xq) == pytest.approx(w1_sorted(xp, xq), rel=0.1)
    assert lipschitz_lower_bound(f, torch.linspace(-4, 4, 401)[:, None]) < 1.3


def test_spearman():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


# ------------------------------------------------------------------------------------------------ ensembles
def test_ensemble_member_with_gradient_penalty_equals_its_lone_run():
    P = PROTOCOLS["smoke"]
    cfg = P.train_config("WGAN-GP")
    cfg = TrainConfig(**{**cfg.__dict__, "steps": 3, "lr_decay_from": None})
    finals = {}
    for seeds in ([0, 1], [1]):
        G, D = make_ensemble_pair("WGAN-GP", P, seeds)
        train_ensemble(G, D, BENCHMARKS["ring"].sampler(), cfg, "cpu", progress=False)
        finals[tuple(seeds)] = G.head.weight.detach()[-1]
    assert torch.allclose(finals[(0, 1)], finals[(1,)], atol=1e-5)


@pytest.mark.parametrize("method", ["WGAN-GP", "SN-GAN"])
def test_critic_methods_train_on_the_benchmark(method):
    P = PROTOCOLS["smoke"]
    cfg = P.train_config(method)
    assert cfg.loss == ("wasserstein" if method == "WGAN-GP" else "hinge")
    seen = []
    run = train_benchmark(method, BENCHMARKS["ring"], P, range(2), callbacks=[lambda s: seen.append(s.step)])
    assert len(run.scores) == 2 and seen == list(range(1, P.steps + 1))
    assert all(math.isfinite(r.high_quality_fraction) for r in run.scores)


def test_two_sided_penalty_can_trap_a_critic_of_the_wrong_sign_one_sided_does_not():
    # the two-sided penalty's barrier at slope 0: a critic that starts with the wrong slope is held at slope -1
    # (gap -W1) by a large lambda; the one-sided penalty has no barrier and finds the right sign
    def p(n, g):
        return torch.randn(n, 1, generator=g)

    def q(n, g):
        return torch.randn(n, 1, generator=g) * 0.3 + 2

    gaps = {}
    for one_sided in (False, True):
        f = critic_mlp(1, (32, 32), seed=0)
        gaps[one_sided] = train_critic(f, p, q, 300, 256, gp_weight=100.0, betas=(0.0, 0.9), one_sided=one_sided)[-1]
    assert gaps[False] < -1.5 and gaps[True] > 1.5, gaps


def test_the_figures_draw():
    t = np.linspace(0, 1, 5)
    figs = [plot_jsd_vs_w1(t, np.minimum(t, np.log(2)), t, 0.05),
            plot_critics_1d(t, t, 1 - t, {"f": t ** 2}, optimal=-t),
            plot_tracking({"a": {"step": [1, 2, 3], "w1": [3, 2, 1], "signal": [3, 2, 1], "label": "s"}}),
            plot_clip_sweep([0.01, 0.1], [0.9, 0.5], [0.6, 0.7], 0.95)]
    assert all(len(f.axes) >= 1 for f in figs)
    plt.close("all")
