"""Many seeds at once: S independent runs of one small network trained as one batched network.

A small MLP GAN on a CPU spends its time in per-call overhead (kernel launches, Python, the optimiser's
bookkeeping), not in arithmetic, so ten seeds run one after the other cost almost ten times what one
batched run of ten *members* costs (``benchmarks/ensemble.py`` measures the ratio; book chapter 6).

Member s of an ensemble is exactly the run seed s would make alone, up to floating-point rounding
(``tests/test_ensemble.py`` checks it):

* its weights come from its own generator (:func:`init_seed`), so they do not depend on the other
  members;
* every layer is batched over a leading member axis: inputs are (S, B, features), a linear layer
  holds S weight matrices and multiplies with one ``torch.baddbmm``, BatchNorm normalises each
  member's batch with its own statistics, maxout takes its maximum per member;
* its real batches and noise come from its own generator (:func:`data_seed`);
* the loss is the *sum* over members of each member's mean loss, so a member's gradient is the
  gradient of its own loss; and Adam is elementwise, so one Adam over the stacked parameters is S
  independent Adams (:func:`ensemble_adam`).

:func:`train_ensemble` runs :func:`gan_utils.step.gan_step` (the book's one training step) on the
batched networks; it is a lean harness (no checkpoints, DDP or autocast, which
:func:`gan_utils.train.train_gan` adds for the image chapters) because the members' data and noise
come from S generators instead of one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence, cast

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from gan_utils.step import Module, gan_step
from gan_utils.train import RealSampler, TrainConfig, _d_objective, _g_objective, critic_hooks, learning_rate_factor

HIDDEN_ACTIVATIONS = ("relu", "leaky_relu", "maxout")


def init_seed(seed: int) -> int:
    """Seed of the generator that draws member ``seed``'s initial weights (distinct from its data stream)."""
    return 2 * seed + 1


def data_seed(seed: int) -> int:
    """Seed of the generator that draws member ``seed``'s real batches and noise."""
    return 2 * seed


