"""The Unrolled GAN, a remedy for mode collapse (book chapter 6, section 6.4).

The other two remedies of that section are :mod:`gan_utils.dynamics.pacgan` and
:mod:`gan_utils.dynamics.minibatch_std`; why the objective allows collapse at all is in
:mod:`gan_utils.dynamics.kl_directions`.

* :func:`train_unrolled_gan` -- Unrolled GAN (Metz et al. 2017): G's loss is evaluated at the
  discriminator obtained after K *differentiable* Adam steps from the current D (eq. ``eq-ch06-unrolled``),
  computed with ``torch.func.functional_call``; G's gradient flows back through the K steps. The
  training loop is :func:`gan_utils.train.train_gan`'s; only the discriminator G sees differs.
  Deviations: the unrolled steps start from the optimizer's current Adam moments (as the paper's code
  does) but use the bias correction of the next step; D's real update is a separate ordinary step.
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn
from torch.func import functional_call

from gan_utils import losses
from gan_utils.ensemble import EnsembleState
from gan_utils.step import Module
from gan_utils.train import Callback, History, RealSampler, TrainConfig, TrainState, sample_noise, train_gan


def unrolled_d_params(D: nn.Module, opt_d: torch.optim.Optimizer,
                      draw_batch: Callable[[], tuple[torch.Tensor, torch.Tensor]],
                      steps: int, d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = losses.d_loss
                      ) -> dict[str, torch.Tensor]:
    """theta_D^K: K differentiable Adam steps on D's loss from the current parameters (eq. ``eq-ch06-unrolled``).

    ``draw_batch()`` returns (real, fake) for one step, the fakes G(z) with G's graph kept; each step's
    gradient is taken with ``create_graph=True``, so the returned parameters are differentiable
    functions of G's parameters. ``d_loss(real_logits, fake_logits)``: D's loss (a batched ensemble
    passes the sum over members).
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
        real, fake = draw_batch()
        state = {**params, **buffers}
        loss = d_loss(functional_call(D, state, (real,)), functional_call(D, state, (fake,)))
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


def look_ahead(D: nn.Module, params: dict[str, torch.Tensor]) -> Module:
    """D at the parameters ``params`` (with D's own buffers), as a function of samples."""
    weights = {**params, **dict(D.named_buffers())}
    return lambda x: functional_call(D, weights, (x,))


def unrolled_discriminator(state: TrainState, sample_real: RealSampler, unroll_steps: int) -> Module:
    """D at theta_D^K (:func:`unrolled_d_params`, K = ``unroll_steps``) for :func:`gan_utils.train.train_gan`:
    each look-ahead step draws a real batch and G(z) from the run's generator."""
    cfg, rng = state.config, state.rng

    def draw() -> tuple[torch.Tensor, torch.Tensor]:
        real = sample_real(cfg.batch_size, rng)
        return real, state.G(sample_noise(cfg.batch_size, cfg.z_shape, state.device, rng))
    return look_ahead(state.D, unrolled_d_params(state.D, state.opt_d, draw, unroll_steps))


def unrolled_ensemble_discriminator(state: EnsembleState, sample_real: RealSampler, unroll_steps: int) -> Module:
    """As :func:`unrolled_discriminator`, for a batched ensemble (:func:`gan_utils.ensemble.train_ensemble`):
    each member's look-ahead batches come from its own stream, D's loss is the sum over members."""
    S, cfg = len(state.seeds), state.config

    def draw() -> tuple[torch.Tensor, torch.Tensor]:
        real = state.sample_real(sample_real, cfg.batch_size)
        return real, state.G(state.sample_noise(cfg.batch_size))
    params = unrolled_d_params(state.D, state.opt_d, draw, unroll_steps,
                               d_loss=lambda r, f: S * losses.d_loss(r, f))
    return look_ahead(state.D, params)


def train_unrolled_gan(G: nn.Module, D: nn.Module, sample_real: RealSampler, config: TrainConfig,
                       device: torch.device | str, unroll_steps: int, *, callbacks: Iterable[Callback] = (),
                       progress: bool = True) -> History:
    """Unrolled GAN (Metz et al. 2017): Algorithm 1 with the generator loss taken at the unrolled D.

    Per generator step: ``config.k`` ordinary Adam steps of D on -V; then G minimises the
    non-saturating loss -E_z[log D_{theta_D^K}(G(z))] where theta_D^K comes from
    :func:`unrolled_d_params` (K = ``unroll_steps``; K = 0 is the vanilla GAN, bit for bit). This is
    :func:`gan_utils.train.train_gan` (the same step and harness) with :func:`unrolled_discriminator` as the
    discriminator G sees; returns its :class:`gan_utils.train.History`, callbacks get its
    :class:`gan_utils.train.TrainState` after each step.
    """
    if unroll_steps < 0:
        raise ValueError(f"unroll_steps must be >= 0, got {unroll_steps}")
    if config.loss != "nonsaturating":
        raise ValueError("train_unrolled_gan implements the non-saturating generator loss only")
    return train_gan(G, D, sample_real, config, device, callbacks=callbacks, progress=progress,
                     d_for_g=lambda state: unrolled_discriminator(state, sample_real, unroll_steps))
