"""One iteration of Algorithm 1 of Goodfellow et al. (2014) (book eq. ``eq-value``, section "Algorithm 1").

:func:`gan_step` is the algorithm and nothing else; :func:`gan_utils.train.train_gan` is the harness
around it (devices, DistributedDataParallel, bf16 autocast, learning-rate decay, history, checkpoints,
callbacks). The book's chapter 2 shows :func:`gan_step` from this file.
"""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Callable, NamedTuple

import torch
from torch import nn

Module = Callable[[torch.Tensor], torch.Tensor]  # a network, or a wrapper of one (DDP, torch.compile)


class StepResult(NamedTuple):
    """What one iteration leaves behind: both losses and D's outputs on the last real and fake batch."""

    d_loss: torch.Tensor
    g_loss: torch.Tensor
    d_real: torch.Tensor
    d_fake: torch.Tensor


def gan_step(G: Module, D: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
             sample_real: Callable[[int], torch.Tensor], sample_z: Callable[[int], torch.Tensor], m: int, k: int,
             d_loss: Callable[..., torch.Tensor], g_loss: Callable[[torch.Tensor], torch.Tensor], *,
             G_update: Module | None = None, D_update: Module | None = None,
             d_for_g: Callable[[], Module] | None = None,
             forward: Callable[[], AbstractContextManager] = nullcontext,
             d_penalty: Callable[[Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
             after_d_step: Callable[[], None] | None = None) -> StepResult:
    """One iteration of Algorithm 1: k discriminator updates, then one generator update.

    ``G`` and ``D`` serve where nothing of theirs is updated (G under ``no_grad`` in D's step, D in G's
    step), ``G_update`` and ``D_update`` (default: the same) where their weights are trained (the harness
    passes DistributedDataParallel wrappers). ``d_for_g()`` returns the discriminator at which G's loss is
    taken (default: D; the Unrolled GAN's look-ahead D). ``forward()``: context of the forward passes
    (bf16 autocast); the losses are computed in float32.

    Chapter 11's critics add two optional hooks, both off by default: ``d_penalty(D_update, x, fake)`` is
    added to D's loss in each of the k updates (the gradient penalty of WGAN-GP, book eq.
    ``eq-ch11-gp``), and ``after_d_step()`` runs after each D update (weight clipping of WGAN, book
    eq. ``eq-ch11-clip``).
    """
    # -----------------------------------------------------------------------------------------------
    # D ascends  V(D, G) = E_x~p_data[log D(x)] + E_z~p_z[log(1 - D(G(z)))]  k times, each on m fresh
    #   x and z (as descent on d_loss = -V, the cross-entropy of D's logits; LSGAN: least squares).
    # G then descends its loss on m fresh z: log(1 - D(G(z))) (saturating: the minimax game),
    #   -log D(G(z)) (non-saturating: the paper's advice) or (D(G(z)) - c)^2 / 2 (LSGAN).
    # Chapter 11: D is a critic f; d_loss = E f(G(z)) - E f(x) (+ a gradient penalty), G's loss -E f(G(z)).
    # -----------------------------------------------------------------------------------------------
    G_update = G if G_update is None else G_update
    D_update = D if D_update is None else D_update
    for _ in range(k):  # (1) the discriminator
        x = sample_real(m)
        with torch.no_grad(), forward():
            fake = G(sample_z(m))
        with forward():
            real_out, fake_out = D_update(x), D_update(fake)
        real_out, fake_out = real_out.float(), fake_out.float()
        loss_d = d_loss(real_out, fake_out)
        if d_penalty is not None:
            loss_d = loss_d + d_penalty(D_update, x, fake)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        if after_d_step is not None:
            after_d_step()

    D_g = D if d_for_g is None else d_for_g()  # (2) the generator
    z = sample_z(m)
    D.requires_grad_(False)  # G's step needs gradients through D, not D's own weight gradients
    try:
        with forward():
            fake_out_g = D_g(G_update(z)).float()
        loss_g = g_loss(fake_out_g)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
    finally:
        D.requires_grad_(True)
    opt_g.step()
    return StepResult(loss_d, loss_g, real_out, fake_out)
