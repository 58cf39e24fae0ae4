"""PacGAN, a remedy for mode collapse (Lin et al. 2018; book chapter 6, section 6.4).

:class:`PackedDiscriminator`: D sees m samples concatenated (eq. ``eq-ch06-packing``); it works with
:func:`gan_utils.train.train_gan` as long as the batch size is a multiple of m. Vectors are
concatenated along features, images along channels (:func:`pack`).
"""
from __future__ import annotations

import torch
from torch import nn


def pack(x: torch.Tensor, m: int, batch_dim: int = 0) -> torch.Tensor:
    """Concatenate groups of m consecutive samples along the batch axis ``batch_dim``:
    (B, d) -> (B/m, m d), (B, C, H, W) -> (B/m, m C, H, W); with ``batch_dim=1`` a batched ensemble's
    (S, B, d) -> (S, B/m, m d), each member packing its own samples."""
    if m < 1:
        raise ValueError(f"packing degree m must be >= 1, got {m}")
    b = x.shape[batch_dim]
    if b % m != 0:
        raise ValueError(f"batch of {b} samples is not a multiple of the packing degree {m}")
    lead = x.shape[:batch_dim]
    return x.reshape(*lead, b // m, m * x.shape[batch_dim + 1], *x.shape[batch_dim + 2:])



class PackedDiscriminator(nn.Module):
    """D_pac(x_1, ..., x_m) = inner(concat(x_1, ..., x_m)) (book eq. ``eq-ch06-packing``).

    ``inner`` must accept the packed input (m times the features or channels); ``batch_dim=1`` for a
    batched ensemble (:mod:`gan_utils.ensemble`). The output has one logit
    per pack, so a batch of B samples gives B/m logits; the GAN losses average over packs.
    """

    def __init__(self, inner: nn.Module, m: int, batch_dim: int = 0):
        super().__init__()
        if m < 1:
            raise ValueError(f"packing degree m must be >= 1, got {m}")
        self.inner, self.m, self.batch_dim = inner, m, batch_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(pack(x, self.m, self.batch_dim))
