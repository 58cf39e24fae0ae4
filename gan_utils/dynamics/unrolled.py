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

from typing import Iterable

import torch
from torch import nn
from torch.func import functional_call

from gan_utils import losses
from gan_utils.step import Module
from gan_utils.train import Callback, History, RealSampler, TrainConfig, TrainState, sample_noise, train_gan


def unrolled_d_params(D: nn.Module, opt_d: torch.optim.Optimizer, G: nn.Module, sample_real: RealSampler,
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


def unrolled_discriminator(state: TrainState, sample_real: RealSampler, unroll_steps: int) -> Module:
    """D at theta_D^K (:func:`unrolled_d_params`, K = ``unroll_steps``), as a function of samples, with D's buffers."""
    params = unrolled_d_params(state.D, state.opt_d, state.G, sample_real, state.config, unroll_steps,
                               state.rng, state.device)
    weights = {**params, **dict(state.D.named_buffers())}
    return lambda x: functional_call(state.D, weights, (x,))


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
