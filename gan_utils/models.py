"""Networks: the MLPs of the toy chapters, the registry through which checkpoints rebuild every model,
and what works on any generator (:func:`generate`). The DCGAN of chapter 7 (with its shape table,
``layer_shapes``) is in :mod:`gan_utils.dcgan`, the MNIST classifier in :mod:`gan_utils.classifier`.

Every model is built from a frozen dataclass config, which checkpoints store, so a model rebuilds from
its file alone (see :mod:`gan_utils.checkpoints`); a module defining a model class registers it with
:func:`register_model` when imported.

Discriminators return *logits* a(x); D(x) = sigmoid(a(x)) is never formed inside the network, so
losses can use the numerically stable ``binary_cross_entropy_with_logits``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}


@dataclass(frozen=True)
class MLPConfig:
    """A fully connected network in_dim -> hidden[0] -> ... -> hidden[-1] -> out_dim."""

    in_dim: int
    out_dim: int
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "leaky_relu"

    def __post_init__(self) -> None:
        if self.in_dim <= 0 or self.out_dim <= 0 or any(h <= 0 for h in self.hidden):
            raise ValueError(f"all widths must be positive: {self}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} unknown; use one of {sorted(ACTIVATIONS)}")
        object.__setattr__(self, "hidden", tuple(self.hidden))  # lists from JSON become tuples


class MLP(nn.Module):
    """x (B, in_dim) -> (B, out_dim); a linear last layer (a generator's sample or D's logit)."""

    def __init__(self, config: MLPConfig):
        super().__init__()
        self.config = config
        widths = (config.in_dim, *config.hidden)
        layers: list[nn.Module] = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), ACTIVATIONS[config.activation]()]
        layers.append(nn.Linear(widths[-1], config.out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.config.in_dim:
            raise ValueError(f"expected input of shape (B, {self.config.in_dim}), got {tuple(x.shape)}")
        return self.net(x)


def mlp_generator(z_dim: int, data_dim: int, hidden: tuple[int, ...] = (128, 128),
                  activation: str = "leaky_relu") -> MLP:
    """G: z (B, z_dim) -> x (B, data_dim), unbounded output for toy data."""
    return MLP(MLPConfig(z_dim, data_dim, tuple(hidden), activation))


def mlp_discriminator(data_dim: int, hidden: tuple[int, ...] = (128, 128), activation: str = "leaky_relu") -> MLP:
    """D: x (B, data_dim) -> logit (B, 1); D(x) = sigmoid(logit)."""
    return MLP(MLPConfig(data_dim, 1, tuple(hidden), activation))


# name -> (module class, config class); checkpoints rebuild models through this table.
MODEL_REGISTRY: dict[str, tuple[type[nn.Module], type]] = {"MLP": (MLP, MLPConfig)}


def register_model(name: str, module_cls: type[nn.Module], config_cls: type) -> None:
    """Make a model class known to :func:`gan_utils.checkpoints.load_checkpoint`."""
    MODEL_REGISTRY[name] = (module_cls, config_cls)


def build_model(name: str, config_fields: dict) -> nn.Module:
    """Rebuild a registered model from its class name and config fields."""
    if name not in MODEL_REGISTRY:
        raise KeyError(f"model class {name!r} is not registered (import the module that defines it, e.g. "
                       f"gan_utils.dcgan or gan_utils.classifier); known: {sorted(MODEL_REGISTRY)}")
    module_cls, config_cls = MODEL_REGISTRY[name]
    return module_cls(config_cls(**config_fields))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def generate(G: nn.Module, z: torch.Tensor, batch_size: int | None = 500) -> torch.Tensor:
    """G(z) in eval mode (BatchNorm uses its running statistics), in batches of ``batch_size`` codes
    (``None``: all in one batch), without gradients; the images stay on z's device and G returns to the
    mode it was in.

    ``z`` may have any leading dimensions, a batch (N, ...) or a path (T, N, ...): they are kept, and
    G's output shape is appended. One code is the last axis (..., nz), or, for a generator with
    ``G.config.nz`` (the DCGAN), also (..., nz, 1, 1). The batches run over the flattened leading axes.
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
    nz = getattr(getattr(G, "config", None), "nz", None)
    code_dims = 1
    if nz is not None and z.shape[-1] != nz:
        if z.dim() < 3 or tuple(z.shape[-3:]) != (nz, 1, 1):
            raise ValueError(f"expected codes of shape (..., {nz}) or (..., {nz}, 1, 1), got {tuple(z.shape)}")
        code_dims = 3
    lead = z.shape[:z.dim() - code_dims]
    flat = z.reshape(-1, *z.shape[z.dim() - code_dims:])
    if len(flat) == 0:
        raise ValueError(f"need at least one code, got z of shape {tuple(z.shape)}")
    step = len(flat) if batch_size is None else batch_size
    was_training = G.training
    G.eval()
    try:
        out = torch.cat([G(flat[i:i + step]) for i in range(0, len(flat), step)])
    finally:
        G.train(was_training)
    return out.reshape(*lead, *out.shape[1:])