class BatchedLinear(nn.Module):
    """S affine maps at once: x (S, B, in) -> x @ W_s + b_s, (S, B, out), with one ``baddbmm``."""

    def __init__(self, members: int, in_dim: int, out_dim: int, bias: bool = True):
        super().__init__()
        if members < 1 or in_dim < 1 or out_dim < 1:
            raise ValueError(f"need members, in_dim, out_dim >= 1, got {members}, {in_dim}, {out_dim}")
        self.weight = nn.Parameter(torch.empty(members, in_dim, out_dim))
        self.bias = nn.Parameter(torch.zeros(members, 1, out_dim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(x, self.weight)
        return torch.baddbmm(self.bias, x, self.weight)


class BatchedBatchNorm(nn.Module):
    """BatchNorm over each member's batch: x (S, B, F) normalised with the mean and (biased) variance
    over B of its own member, then scaled and shifted per member; running statistics per member
    (updated as running <- (1 - momentum) running + momentum batch, the variance unbiased, as
    ``torch.nn.BatchNorm1d``), used in eval mode."""

    def __init__(self, members: int, features: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        if not 0 < momentum <= 1:
            raise ValueError(f"momentum must be in (0, 1], got {momentum}")
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(members, 1, features))
        self.bias = nn.Parameter(torch.zeros(members, 1, features))
        self.register_buffer("running_mean", torch.zeros(members, 1, features))
        self.register_buffer("running_var", torch.ones(members, 1, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (S, B, F) -> (B, S F): PyTorch's own batch_norm normalises each of the S F columns over the batch
        # (3x faster on the CPU than var_mean over dim 1 at these sizes) and updates the running statistics
        # in place through the flat views of the (S, 1, F) buffers.
        S, n, features = x.shape
        if self.training and n < 2:
            raise ValueError("BatchNorm in training mode needs at least 2 samples per member")
        flat = x.transpose(0, 1).reshape(n, S * features)
        y = F.batch_norm(flat, cast(torch.Tensor, self.running_mean).view(-1),
                         cast(torch.Tensor, self.running_var).view(-1), self.weight.view(-1), self.bias.view(-1),
                         self.training, self.momentum, self.eps)
        return y.view(n, S, features).transpose(0, 1)


class Maxout(nn.Module):
    """Maxout (Goodfellow et al. 2013): (S, B, pieces * out) -> (S, B, out), output unit j the maximum of
    the features j, out + j, ..., (pieces - 1) out + j of the linear layer before it. (Which features
    form a unit's pieces is a labelling; this strided one reduces over contiguous blocks, which makes
    the maximum's backward pass about 1.7x faster on the CPU than consecutive pieces.)"""

    def __init__(self, pieces: int):
        super().__init__()
        if pieces < 2:
            raise ValueError(f"maxout needs at least 2 pieces, got {pieces}")
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.pieces, x.shape[-1] // self.pieces)).amax(dim=-2)


@dataclass(frozen=True)
class EnsembleMLPConfig:
    """A fully connected network in_dim -> hidden[0] -> ... -> hidden[-1] -> out_dim, one per member.

    ``activation``: relu, leaky_relu (slope 0.2) or maxout (each hidden layer is linear to
    ``hidden[i] * maxout_pieces`` features followed by a maximum over the pieces). ``batchnorm``:
    BatchNorm before each hidden activation (momentum ``bn_momentum``). ``hidden_bias``: biases in the
    hidden layers (the output layer always has one). ``init_std``: weights ~ N(0, init_std^2) and
    zero biases; ``None``: PyTorch's ``nn.Linear`` default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
    weights and biases (maxout layers count fan_in of the underlying linear map). ``head_extra``:
    extra inputs of the output layer that a wrapper appends to the last hidden layer (the minibatch
    standard deviation of chapter 6).
    """

    in_dim: int
    out_dim: int
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "relu"
    maxout_pieces: int = 5
    batchnorm: bool = False
    bn_momentum: float = 0.1
    hidden_bias: bool = True
    init_std: float | None = None
    head_extra: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(self.hidden))
        if self.in_dim < 1 or self.out_dim < 1 or not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"all widths must be positive and at least one hidden layer given: {self}")
        if self.activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} unknown; use one of {HIDDEN_ACTIVATIONS}")
        if self.init_std is not None and self.init_std <= 0:
            raise ValueError(f"init_std must be positive or None, got {self.init_std}")
        if self.head_extra < 0:
            raise ValueError(f"head_extra must be >= 0, got {self.head_extra}")


class EnsembleMLP(nn.Module):
    """``len(seeds)`` MLPs of one :class:`EnsembleMLPConfig`, batched: x (S, B, in_dim) -> (S, B, out_dim).

    Member s is initialised from ``torch.Generator().manual_seed(init_seed(seeds[s]))`` alone.
    :meth:`features` is the last hidden layer (S, B, hidden[-1]); :attr:`head` the output layer.
    """

    def __init__(self, config: EnsembleMLPConfig, seeds: Sequence[int]):
        super().__init__()
        seeds = [int(s) for s in seeds]
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"need at least one seed and no repeats, got {seeds}")
        self.config, self.seeds = config, tuple(seeds)
        S, c = len(seeds), config
        widths = (c.in_dim, *c.hidden)
        layers: list[nn.Module] = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            pieces = c.maxout_pieces if c.activation == "maxout" else 1
            layers.append(BatchedLinear(S, w_in, w_out * pieces, bias=c.hidden_bias))
            if c.batchnorm:
                layers.append(BatchedBatchNorm(S, w_out * pieces, momentum=c.bn_momentum))
            layers.append(Maxout(pieces) if c.activation == "maxout" else
                          nn.ReLU() if c.activation == "relu" else nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)
        self.head = BatchedLinear(S, widths[-1] + c.head_extra, c.out_dim)
        self._initialise()

    @property
    def members(self) -> int:
        return len(self.seeds)

    @torch.no_grad()
    def _initialise(self) -> None:
        linears = [m for m in self.modules() if isinstance(m, BatchedLinear)]
        for s, seed in enumerate(self.seeds):
            g = torch.Generator().manual_seed(init_seed(seed))
            for lin in linears:  # in construction order: the same draws whatever the other members are
                w = lin.weight[s]
                if self.config.init_std is None:
                    bound = 1 / math.sqrt(w.shape[0])
                    w.copy_(torch.rand(w.shape, generator=g) * 2 * bound - bound)
                    if lin.bias is not None:
                        lin.bias[s].copy_(torch.rand(lin.bias[s].shape, generator=g) * 2 * bound - bound)
                else:
                    w.copy_(torch.randn(w.shape, generator=g) * self.config.init_std)
                    if lin.bias is not None:
                        lin.bias[s].zero_()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[0] != self.members or x.shape[2] != self.config.in_dim:
            raise ValueError(f"expected input of shape ({self.members}, B, {self.config.in_dim}), got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.head_extra:
            raise ValueError("this network's output layer expects extra inputs: call it through its wrapper")
        return self.head(self.features(x))


def members_of(module: nn.Module) -> int:
    """The number of members of a batched network (its first :class:`BatchedLinear`'s leading axis)."""
    for m in module.modules():
        if isinstance(m, BatchedLinear):
            return m.weight.shape[0]
    raise ValueError(f"{type(module).__name__} holds no BatchedLinear layer")


def member_state(module: nn.Module, member: int) -> dict[str, torch.Tensor]:
    """Member ``member``'s parameters and buffers (copies, leading axis removed), by name."""
    return {name: t[member].detach().clone() for name, t in
            list(module.named_parameters()) + list(module.named_buffers())}


# -------------------------------------------------------------------------------------------------
# Training: Algorithm 1 on all members at once
# -------------------------------------------------------------------------------------------------
@dataclass
class EnsembleState:
    """What callbacks receive after every generator step. ``d_loss``/``g_loss``: per step, the mean
    over members of each member's loss."""

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    config: TrainConfig
    seeds: tuple[int, ...]
    rngs: list[torch.Generator]
    device: torch.device
    step: int = 0
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)

    def sample_real(self, sample_real: RealSampler, n: int) -> torch.Tensor:
        """(S, n, ...): n real samples per member, each from its own stream."""
        return torch.stack([sample_real(n, g) for g in self.rngs])

    def sample_noise(self, n: int) -> torch.Tensor:
        """(S, n, *z_shape): z ~ N(0, I) per member, each from its own stream."""
        return torch.stack([torch.randn((n, *self.config.z_shape), device=self.device, generator=g)
                            for g in self.rngs])


