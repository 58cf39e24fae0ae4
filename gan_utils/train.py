"""The training harness around Algorithm 1 (book eq. (eq-value) and section "Algorithm 1").

:func:`train_gan` runs :func:`gan_utils.step.gan_step`, one iteration of Algorithm 1 (k discriminator
ascent steps on V(D, G), then one generator descent step), ``config.steps`` times, and adds the
engineering: devices, DistributedDataParallel under torchrun, bf16 autocast, channels_last,
torch.compile, learning-rate decay, finite-loss checks, the history, checkpoints and resume,
callbacks and a progress bar.

Deviations from the paper, stated openly: Adam instead of plain momentum SGD (as nearly every
implementation since DCGAN), and a choice of generator loss (the paper's Algorithm 1 uses the
saturating log(1 - D(G(z))), its text recommends the non-saturating -log D(G(z))).

All randomness (real-batch indices, noise) comes from one ``torch.Generator`` whose state is
saved in checkpoints, so a run resumed from a checkpoint ends bit-identical to an uninterrupted one
(:mod:`gan_utils.resume`).

Speed (benchmarks/throughput.py measures each lever; none changes the algorithm):

* always on (a CPU DCGAN run gives bit-identical weights and history with and without them):
  real batches are indexed from a tensor already on the device (:func:`tensor_sampler`: no
  DataLoader, no per-step host copies); Adam's ``foreach`` implementation (one kernel per operation
  over all parameters; bit-identical to the per-parameter loop on the CPU);
  ``zero_grad(set_to_none=True)``; D's parameters are frozen during the generator step (G's
  gradients need gradients through D, not D's weight gradients); the losses take logits
  (``binary_cross_entropy_with_logits``); the history's per-step numbers are read from the device
  once per step (one synchronisation instead of six on a GPU).
* options of :class:`TrainConfig`, off by default: ``channels_last``, ``autocast="bf16"``,
  ``fused_adam`` (CUDA only), ``compile``.

Under ``torchrun`` (a ``torch.distributed`` process group with more than one process) G and D are
wrapped in DistributedDataParallel; see :mod:`gan_utils.distributed`.
"""
from __future__ import annotations

import dataclasses
import math
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, cast

import torch
from torch import nn
from tqdm.auto import tqdm

from gan_utils import distributed as dist_utils
from gan_utils import losses
from gan_utils.resume import restore_train_state, save_train_state
from gan_utils.step import Module, gan_step

LOSSES = ("nonsaturating", "saturating", "lsgan", "wasserstein", "hinge")
CRITIC_LOSSES = ("wasserstein", "hinge")  # D's output is a critic value, not a logit (chapter 11)
AUTOCAST = ("none", "bf16")

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
    # chapter 11: gradient-penalty weight lambda (0: none; WGAN-GP uses 10 with loss="wasserstein") and the
    # weight-clipping bound c of WGAN (None: none; the paper uses 0.01): D's parameters in [-c, c] after each step
    gp_weight: float = 0.0
    gp_one_sided: bool = False  # penalise only gradient norms above 1 (see gan_utils.losses.gradient_penalty)
    clip: float | None = None
    # speed options (see the module docstring and benchmarks/README.md); the defaults keep the plain
    # float32 code path whose results the book's notebooks and the shipped checkpoints were made with
    channels_last: bool = False  # 4-D weights and images in NHWC memory layout (faster convs on many CPUs/GPUs)
    autocast: str = "none"  # "bf16": forward passes in bfloat16 autocast (losses in float32); changes results
    fused_adam: bool = False  # Adam's fused single-kernel update on CUDA (ignored elsewhere: foreach is used)
    compile: bool = False  # torch.compile the forward passes of G and D (meant for CUDA; slow first steps)
    # learning-rate schedule: constant (None), or from this many completed generator steps on, both
    # learning rates decay linearly and reach lr / (steps - lr_decay_from) in the last step
    lr_decay_from: int | None = None

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss {self.loss!r} unknown; use one of {LOSSES}")
        if self.autocast not in AUTOCAST:
            raise ValueError(f"autocast {self.autocast!r} unknown; use one of {AUTOCAST}")
        if self.steps < 0 or self.k < 1 or self.batch_size < 1:
            raise ValueError(f"need steps >= 0, k >= 1, batch_size >= 1: {self}")
        if self.gp_weight < 0 or (self.clip is not None and self.clip <= 0):
            raise ValueError(f"need gp_weight >= 0 and clip None or > 0: {self}")
        if self.lr_decay_from is not None and not 0 <= self.lr_decay_from < self.steps:
            raise ValueError(f"lr_decay_from must be None or in [0, steps): {self}")
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


