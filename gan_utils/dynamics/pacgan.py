"""PacGAN, a remedy for mode collapse (Lin et al. 2018; book chapter 6, section 6.4).

:class:`PackedDiscriminator`: D sees m samples concatenated (eq. ``eq-ch06-packing``); it works with
:func:`gan_utils.train.train_gan` as long as the batch size is a multiple of m. Vectors are
concatenated along features, images along channels (:func:`pack`).
"""
from __future__ import annotations

import torch
from torch import nn


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """Concatenate groups of m consecutive samples: (B, d) -> (B/m, m d), (B, C, H, W) -> (B/m, m C, H, W)."""
    if m < 1:
        raise ValueError(f"packing degree m must be >= 1, got {m}")
    if x.shape[0] % m != 0:
        raise ValueError(f"batch of {x.shape[0]} samples is not a multiple of the packing degree {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])



class PackedDiscriminator(nn.Module):
    """D_pac(x_1, ..., x_m) = inner(concat(x_1, ..., x_m)) (book eq. ``eq-ch06-packing``).

    ``inner`` must accept the packed input (m times the features or channels). The output has one logit
    per pack, so a batch of B samples gives B/m logits; the GAN losses average over packs.
    """

    def __init__(self, inner: nn.Module, m: int):
        super().__init__()
        if m < 1:
            raise ValueError(f"packing degree m must be >= 1, got {m}")
        self.inner, self.m = inner, m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(pack(x, self.m))