def ensemble_adam(params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """Adam with its fused implementation (one pass over each tensor; on the CPU about twice as fast as
    ``foreach`` for the ensembles' large stacked tensors), or ``foreach`` where this PyTorch lacks it."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError):  # an older PyTorch without fused Adam on this device
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


EnsembleCallback = Callable[[EnsembleState], None]


def train_ensemble(G: nn.Module, D: nn.Module, sample_real: RealSampler, config: TrainConfig,
                   device: torch.device | str, *, callbacks: Iterable[EnsembleCallback] = (),
                   progress: bool = True, d_for_g: Callable[[EnsembleState], Module] | None = None,
                   desc: str = "ensemble") -> EnsembleState:
    """Run Algorithm 1 (:func:`gan_utils.step.gan_step`) for ``config.steps`` generator steps on every
    member of the batched G and D at once; returns the final :class:`EnsembleState`.

    G maps noise (S, B, *z_shape) to samples (S, B, ...), D samples to logits (S, B', 1); G's members
    are its seeds (``G.seeds``), member s drawing its data and noise from ``data_seed(seed)``.
    ``config.seed`` is not used (each member has its own); ``config.lr_decay_from`` decays both learning
    rates linearly as in :func:`gan_utils.train.train_gan`. The D and G losses are
    ``config.loss``'s, summed over members (each member's own mean loss). ``d_for_g(state)``: the
    discriminator at which G's loss is taken (default D; the Unrolled GAN's look-ahead D).
    """
    device = torch.device(device)
    seeds = tuple(getattr(G, "seeds", ()))
    S = members_of(G)
    if len(seeds) != S or members_of(D) != S:
        raise ValueError(f"G ({S} members, seeds {seeds}) and D ({members_of(D)} members) must agree")
    G.to(device).train()
    D.to(device).train()
    opt_g, opt_d = (ensemble_adam(M.parameters(), lr, config.betas) for M, lr in ((G, config.lr_g), (D, config.lr_d)))
    rngs = [torch.Generator(device=device).manual_seed(data_seed(s)) for s in seeds]
    state = EnsembleState(G, D, opt_g, opt_d, config, seeds, rngs, device)

    def d_obj(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return S * _d_objective(config, real_out, fake_out)  # = sum over members of their mean losses

    def g_obj(fake_out: torch.Tensor) -> torch.Tensor:
        return S * _g_objective(config, fake_out)

    def draw_eps(real: torch.Tensor) -> torch.Tensor:  # uniform interpolation weights, (S, B, 1, ...) per member
        shape = (real.shape[1], *[1] * (real.dim() - 2))
        return torch.stack([torch.rand(shape, device=device, generator=g) for g in rngs])

    d_penalty, after_d_step = critic_hooks(config, D, draw_eps, scale=S, batch_dims=2)  # chapter 11 (default off)
    bar = tqdm(total=config.steps, desc=f"{desc} ({S} seeds)", disable=not progress, leave=False)
    while state.step < config.steps:
        if config.lr_decay_from is not None:  # the harness's linear decay (gan_utils.train.learning_rate_factor)
            factor = learning_rate_factor(config, state.step)
            for opt, lr in ((opt_g, config.lr_g), (opt_d, config.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = lr * factor
        out = gan_step(G, D, opt_g, opt_d, lambda n: state.sample_real(sample_real, n), state.sample_noise,
                       config.batch_size, config.k, d_obj, g_obj,
                       d_for_g=None if d_for_g is None else lambda: d_for_g(state),
                       d_penalty=d_penalty, after_d_step=after_d_step)
        d_val, g_val = (torch.stack([out.d_loss.detach(), out.g_loss.detach()]) / S).tolist()
        if not (math.isfinite(d_val) and math.isfinite(g_val)):
            raise FloatingPointError(f"a loss became non-finite at generator step {state.step + 1} "
                                     f"(d {d_val}, g {g_val}); lower the learning rates")
        state.step += 1
        state.d_loss.append(d_val)
        state.g_loss.append(g_val)
        for callback in callbacks:
            callback(state)
        bar.update(1)
    bar.close()
    return state


@torch.no_grad()
def ensemble_generate(G: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) for every member in eval mode (BatchNorm uses its running statistics), without gradients:
    z (n, z_dim) is given to every member (-> (S, n, ...)), or z (S, n, z_dim) one batch per member."""
    S = members_of(G)
    if z.dim() == 2:
        z = z.unsqueeze(0).expand(S, *z.shape)
    was_training = G.training
    G.eval()
    try:
        return G(z)
    finally:
        G.train(was_training)