def sample_noise(n: int, z_shape: tuple[int, ...], device: torch.device | str,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """z ~ p_z = N(0, I), made directly on ``device``: shape (n, *z_shape)."""
    return torch.randn((n, *z_shape), device=device, generator=generator)


def tensor_sampler(data: torch.Tensor) -> RealSampler:
    """Sample batches (with replacement) from a tensor, by indexing it where it lives.

    Keep ``data`` on the training device (:func:`gan_utils.data.load_mnist` does when it fits): then a
    batch is one indexing kernel, with no DataLoader, no collation and no host-to-device copy. The
    indices are drawn on the generator's device (the training device, in :func:`train_gan`); if
    ``data`` lives elsewhere (MNIST too large for the GPU), the batch is copied to that device.
    """
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        idx = torch.randint(len(data), (n,), device=generator.device, generator=generator)
        if idx.device == data.device:
            return data[idx]
        return data[idx.to(data.device)].to(generator.device, non_blocking=True)
    return sample


def grad_norm(model: nn.Module) -> float:
    """L2 norm of all parameter gradients of ``model`` (0 if none)."""
    return float(_grad_norm_tensor(model))


def _check_finite(value: float, what: str, step: int, config: TrainConfig) -> None:
    if not math.isfinite(value):
        raise FloatingPointError(
            f"{what} became {value} at generator step {step} (loss={config.loss}, "
            f"lr_d={config.lr_d}, lr_g={config.lr_g}); lower the learning rates or check the data scaling"
        )


def _make_optimizers(G: nn.Module, D: nn.Module, config: TrainConfig,
                     device: torch.device | None = None) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """Adam for G and D: fused on CUDA when ``config.fused_adam``, else the foreach implementation."""
    fused = bool(config.fused_adam and device is not None and device.type == "cuda")
    impl = {"fused": True} if fused else {"foreach": True}
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=config.betas, **impl)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas, **impl)
    return opt_g, opt_d


