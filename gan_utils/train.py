"""Algorithm 1 of Goodfellow et al. (2014), book eq. (eq-value) and section "Algorithm 1".

    for each generator step:
        repeat k times:                       # discriminator: ascend V(D, G)
            x ~ p_data (m samples), z ~ p_z (m samples)
            minimise  -[ mean log D(x) + mean log(1 - D(G(z))) ]
        z ~ p_z (m samples)                   # generator: descend its loss
        minimise  g_loss(D(G(z)))             # saturating, non-saturating or LSGAN

Deviations from the paper, stated openly: Adam instead of plain momentum SGD (as nearly every
implementation since DCGAN), and a choice of generator loss (the paper's Algorithm 1 uses the
saturating log(1 - D(G(z))), its text recommends the non-saturating -log D(G(z))).

All randomness (real-batch indices, noise) comes from one ``torch.Generator`` whose state is
saved in checkpoints, so a run resumed from a checkpoint ends bit-identical to an uninterrupted one.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

from gan_utils import losses
from gan_utils.checkpoints import load_checkpoint, save_checkpoint

LOSSES = ("nonsaturating", "saturating", "lsgan")

# sample_real(batch_size, generator) -> tensor of real samples on the training device
RealSampler = Callable[[int, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (stored inside every checkpoint)."""

    steps: int  # generator updates
    z_shape: tuple[int, ...] = (1,)  # shape of one noise vector, e.g. (100, 1, 1) for a DCGAN
    batch_size: int = 64  # m in Algorithm 1
    k: int = 1  # discriminator updates per generator update
    loss: str = "nonsaturating"  # one of LOSSES
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 0
    lsgan_abc: tuple[float, float, float] = (0.0, 1.0, 1.0)  # LSGAN targets a (fake), b (real), c (G)

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss {self.loss!r} unknown; use one of {LOSSES}")
        if self.steps < 0 or self.k < 1 or self.batch_size < 1:
            raise ValueError(f"need steps >= 0, k >= 1, batch_size >= 1: {self}")
        for name in ("z_shape", "betas", "lsgan_abc"):  # JSON round trips give lists
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass
class History:
    """One entry per generator step. d_real/d_fake are mean D(x), D(G(z)) (sigmoid of logits;
    raw outputs for LSGAN); grad norms are the L2 norms of all parameter gradients of the last update."""

    step: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    grad_norm_d: list[float] = field(default_factory=list)
    grad_norm_g: list[float] = field(default_factory=list)

    def append(self, **values: float) -> None:
        for key, value in values.items():
            getattr(self, key).append(value)

    def as_dict(self) -> dict[str, list[float]]:
        return dataclasses.asdict(self)

    def __len__(self) -> int:
        return len(self.step)


@dataclass
class TrainState:
    """What callbacks receive after every generator step."""

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    config: TrainConfig
    history: History
    rng: torch.Generator
    device: torch.device
    step: int = 0  # generator steps completed


Callback = Callable[[TrainState], None]


