"""Networks. Every model is built from a frozen dataclass config, which checkpoints store, so a
model rebuilds from its file alone (see :mod:`gan_utils.checkpoints`).

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


def mlp_generator(z_dim: int, data_dim: int, hidden: tuple[int, ...] = (128, 128), activation: str = "leaky_relu") -> MLP:
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
        raise KeyError(f"model class {name!r} is not registered; known: {sorted(MODEL_REGISTRY)}")
    module_cls, config_cls = MODEL_REGISTRY[name]
    return module_cls(config_cls(**config_fields))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