def _d_objective(config: TrainConfig, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    if config.loss == "wasserstein":
        return losses.wasserstein_d_loss(real_out, fake_out)
    if config.loss == "hinge":
        return losses.hinge_d_loss(real_out, fake_out)
    if config.loss == "lsgan":
        a, b, _ = config.lsgan_abc
        return losses.lsgan_d_loss(real_out, fake_out, a=a, b=b)
    return losses.d_loss(real_out, fake_out)


def _g_objective(config: TrainConfig, fake_out: torch.Tensor) -> torch.Tensor:
    if config.loss == "wasserstein":
        return losses.wasserstein_g_loss(fake_out)
    if config.loss == "hinge":
        return losses.hinge_g_loss(fake_out)
    if config.loss == "lsgan":
        return losses.lsgan_g_loss(fake_out, c=config.lsgan_abc[2])
    return losses.GENERATOR_LOSSES[config.loss](fake_out)


def _d_value(config: TrainConfig, out: torch.Tensor) -> torch.Tensor:
    return out.mean() if config.loss in ("lsgan", *CRITIC_LOSSES) else torch.sigmoid(out).mean()


def clip_weights_(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` to [-c, c] in place (WGAN's weight clipping, book eq. eq-ch11-clip;
    Arjovsky, Chintala & Bottou 2017, Algorithm 1, line 7)."""
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)


def critic_hooks(config: TrainConfig, D: nn.Module, draw_eps: Callable[[torch.Tensor], torch.Tensor],
                 scale: float = 1.0, batch_dims: int = 1
                 ) -> tuple[Callable[..., torch.Tensor] | None, Callable[[], None] | None]:
    """The two optional hooks of :func:`gan_utils.step.gan_step` that ``config`` asks for: the gradient penalty
    (``config.gp_weight`` > 0; ``draw_eps(real)`` returns the uniform interpolation weights, ``scale`` multiplies
    the penalty: an ensemble's member count) and weight clipping of D (``config.clip``)."""
    penalty = None
    if config.gp_weight > 0:
        def penalty(D_update: Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
            return scale * losses.gradient_penalty(D_update, real.float(), fake.float(), draw_eps(real),
                                                   config.gp_weight, batch_dims, one_sided=config.gp_one_sided)
    clip = config.clip
    after = None if clip is None else (lambda: clip_weights_(D, clip))
    return penalty, after


def _grad_norm_tensor(model: nn.Module) -> torch.Tensor:
    """As :func:`grad_norm`, but a 0-d tensor on the device (read later, with the other numbers)."""
    norms = [p.grad.detach().norm() for p in model.parameters() if p.grad is not None]
    if not norms:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(norms))


def learning_rate_factor(config: TrainConfig, step: int) -> float:
    """Multiplier of lr_g and lr_d for the generator step after ``step`` completed ones: 1, or
    (steps - step) / (steps - lr_decay_from) once ``step`` >= ``config.lr_decay_from`` (linear decay)."""
    if config.lr_decay_from is None or step < config.lr_decay_from:
        return 1.0
    return (config.steps - step) / (config.steps - config.lr_decay_from)


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
    distributed: bool | None = None,
    d_for_g: Callable[[TrainState], Module] | None = None,
) -> History:
    """Run Algorithm 1 for ``config.steps`` generator steps and return the history.

    ``G`` maps noise of shape (B, *z_shape) to samples; ``D`` maps samples to logits (B, 1) or (B,).
    With ``checkpoint_path`` and ``checkpoint_every`` > 0 the state is saved every that many steps
    and at the end; with ``resume=True`` an existing checkpoint there is loaded first and training
    continues from its step. Raises ``FloatingPointError`` naming the step if a loss is NaN/inf.

    ``distributed`` (default: whether a torch.distributed process group of more than one process is
    initialised, e.g. by :func:`gan_utils.distributed.init_from_env` under torchrun) trains G and D as
    DistributedDataParallel modules: rank r draws its batches and noise from seed ``config.seed + r``,
    gradients are averaged over ranks, only rank 0 writes checkpoints and shows the progress bar, and at
    the end every rank holds rank 0's buffers. Callbacks run on every rank (write files only where
    :func:`gan_utils.distributed.is_main_process`); they receive the plain (unwrapped) G and D.

    ``d_for_g(state)``, if given, returns the discriminator at which G's loss is evaluated in each step
    (default: the current D); :func:`gan_utils.dynamics.unrolled.train_unrolled_gan` passes the unrolled D.
    """
    device = torch.device(device)
    if distributed is None:
        distributed = dist_utils.is_distributed()
    if distributed and not dist_utils.is_distributed():
        raise ValueError("distributed=True needs an initialised process group of more than one process "
                         "(start with torchrun and call gan_utils.distributed.init_from_env())")
    rank = dist_utils.get_rank() if distributed else 0
    memory_format = torch.channels_last if config.channels_last else torch.preserve_format
    G.to(device).to(memory_format=memory_format).train()
    D.to(device).to(memory_format=memory_format).train()
    opt_g, opt_d = _make_optimizers(G, D, config, device)
    rng = torch.Generator(device=device).manual_seed(config.seed + rank)
    state = TrainState(G, D, opt_g, opt_d, config, History(), rng, device)

    if resume and checkpoint_path is not None and Path(checkpoint_path).with_suffix(".json").exists():
        restore_train_state(checkpoint_path, state, rank)

    # what the loop calls: G and D themselves, or their DDP wrappers, optionally compiled
    G_train: Module = dist_utils.wrap_ddp(G, device) if distributed else G
    D_train: Module = dist_utils.wrap_ddp(D, device) if distributed else D
    G_eval: Module = G  # G under no_grad (D's step) and D in G's step need no gradient averaging
    D_gstep = D
    if config.compile:
        G_train, D_train, G_eval = torch.compile(G_train), torch.compile(D_train), torch.compile(G_eval)
        D_gstep = cast(nn.Module, torch.compile(D_gstep))  # a compiled module is a module (OptimizedModule)
    use_bf16 = config.autocast == "bf16"
    d_penalty, after_d_step = critic_hooks(  # chapter 11's options (off by default)
        config, D, lambda real: torch.rand((real.shape[0], *[1] * (real.dim() - 1)), device=device, generator=rng))

    def forward():  # autocast context for the forward passes (losses are computed in float32)
        return torch.autocast(device.type, dtype=torch.bfloat16) if use_bf16 else nullcontext()

    def as_images(x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if config.channels_last and x.dim() == 4 else x

    bar = tqdm(total=config.steps, initial=state.step, desc=f"GAN ({config.loss}, k={config.k})",
               disable=not progress or rank != 0, leave=True)
    while state.step < config.steps:
        if config.lr_decay_from is not None:  # set from the step count alone, so a resumed run matches
            factor = learning_rate_factor(config, state.step)
            for opt, lr in ((opt_g, config.lr_g), (opt_d, config.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = lr * factor
        out = gan_step(lambda z: as_images(G_eval(z)), D_gstep, opt_g, opt_d,
                       lambda n: as_images(sample_real(n, rng)), lambda n: sample_noise(n, config.z_shape, device, rng),
                       config.batch_size, config.k, partial(_d_objective, config), partial(_g_objective, config),
                       G_update=lambda z: as_images(G_train(z)), D_update=D_train, forward=forward,
                       d_for_g=None if d_for_g is None else lambda: d_for_g(state),
                       d_penalty=d_penalty, after_d_step=after_d_step)
        # one read from the device per step: losses, D outputs and gradient norms together
        d_val, g_val, d_real, d_fake, gn_d, gn_g = torch.stack([
            out.d_loss.detach(), out.g_loss.detach(), _d_value(config, out.d_real.detach()),
            _d_value(config, out.d_fake.detach()), *(_grad_norm_tensor(M).to(out.d_loss.device) for M in (D, G)),
        ]).tolist()
        _check_finite(d_val, "discriminator loss", state.step + 1, config)  # 1-based, as in History
        _check_finite(g_val, "generator loss", state.step + 1, config)

        state.step += 1
        state.history.append(step=state.step, d_loss=d_val, g_loss=g_val, d_real=d_real, d_fake=d_fake,
                             grad_norm_d=gn_d, grad_norm_g=gn_g)
        if checkpoint_path is not None and checkpoint_every > 0 and (
            state.step % checkpoint_every == 0 or state.step == config.steps
        ):
            save_train_state(checkpoint_path, state)
        for callback in callbacks:
            callback(state)
        bar.update(1)
    bar.close()
    if distributed:  # BatchNorm statistics: each rank's last forward pass used its own batch
        dist_utils.broadcast_buffers_(G)
        dist_utils.broadcast_buffers_(D)
    return state.history
