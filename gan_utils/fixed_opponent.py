"""One player of the game trained against a *fixed* other (book chapters 2, 3, 5 and 6).

Algorithm 1 (:func:`gan_utils.step.gan_step`) alternates the players. Holding one of them fixed isolates
one half of the game:

* :func:`train_discriminator` -- D alone against a fixed p_g: the inner maximisation max_D V(D, G) of
  Algorithm 1, run long. For a rich enough D it approaches D*_G = p_data / (p_data + p_g) (eq.
  ``eq-optimal-d``): Figure 1 (b) in chapter 2, the trained D of chapter 3, the "discriminator wins"
  start of chapter 5, the mistaken objective of the errata.
* :func:`train_generator` -- G alone against a fixed D: Figure 1 (c) in chapter 2; in chapter 6 the best
  response to a fixed D, a point mass on arg max D (eq. ``eq-ch06-best-response``).

Both run the one loop :func:`train_player`: Adam on one player's parameters (the ``foreach``
implementation, as in :func:`gan_utils.train.train_gan`), a fresh minibatch from one seeded
``torch.Generator`` at every step, a constant or geometrically decaying learning rate, a finite-loss
check, a history and callbacks.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

from gan_utils import losses
from gan_utils.train import sample_noise

# sample(n, generator) -> n samples on the training device
Sampler = Callable[[int, torch.Generator], torch.Tensor]


def train_player(model: nn.Module, loss: Callable[[torch.Generator], torch.Tensor], steps: int,
                 device: torch.device | str, *, lr: float, lr_final: float | None = None,
                 betas: tuple[float, float] = (0.9, 0.999), seed: int = 0, name: str = "loss",
                 callbacks: Iterable[Callable[[int, nn.Module], None]] = (), progress: bool = True,
                 desc: str = "one player") -> dict[str, list[float]]:
    """Minimise ``loss(rng)`` over ``model``'s parameters for ``steps`` Adam steps; returns the history.

    ``loss`` draws its minibatch from the ``torch.Generator`` it is given (seeded with ``seed``, on
    ``device``) and returns a scalar. The learning rate is ``lr`` throughout, or with ``lr_final`` it decays
    geometrically from ``lr`` (first step) to ``lr_final`` (last step). ``model`` is moved to ``device``,
    trained in train mode and left in eval mode. Returns ``{"step", name, "lr"}`` (1-based steps, the loss
    and the learning rate of every step); callbacks get ``(step, model)`` after each step. Raises
    ``FloatingPointError`` naming the step if the loss is NaN/inf.
    """
    if steps < 0 or lr <= 0 or (lr_final is not None and lr_final <= 0):
        raise ValueError(f"need steps >= 0, lr > 0 and lr_final None or > 0; got {steps}, {lr}, {lr_final}")
    device = torch.device(device)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=betas, foreach=True)
    sched = None if lr_final is None else torch.optim.lr_scheduler.ExponentialLR(
        opt, gamma=(lr_final / lr) ** (1.0 / max(steps - 1, 1)))
    rng = torch.Generator(device=device).manual_seed(seed)
    history: dict[str, list[float]] = {"step": [], name: [], "lr": []}
    for step in tqdm(range(1, steps + 1), desc=desc, disable=not progress, leave=True):
        value = loss(rng)
        opt.zero_grad(set_to_none=True)
        value.backward()
        history["lr"].append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
        loss_value = float(value.detach())
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"{name} became {loss_value} at step {step}; lower lr (now {lr})")
        history["step"].append(step)
        history[name].append(loss_value)
        for callback in callbacks:
            callback(step, model)
    model.eval()
    return history


def train_discriminator(D: nn.Module, sample_real: Sampler, sample_fake: Sampler, steps: int,
                        device: torch.device | str, *,
                        objective: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = losses.d_loss,
                        batch_size: int = 64, lr: float = 1e-3, lr_final: float | None = None,
                        betas: tuple[float, float] = (0.9, 0.999), seed: int = 0,
                        callbacks: Iterable[Callable[[int, nn.Module], None]] = (),
                        progress: bool = True) -> dict[str, list[float]]:
    """Train D alone against a fixed p_g: minimise ``objective(D(x), D(x_fake))`` by :func:`train_player`.

    Each step draws ``batch_size`` fresh samples from ``sample_real(n, generator)`` (p_data), then from
    ``sample_fake(n, generator)`` (p_g: a fixed distribution's sampler, or a frozen generator applied to
    noise; evaluated without gradients), both from the same generator. The default objective is
    ``gan_utils.losses.d_loss`` = -V (eq-value), whose maximiser over all D is D* (eq-optimal-d); any
    function of D's outputs on the real and the fake batch may be given (e.g. the least-squares loss).
    With ``lr_final`` the learning rate decays geometrically, so the noise of the fresh batches averages
    out and D settles near the optimum. Returns ``{"step", "d_loss", "lr"}``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")

    def d_objective(rng: torch.Generator) -> torch.Tensor:
        real = sample_real(batch_size, rng).to(device)
        with torch.no_grad():
            fake = sample_fake(batch_size, rng).to(device)
        return objective(D(real), D(fake))

    return train_player(D, d_objective, steps, device, lr=lr, lr_final=lr_final, betas=betas, seed=seed,
                        name="d_loss", callbacks=callbacks, progress=progress, desc="D vs fixed p_g")


def train_generator(G: nn.Module, D: Callable[[torch.Tensor], torch.Tensor], steps: int, z_shape: tuple[int, ...],
                    device: torch.device | str, *,
                    objective: Callable[[torch.Tensor], torch.Tensor] = losses.g_loss_nonsaturating,
                    batch_size: int = 64, lr: float = 1e-3, lr_final: float | None = None,
                    betas: tuple[float, float] = (0.9, 0.999), seed: int = 0,
                    callbacks: Iterable[Callable[[int, nn.Module], None]] = (),
                    progress: bool = True) -> dict[str, list[float]]:
    """Train G alone against a fixed D: minimise ``objective(D(G(z)))`` by :func:`train_player`.

    Each step draws ``batch_size`` noise vectors z ~ N(0, I) of shape ``z_shape``. ``D`` maps samples to
    logits: a network (its parameters are frozen during the run and restored afterwards) or any function,
    e.g. a fixed logit a(x). The default objective is the non-saturating -E_z[log D(G(z))]
    (``gan_utils.losses.g_loss_nonsaturating``). Returns ``{"step", "g_loss", "lr"}``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    frozen = [p for p in D.parameters() if p.requires_grad] if isinstance(D, nn.Module) else []

    def g_objective(rng: torch.Generator) -> torch.Tensor:
        return objective(D(G(sample_noise(batch_size, z_shape, device, rng))))

    for p in frozen:
        p.requires_grad_(False)
    try:
        return train_player(G, g_objective, steps, device, lr=lr, lr_final=lr_final, betas=betas, seed=seed,
                            name="g_loss", callbacks=callbacks, progress=progress, desc="G vs fixed D")
    finally:
        for p in frozen:
            p.requires_grad_(True)
