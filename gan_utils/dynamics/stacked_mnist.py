"""Stacked MNIST: 1,000 modes (Metz et al. 2017; Srivastava et al. 2017; Lin et al. 2018; book chapter 6).

An image is three MNIST digits drawn independently and stacked as the three channels, (3, 28, 28) in
[-1, 1]. Its mode is the digit triple (d_R, d_G, d_B), numbered 100 d_R + 10 d_G + d_B in 0..999.
A generated image's mode is read by classifying each channel with the toolkit classifier
(:mod:`gan_utils.classifier`); the score over N samples is the number of distinct modes found and
KL(q || uniform over 1000) of their histogram (eq. ``eq-ch06-stacked-kl``). The papers use N = 26,000.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import torch

from gan_utils.classifier import MNISTClassifier, classify
from gan_utils.digit_metrics import kl_to_uniform, mean_confidence

N_MODES = 1000
N_EVAL = 26_000


def stacked_sampler(images: torch.Tensor) -> Callable[[int, torch.Generator], torch.Tensor]:
    """``sample_real(n, generator)`` for :func:`gan_utils.train.train_gan`: n stacked images (n, 3, 28, 28),
    each channel an independent uniform draw from ``images`` (N, 1, 28, 28)."""
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"expected MNIST images (N, 1, H, W), got {tuple(images.shape)}")

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        idx = torch.randint(len(images), (n, 3), device=generator.device, generator=generator)
        return images[idx.to(images.device)].squeeze(2).to(generator.device)  # (n, 3, H, W)
    return sample


def stacked_labels(labels: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Mode numbers 100 l[idx0] + 10 l[idx1] + l[idx2] for index triples idx (n, 3)."""
    digits = labels[idx]
    return 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]


def mode_ids(classifier: MNISTClassifier, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Classify each channel of stacked images x (n, 3, 28, 28): mode number per image (n,), int64."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected stacked images (n, 3, 28, 28), got {tuple(x.shape)}")
    digits = [classify(classifier, x[:, c:c + 1], batch_size).probs.argmax(dim=1) for c in range(3)]
    return 100 * digits[0] + 10 * digits[1] + digits[2]


class StackedScore(NamedTuple):
    modes: int  # distinct digit triples found
    kl: float  # KL(q || uniform over the 1000 triples), nats
    counts: np.ndarray  # (1000,)


def score_modes(ids: torch.Tensor | np.ndarray) -> StackedScore:
    """Number of distinct modes and KL to uniform of the histogram of mode numbers (0..999)."""
    ids = np.asarray(torch.as_tensor(ids).cpu())
    if ids.ndim != 1 or ids.size == 0 or ids.min() < 0 or ids.max() >= N_MODES:
        raise ValueError("ids must be a non-empty 1-D array of integers in 0..999")
    counts = np.bincount(ids, minlength=N_MODES)
    return StackedScore(int((counts > 0).sum()), kl_to_uniform(counts), counts)


def channel_confidence(classifier: MNISTClassifier, x: torch.Tensor, batch_size: int = 2000) -> float:
    """Mean per-channel confidence of stacked images x (n, 3, 28, 28): the book's confidence
    E_x max_y p(y|x) (:func:`gan_utils.digit_metrics.mean_confidence`) averaged over the 3 n
    single-channel digits. Near 1 when every channel reads as a clear digit."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected stacked images (n, 3, 28, 28), got {tuple(x.shape)}")
    return float(np.mean([mean_confidence(classify(classifier, x[:, c:c + 1], batch_size).probs)
                          for c in range(3)]))
