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

All distances come from :func:`nearest_neighbour_distances` (also chapter 8's search for the training
image nearest to a sample), which recomputes the nearest candidates from their differences, so that an
exact duplicate is at distance 0 on every CPU.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch


@torch.no_grad()
def nearest_neighbour_distances(queries: torch.Tensor, reference: torch.Tensor | None = None, batch_size: int = 256,
                                candidates: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each row of ``queries`` (N, ...) to its nearest row of ``reference`` (M, ...)
    (rows flattened, e.g. images in pixel space), and that row's index; with ``reference=None``, to its
    nearest *other* row of ``queries`` (one set against itself, as the birthday test needs).

    Two passes, so that the result does not depend on how a CPU or GPU rounds a matrix product. First
    the ``candidates`` nearest rows by ``torch.cdist`` in float32: fast, but for many rows it computes
    ||a||^2 + ||b||^2 - 2 a.b, whose rounding error grows with the norms and differs between CPUs (the
    distance of an image to itself can come out as 1e-3). Then the distances to those candidates are
    recomputed as ||a - b|| from the differences (float64; float32 on MPS) and the smallest is kept, the
    lowest index on ties: an identical row gives exactly 0. Should more than ``candidates`` rows lie
    within float32 rounding of the nearest one's distance, the distance returned is still within twice
    that rounding of the true minimum. Runs on the reference's device; returns float64 distances (N,) and
    int64 indices (N,) as NumPy arrays.
    """
    within = reference is None
    ref = queries if reference is None else reference
    if len(ref) == 0 or len(queries) == 0:
        raise ValueError("need at least one query and one reference row")
    if within and len(queries) < 2:
        raise ValueError("need at least two rows to find each row's nearest other row")
    if batch_size < 1 or candidates < 1:
        raise ValueError(f"batch_size and candidates must be >= 1, got {batch_size}, {candidates}")
    ref = ref.reshape(len(ref), -1)
    q = queries.reshape(len(queries), -1)
    if q.shape[1] != ref.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} entries per row, the reference {ref.shape[1]}")
    device = ref.device
    exact_dtype = torch.float32 if device.type == "mps" else torch.float64
    ref32 = ref.float()
    k = min(candidates + int(within), len(ref))
    dist, idx = [], []
    for start in range(0, len(q), batch_size):
        qb = q[start:start + batch_size].to(device)
        own = torch.arange(start, start + len(qb), device=device)[:, None]  # each query's own row (within)
        approx = torch.cdist(qb.float(), ref32)  # (B, M)
        if within:
            approx.scatter_(1, own, float("inf"))
        cand = approx.topk(k, dim=1, largest=False).indices.sort(dim=1).values  # (B, k), ascending index
        exact = torch.linalg.vector_norm(qb[:, None, :].to(exact_dtype) - ref[cand].to(exact_dtype), dim=2)
        if within:
            exact = exact.masked_fill(cand == own, float("inf"))
        best = exact.argmin(dim=1, keepdim=True)  # the first minimum: the lowest index among ties
        dist.append(exact.gather(1, best)[:, 0].cpu())
        idx.append(cand.gather(1, best)[:, 0].cpu())
    return torch.cat(dist).double().numpy(), torch.cat(idx).numpy()


def closest_pair(x: torch.Tensor) -> tuple[float, int, int]:
    """The smallest Euclidean distance between two different rows of x (n, ...) and their indices i < j
    (:func:`nearest_neighbour_distances` of x against itself; the first such pair on ties)."""
    if len(x) < 2:
        raise ValueError("need at least two samples")
    d, nearest = nearest_neighbour_distances(x)
    i = int(np.argmin(d))
    return float(d[i]), i, int(nearest[i])


def calibrate_threshold(real: torch.Tensor, quantile: float = 0.01) -> float:
    """tau = the ``quantile`` of the nearest-neighbour distances within a set of real samples: in a real
    set of this size, that share of the images has a "near-duplicate" partner."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    return float(torch.quantile(torch.from_numpy(nearest_neighbour_distances(real)[0]), quantile))


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
