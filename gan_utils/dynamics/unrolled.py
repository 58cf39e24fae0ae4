"""The Unrolled GAN, a remedy for mode collapse (book chapter 6, section 6.4).

The other two remedies of that section are :mod:`gan_utils.dynamics.pacgan` and
:mod:`gan_utils.dynamics.minibatch_std`; why the objective allows collapse at all is in
:mod:`gan_utils.dynamics.kl_directions`.

* :func:`train_unrolled_gan` -- Unrolled GAN (Metz et al. 2017): G's loss is evaluated at the
  discriminator obtained after K *differentiable* Adam steps from the current D (eq. ``eq-ch06-unrolled``),
  computed with ``torch.func.functional_call``; G's gradient flows back through the K steps.
  Deviations: the unrolled steps start from the optimizer's current Adam moments (as the paper's code
  does) but use the bias correction of the next step; D's real update is a separate ordinary step.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from gan_utils import losses
from gan_utils.train import Callback, History, RealSampler, TrainConfig, TrainState, sample_noise


# -------------------------------------------------------------------------------------------------
# Unrolled GAN
# -------------------------------------------------------------------------------------------------


def unrolled_d_params(D: nn.Module, opt_d: torch.optim.Adam, G: nn.Module, sample_real: RealSampler,
                      config: TrainConfig, steps: int, rng: torch.Generator, device: torch.device
                      ) -> dict[str, torch.Tensor]:
    """theta_D^K: K differentiable Adam steps on D's loss from the current parameters (eq. ``eq-ch06-unrolled``).

    The fakes of every step are G(z) with G's graph kept, and each step's gradient is taken with
    ``create_graph=True``, so the returned parameters are differentiable functions of G's parameters.
    """
    lr = opt_d.param_groups[0]["lr"]
    b1, b2 = opt_d.param_groups[0]["betas"]
    eps = opt_d.param_groups[0]["eps"]
    names = [n for n, _ in D.named_parameters()]
    params = {n: p.detach().clone().requires_grad_(True) for n, p in D.named_parameters()}
    moments = {}
    for n, p in D.named_parameters():
        st = opt_d.state.get(p, {})
        moments[n] = (st["exp_avg"].detach(), st["exp_avg_sq"].detach(), float(st["step"])) if st else \
            (torch.zeros_like(p), torch.zeros_like(p), 0.0)
    buffers = dict(D.named_buffers())
    for _ in range(steps):
        real = sample_real(config.batch_size, rng)
        fake = G(sample_noise(config.batch_size, config.z_shape, device, rng))
        state = {**params, **buffers}
        loss = losses.d_loss(functional_call(D, state, (real,)), functional_call(D, state, (fake,)))
        grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=True, allow_unused=True)
        new_params, new_moments = {}, {}
        for n, g in zip(names, grads):
            m, v, t = moments[n]
            if g is None:
                new_params[n], new_moments[n] = params[n], moments[n]
                continue
            t = t + 1
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            new_params[n] = params[n] - lr * m_hat / (torch.sqrt(v_hat + 1e-16) + eps)
            new_moments[n] = (m, v, t)
        params, moments = new_params, new_moments
    return params


def train_unrolled_gan(G: nn.Module, D: nn.Module, sample_real: RealSampler, config: TrainConfig,
                       device: torch.device | str, unroll_steps: int, *, callbacks: Iterable[Callback] = (),
                       progress: bool = True) -> History:
    """Unrolled GAN (Metz et al. 2017): Algorithm 1 with the generator loss taken at the unrolled D.

    Per generator step: ``config.k`` ordinary Adam steps of D on -V; then G minimises the
    non-saturating loss -E_z[log D_{theta_D^K}(G(z))] where theta_D^K comes from
    :func:`unrolled_d_params` (K = ``unroll_steps``; K = 0 is the vanilla GAN). Returns a
    :class:`gan_utils.train.History`; callbacks get a :class:`gan_utils.train.TrainState` after each step.
    """
    if unroll_steps < 0:
        raise ValueError(f"unroll_steps must be >= 0, got {unroll_steps}")
    if config.loss != "nonsaturating":
        raise ValueError("train_unrolled_gan implements the non-saturating generator loss only")
    device = torch.device(device)
    G.to(device).train()
    D.to(device).train()
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=config.betas, foreach=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas, foreach=True)
    rng = torch.Generator(device=device).manual_seed(config.seed)
    state = TrainState(G, D, opt_g, opt_d, config, History(), rng, device)
    m = config.batch_size
    for _ in tqdm(range(config.steps), desc=f"unrolled GAN (K={unroll_steps})", disable=not progress):
        for _ in range(config.k):
            real = sample_real(m, rng)
            with torch.no_grad():
                fake = G(sample_noise(m, config.z_shape, device, rng))
            real_out, fake_out = D(real), D(fake)
            loss_d = losses.d_loss(real_out, fake_out)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        params = unrolled_d_params(D, opt_d, G, sample_real, config, unroll_steps, rng, device)
        fake_out_g = functional_call(D, {**params, **dict(D.named_buffers())},
                                     (G(sample_noise(m, config.z_shape, device, rng)),))
        loss_g = losses.g_loss_nonsaturating(fake_out_g)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        D.zero_grad(set_to_none=True)  # D's leaves were detached; nothing should have reached them
        opt_g.step()
        state.step += 1
        d_val, g_val = float(loss_d.detach()), float(loss_g.detach())
        if not (math.isfinite(d_val) and math.isfinite(g_val)):
            raise FloatingPointError(f"loss became non-finite at generator step {state.step}")
        state.history.append(step=state.step, d_loss=d_val, g_loss=g_val,
                             d_real=float(torch.sigmoid(real_out.detach()).mean()),
                             d_fake=float(torch.sigmoid(fake_out.detach()).mean()),
                             grad_norm_d=0.0, grad_norm_g=0.0)
        for callback in callbacks:
            callback(state)
    return state.history
