"""Tests of the mode-collapse mechanisms and remedies (gan_utils.dynamics) against closed forms, finite
differences and plain loops."""
import math

import numpy as np
import pytest
import torch
from torch.func import functional_call

from gan_utils import losses
from gan_utils.data import GaussianMixture1D
from gan_utils.dynamics.kl_directions import fit_gaussian_kl, gaussian_kl_objective, mixture_moments
from gan_utils.dynamics.minibatch_std import MinibatchStdDiscriminator, minibatch_std
from gan_utils.dynamics.pacgan import PackedDiscriminator, pack
from gan_utils.dynamics.unrolled import train_unrolled_gan, unrolled_d_params
from gan_utils.fixed_opponent import train_generator
from gan_utils.models import MLP, MLPConfig, mlp_discriminator, mlp_generator
from gan_utils.train import TrainConfig, sample_noise, train_gan


def test_forward_kl_fit_is_moment_matching():
    p = GaussianMixture1D((0.3, 0.7), (-1.5, 2.0), (0.5, 0.8))
    mean, std = mixture_moments(p)
    # closed form: E x = sum w m; Var = sum w (s^2 + m^2) - mean^2
    assert mean == pytest.approx(0.3 * -1.5 + 0.7 * 2.0, abs=1e-12)
    mu, s, _ = fit_gaussian_kl(p, "forward", init=(0.0, 1.0))
    assert abs(mu - mean) < 1e-6 and abs(s - std) < 1e-6


def test_kl_objective_matches_closed_form_for_gaussians():
    # KL(N(0,1) || N(1, 2^2)) = log 2 + (1 + 1) / 8 - 1/2
    p = GaussianMixture1D((1.0,), (0.0,), (1.0,))
    x = np.linspace(-15, 15, 30001)
    got = gaussian_kl_objective(p, 1.0, 2.0, "forward", x)
    assert got == pytest.approx(math.log(2) + 2 / 8 - 0.5, abs=1e-9)
    # reverse: KL(N(1, 4) || N(0, 1)) = log(1/2) + (4 + 1) / 2 - 1/2
    assert gaussian_kl_objective(p, 1.0, 2.0, "reverse", x) == pytest.approx(-math.log(2) + 2.5 - 0.5, abs=1e-9)
    with pytest.raises(ValueError):
        gaussian_kl_objective(p, 0.0, 1.0, "sideways", x)


def test_reverse_kl_fit_picks_a_mode():
    p = GaussianMixture1D((0.5, 0.5), (-3.0, 3.0), (0.5, 0.5))
    mu, s, val = fit_gaussian_kl(p, "reverse", init=(1.0, 1.0))
    assert abs(mu - 3.0) < 0.02 and abs(s - 0.5) < 0.02 and abs(val - math.log(2)) < 0.01


def test_pack_shapes_and_order():
    x = torch.arange(12.0).reshape(6, 2)
    packed = pack(x, 3)
    assert torch.equal(packed[0], torch.tensor([0.0, 1, 2, 3, 4, 5]))
    img = torch.randn(4, 1, 5, 5)
    assert pack(img, 2).shape == (2, 2, 5, 5) and torch.equal(pack(img, 2)[1, 0], img[2, 0])
    with pytest.raises(ValueError):
        pack(x, 4)
    D = PackedDiscriminator(MLP(MLPConfig(4, 1, (8,))), 2)
    assert D(torch.randn(10, 2)).shape == (5, 1)


def test_minibatch_std_value_and_discriminator():
    h = torch.tensor([[0.0, 2.0], [2.0, 2.0], [1.0, 0.0], [1.0, 4.0]])
    # groups of 2: group 1 sds (1, 0) -> 0.5; group 2 sds (0, 2) -> 1
    out = minibatch_std(h, 2).squeeze(1)
    assert torch.allclose(out, torch.tensor([0.5, 0.5, 1.0, 1.0]), atol=1e-4)
    D = MinibatchStdDiscriminator(2, (16, 16))
    assert D(torch.randn(8, 2)).shape == (8, 1)
    vanilla = mlp_discriminator(2, (16, 16))
    assert sum(p.numel() for p in D.parameters()) == sum(p.numel() for p in vanilla.parameters()) + 1


def test_packed_and_mbstd_train_with_train_gan():
    for D in (PackedDiscriminator(MLP(MLPConfig(4, 1, (8,))), 2), MinibatchStdDiscriminator(2, (8,))):
        torch.manual_seed(0)
        G = mlp_generator(2, 2, (8,))
        hist = train_gan(G, D, lambda n, g: torch.randn(n, 2, generator=g),
                         TrainConfig(steps=3, z_shape=(2,), batch_size=8), "cpu", progress=False)
        assert len(hist) == 3 and all(math.isfinite(v) for v in hist.g_loss)


def _unrolled_setup():
    torch.manual_seed(0)
    G, D = mlp_generator(2, 2, (8,)), mlp_discriminator(2, (8,))
    return G, D, lambda n, g: torch.randn(n, 2, generator=g) + 1


