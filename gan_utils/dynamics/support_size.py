"""The birthday-paradox test of support size (Arora & Zhang 2017; book chapter 6, section 6.5).

If a distribution is uniform on N points, a batch of s independent samples contains a repeated point
with probability 1 - prod_{i<s} (1 - i/N) ~ 1 - exp(-s^2 / (2N)) (eq. ``eq-ch06-birthday``), which
reaches 1/2 at s ~ sqrt(2 N log 2) ~ 1.18 sqrt(N). So if batches of s samples contain a duplicate pair
with probability >= 1/2, the support size is about s^2 (the paper's rule; for non-uniform
distributions it is an estimate of an "effective" support, not a bound).

For images "duplicate" means *near*-duplicate: two samples closer than a threshold ``tau`` in pixel
space (Euclidean distance of the [-1, 1] pixels). Arora & Zhang inspected the closest pairs by eye;
here ``tau`` is calibrated on real data (:func:`calibrate_threshold`) and the same test is run on real
images as a reference. Deviation: the decision is automatic, not visual.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch


def closest_pair(x: torch.Tensor) -> tuple[float, int, int]:
    """The smallest Euclidean distance between two different rows of x (n, ...) and their indices."""
    if len(x) < 2:
        raise ValueError("need at least two samples")
    f = x.reshape(len(x), -1).to(torch.float64)
    d = torch.cdist(f, f)
    d.fill_diagonal_(float("inf"))
    flat = int(torch.argmin(d))
    i, j = divmod(flat, len(x))
    return float(d[i, j]), i, j


def nearest_neighbour_distances(x: torch.Tensor) -> torch.Tensor:
    """For each row of x (n, ...), the distance to its nearest other row (n,)."""
    f = x.reshape(len(x), -1).to(torch.float64)
    d = torch.cdist(f, f)
    d.fill_diagonal_(float("inf"))
    return d.min(dim=1).values


def calibrate_threshold(real: torch.Tensor, quantile: float = 0.01) -> float:
    """tau = the ``quantile`` of the nearest-neighbour distances within a set of real samples: in a real
    set of this size, that share of the images has a "near-duplicate" partner."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    return float(torch.quantile(nearest_neighbour_distances(real), quantile))


class BirthdayResult(NamedTuple):
    sizes: np.ndarray  # batch sizes s tried
    collision_prob: np.ndarray  # share of trials whose batch held a pair closer than tau
    s_half: int | None  # smallest s with probability >= 1/2 (None if none reached it)
    support: float | None  # s_half^2


def birthday_test(sample: Callable[[int], torch.Tensor], sizes: Sequence[int], threshold: float,
                  trials: int = 20) -> BirthdayResult:
    """For each batch size s, the share of ``trials`` fresh batches ``sample(s)`` that contain a pair
    of samples closer than ``threshold``; the support estimate is s^2 for the smallest s where that
    share is at least 1/2 (book eq. ``eq-ch06-support``)."""
    if trials < 1 or not sizes or min(sizes) < 2:
        raise ValueError("need trials >= 1 and batch sizes >= 2")
    probs = []
    for s in sizes:
        hits = sum(closest_pair(sample(int(s)))[0] < threshold for _ in range(trials))
        probs.append(hits / trials)
    probs_a = np.asarray(probs)
    idx = np.flatnonzero(probs_a >= 0.5)
    s_half = int(sizes[idx[0]]) if idx.size else None
    return BirthdayResult(np.asarray(sizes), probs_a, s_half, None if s_half is None else float(s_half) ** 2)


def uniform_collision_probability(s: int, n_atoms: int) -> float:
    """P(some repeat among s draws from the uniform distribution on n_atoms points) = 1 - prod (1 - i/N)."""
    if s > n_atoms:
        return 1.0
    i = np.arange(s)
    return float(1 - np.exp(np.sum(np.log1p(-i / n_atoms))))
