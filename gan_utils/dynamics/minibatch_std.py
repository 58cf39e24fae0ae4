"""The minibatch standard deviation, a remedy for mode collapse (Karras et al. 2018; book chapter 6, section 6.4).

:class:`MinibatchStdDiscriminator`: the mean over features of the per-feature standard deviation
within groups of ``group_size`` samples is appended to D's last hidden layer (eq. ``eq-ch06-mbstd``),
so D can see that a batch of fakes is too uniform.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gan_utils.ensemble import EnsembleMLP, EnsembleMLPConfig
from gan_utils.models import ACTIVATIONS, MLP, MLPConfig


def minibatch_std(h: torch.Tensor, group_size: int) -> torch.Tensor:
    """For each group of ``group_size`` consecutive rows of h (..., B, F): the mean over features of the
    within-group standard deviation, repeated for every row of the group -> (..., B, 1). Leading axes
    (a batched ensemble's members) are kept apart."""
    b = h.shape[-2]
    g = min(group_size, b)
    if b % g != 0:
        raise ValueError(f"batch of {b} is not a multiple of the group size {g}")
    grouped = h.reshape(*h.shape[:-2], b // g, g, h.shape[-1])
    sd = torch.sqrt(grouped.var(dim=-2, unbiased=False) + 1e-8).mean(dim=-1)  # (..., B/g)
    return sd.repeat_interleave(g, dim=-1).unsqueeze(-1)



class MinibatchStdDiscriminator(nn.Module):
    """An MLP discriminator whose last hidden layer gets one more feature, the minibatch standard
    deviation of that layer (Karras et al. 2018; book eq. ``eq-ch06-mbstd``): x -> body -> [h, s(h)] -> logit.

    With ``hidden`` equal to the vanilla D's widths it has exactly one more weight than that D.
    """

    def __init__(self, data_dim: int, hidden: tuple[int, ...] = (128, 128), activation: str = "leaky_relu",
                 group_size: int = 4):
        super().__init__()
        if len(hidden) < 1 or group_size < 2:
            raise ValueError("need at least one hidden layer and group_size >= 2")
        self.group_size = group_size
        self.body = nn.Sequential(MLP(MLPConfig(data_dim, hidden[-1], tuple(hidden[:-1]), activation)),
                                  ACTIVATIONS[activation]())
        self.head = nn.Linear(hidden[-1] + 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        return self.head(torch.cat([h, minibatch_std(h, self.group_size)], dim=1))


class EnsembleMinibatchStdDiscriminator(nn.Module):
    """The same remedy for a batched ensemble (:mod:`gan_utils.ensemble`): x (S, B, d) -> features h of
    the last hidden layer -> [h, s(h)] -> logit, each member's groups taken from its own batch.
    ``config`` must have ``head_extra=1`` (the output layer's extra input)."""

    def __init__(self, config: EnsembleMLPConfig, seeds: Sequence[int], group_size: int = 4):
        super().__init__()
        if config.head_extra != 1 or group_size < 2:
            raise ValueError("need config.head_extra == 1 and group_size >= 2")
        self.net, self.group_size = EnsembleMLP(config, seeds), group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net.features(x)
        return self.net.head(torch.cat([h, minibatch_std(h, self.group_size)], dim=-1))