def test_unrolled_zero_steps_equals_vanilla_exactly():
    cfg = TrainConfig(steps=4, z_shape=(2,), batch_size=16, lr_g=1e-3, lr_d=1e-3, k=2)
    G1, D1, sample = _unrolled_setup()
    h1 = train_unrolled_gan(G1, D1, sample, cfg, "cpu", 0, progress=False)
    G2, D2, _ = _unrolled_setup()
    h2 = train_gan(G2, D2, sample, cfg, "cpu", progress=False)
    for m1, m2 in ((G1, G2), (D1, D2)):
        assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))
    assert h1.as_dict() == h2.as_dict()


def test_unrolled_gan_matches_a_plain_reference_loop():
    """K = 2 look-ahead steps: train_unrolled_gan (the step and harness of train_gan with the unrolled D as
    the discriminator G sees) against Metz et al.'s loop written out, with the same draws in the same order."""
    K, cfg = 2, TrainConfig(steps=3, z_shape=(2,), batch_size=16, lr_g=1e-3, lr_d=2e-3, k=2)
    G, D, sample = _unrolled_setup()
    hist = train_unrolled_gan(G, D, sample, cfg, "cpu", K, progress=False)
    G_ref, D_ref, _ = _unrolled_setup()
    opt_g = torch.optim.Adam(G_ref.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(D_ref.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    rng = torch.Generator().manual_seed(cfg.seed)
    d_ref, g_ref = [], []
    for _ in range(cfg.steps):
        for _ in range(cfg.k):
            real = sample(16, rng)
            with torch.no_grad():
                fake = G_ref(torch.randn(16, 2, generator=rng))
            loss_d = losses.d_loss(D_ref(real), D_ref(fake))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        params = unrolled_d_params(D_ref, opt_d, _draw(G_ref, sample, 16, rng), K)
        fake = G_ref(torch.randn(16, 2, generator=rng))
        loss_g = losses.g_loss_nonsaturating(functional_call(D_ref, params, (fake,)))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        d_ref.append(loss_d.item())
        g_ref.append(loss_g.item())
    assert hist.d_loss == d_ref and hist.g_loss == g_ref
    for m1, m2 in ((G, G_ref), (D, D_ref)):
        assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))
    # and the look-ahead matters: K = 2 ends with other generator weights than K = 0
    G0, D0, _ = _unrolled_setup()
    train_unrolled_gan(G0, D0, sample, cfg, "cpu", 0, progress=False)
    assert not all(torch.equal(a, b) for a, b in zip(G.parameters(), G0.parameters()))


def _draw(G, sample, n, rng):
    """The look-ahead batches of :func:`unrolled_discriminator`: a real batch, then G(z), from one generator."""
    def draw():
        real = sample(n, rng)
        return real, G(sample_noise(n, (2,), "cpu", rng))
    return draw


def _adam_steps_match_unrolled(D, opt, G, sample, params, steps, seed):
    """Take ``steps`` torch.optim.Adam steps of D on the batches unrolled_d_params drew from ``seed``, and
    check that D's parameters equal the unrolled ones (up to the 1e-16 inside the square root)."""
    rng = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        real = sample(16, rng)
        fake = G(sample_noise(16, (2,), "cpu", rng)).detach()
        loss = losses.d_loss(D(real), D(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for n, p in D.named_parameters():
        assert torch.allclose(params[n].detach(), p.detach(), atol=1e-6), n


def test_unrolled_d_params_continue_torch_adam_for_k_steps():
    """From an optimizer with Adam moments already accumulated, K = 3 unrolled steps equal 3 torch.optim.Adam
    steps on the same batches (up to the 1e-16 inside the square root)."""
    G, D, sample = _unrolled_setup()
    opt = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))
    warm = losses.d_loss(D(sample(16, torch.Generator().manual_seed(1))), D(torch.randn(16, 2)))
    warm.backward()
    opt.step()
    params = unrolled_d_params(D, opt, _draw(G, sample, 16, torch.Generator().manual_seed(3)), 3)
    _adam_steps_match_unrolled(D, opt, G, sample, params, 3, seed=3)


def test_unrolled_step_matches_torch_adam_and_is_differentiable():
    torch.manual_seed(0)
    G, D = mlp_generator(2, 2, (8,)), mlp_discriminator(2, (8,))
    opt = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))

    def sample(n, g):
        return torch.randn(n, 2, generator=g)

    rng = torch.Generator().manual_seed(3)
    params = unrolled_d_params(D, opt, _draw(G, sample, 16, rng), 1)
    _adam_steps_match_unrolled(D, opt, G, sample, params, 1, seed=3)  # the same step by torch.optim.Adam
    # the unrolled parameters depend on G: a generator loss through them has a non-zero G gradient
    out = functional_call(D, params, (G(torch.randn(16, 2)),))
    g = torch.autograd.grad(losses.g_loss_nonsaturating(out), list(G.parameters()))
    assert sum(float(t.abs().sum()) for t in g) > 0


def test_best_response_collapses():
    torch.manual_seed(0)
    G = mlp_generator(1, 1, (16,))
    train_generator(G, lambda x: -(x - 1.0) ** 2, 150, (1,), "cpu", batch_size=64, lr=1e-2, betas=(0.5, 0.999),
                    progress=False)
    with torch.no_grad():
        x = G(torch.randn(1000, 1))
    assert abs(float(x.mean()) - 1.0) < 0.1 and float(x.std()) < 0.1