def every(n: int, fn: Callback) -> Callback:
    """Wrap a callback so it runs only after every n-th generator step."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return lambda state: fn(state) if state.step % n == 0 else None


def sample_noise(n: int, z_shape: tuple[int, ...], device: torch.device | str, generator: torch.Generator | None = None) -> torch.Tensor:
    """z ~ p_z = N(0, I), made directly on ``device``: shape (n, *z_shape)."""
    return torch.randn((n, *z_shape), device=device, generator=generator)


def tensor_sampler(data: torch.Tensor) -> RealSampler:
    """Sample batches (with replacement) from a tensor resident on the training device."""
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        idx = torch.randint(len(data), (n,), device=data.device, generator=generator)
        return data[idx]
    return sample


def grad_norm(model: nn.Module) -> float:
    """L2 norm of all parameter gradients of ``model`` (0 if none)."""
    norms = [p.grad.detach().norm() for p in model.parameters() if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0


def _check_finite(value: float, what: str, step: int, config: TrainConfig) -> None:
    if not math.isfinite(value):
        raise FloatingPointError(
            f"{what} became {value} at generator step {step} (loss={config.loss}, "
            f"lr_d={config.lr_d}, lr_g={config.lr_g}); lower the learning rates or check the data scaling"
        )


def _make_optimizers(G: nn.Module, D: nn.Module, config: TrainConfig) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=config.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas)
    return opt_g, opt_d


def _d_objective(config: TrainConfig, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    if config.loss == "lsgan":
        a, b, _ = config.lsgan_abc
        return losses.lsgan_d_loss(real_out, fake_out, a=a, b=b)
    return losses.d_loss(real_out, fake_out)


def _g_objective(config: TrainConfig, fake_out: torch.Tensor) -> torch.Tensor:
    if config.loss == "lsgan":
        return losses.lsgan_g_loss(fake_out, c=config.lsgan_abc[2])
    return losses.GENERATOR_LOSSES[config.loss](fake_out)


def _d_value(config: TrainConfig, out: torch.Tensor) -> float:
    return float(out.mean() if config.loss == "lsgan" else torch.sigmoid(out).mean())


def save_train_state(path: str | Path, state: TrainState) -> str:
    """Checkpoint a run (models, optimizers, RNG, history, config); returns the sha256."""
    return save_checkpoint(
        path,
        models={"G": state.G, "D": state.D},
        optimizers={"G": state.opt_g, "D": state.opt_d},
        config=state.config,
        step=state.step,
        tensors={"rng_state": state.rng.get_state()},
        extra={"history": state.history.as_dict()},
    )


def train_gan(
    G: nn.Module,
    D: nn.Module,
    sample_real: RealSampler,
    config: TrainConfig,
    device: torch.device | str,
    *,
    callbacks: Iterable[Callback] = (),
    checkpoint_path: str | Path | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    progress: bool = True,
) -> History:
    """Run Algorithm 1 for ``config.steps`` generator steps and return the history.

    ``G`` maps noise of shape (B, *z_shape) to samples; ``D`` maps samples to logits (B, 1).
    With ``checkpoint_path`` and ``checkpoint_every`` > 0 the state is saved every that many steps
    and at the end; with ``resume=True`` an existing checkpoint there is loaded first and training
    continues from its step. Raises ``FloatingPointError`` naming the step if a loss is NaN/inf.
    """
    device = torch.device(device)
    G.to(device).train()
    D.to(device).train()
    opt_g, opt_d = _make_optimizers(G, D, config)
    rng = torch.Generator(device=device).manual_seed(config.seed)
    state = TrainState(G, D, opt_g, opt_d, config, History(), rng, device)

    if resume and checkpoint_path is not None and Path(checkpoint_path).with_suffix(".json").exists():
        ckpt = load_checkpoint(checkpoint_path, device=device, models={"G": G, "D": D},
                               optimizers={"G": opt_g, "D": opt_d})
        wanted = json.loads(json.dumps(dataclasses.asdict(config))) | {"steps": ckpt.config["steps"]}
        if ckpt.config != wanted:
            raise ValueError(f"checkpoint {checkpoint_path} was made with a different config: {ckpt.config}")
        rng.set_state(ckpt.tensors["rng_state"].cpu())
        state.step = ckpt.step
        state.history = History(**ckpt.extra["history"])

    m = config.batch_size
    bar = tqdm(total=config.steps, initial=state.step, desc=f"GAN ({config.loss}, k={config.k})",
               disable=not progress, leave=True)
    while state.step < config.steps:
        for _ in range(config.k):
            real = sample_real(m, rng)
            z = sample_noise(m, config.z_shape, device, rng)
            with torch.no_grad():
                fake = G(z)
            real_out, fake_out = D(real), D(fake)
            loss_d = _d_objective(config, real_out, fake_out)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        d_val = float(loss_d.detach())
        _check_finite(d_val, "discriminator loss", state.step + 1, config)  # 1-based, as in History
        gn_d = grad_norm(D)

        z = sample_noise(m, config.z_shape, device, rng)
        fake_out_g = D(G(z))
        loss_g = _g_objective(config, fake_out_g)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        g_val = float(loss_g.detach())
        _check_finite(g_val, "generator loss", state.step + 1, config)

        state.step += 1
        state.history.append(step=state.step, d_loss=d_val, g_loss=g_val,
                             d_real=_d_value(config, real_out.detach()),
                             d_fake=_d_value(config, fake_out.detach()),
                             grad_norm_d=gn_d, grad_norm_g=grad_norm(G))
        if checkpoint_path is not None and checkpoint_every > 0 and (
            state.step % checkpoint_every == 0 or state.step == config.steps
        ):
            save_train_state(checkpoint_path, state)
        for callback in callbacks:
            callback(state)
        bar.update(1)
    bar.close()
    return state.history
