"""The 2-D mode-collapse benchmarks of PacGAN (Lin et al. 2018, Table 1; book chapter 6, section 6.3).

* ring: 8 Gaussians, means at angle 2 pi k / 8 on a circle of radius 1, std 0.01;
* grid: 25 Gaussians, means {-4, -2, 0, 2, 4}^2, std 0.05.

A generator is scored on ``n = 2500`` samples with :func:`mode_coverage`, which
follows the authors' released code (``MetricLogger`` of github.com/fjxmlzn/PacGAN): each sample goes to
its nearest mean; it is *high quality* when its Mahalanobis distance to that mean, ||x - mu_k|| / std,
is below 3; a mode is *captured* when it receives at least one high-quality sample; the reverse KL is
KL(q || uniform) of the histogram q of the high-quality samples over the modes (book eq.
``eq-ch06-reverse-kl-hist``). This module adds the benchmark specifications, a scorer for a generator,
the mean +- standard error over seeds, and the published rows (:data:`PUBLISHED`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from gan_utils.data import ToyData, grid_means, ring_means, sample_mixture
from gan_utils.dynamics.minibatch_std import MinibatchStdDiscriminator
from gan_utils.dynamics.pacgan import PackedDiscriminator
from gan_utils.dynamics.unrolled import train_unrolled_gan
from gan_utils.models import MLP, MLPConfig, generate, mlp_discriminator, mlp_generator
from gan_utils.train import train_gan

N_EVAL = 2500  # samples per evaluation in the protocol
THRESHOLD = 3.0  # high quality: within 3 standard deviations of the nearest mean


class ModeCoverage(NamedTuple):
    modes_captured: int  # modes with at least ``min_count`` high-quality samples
    high_quality_fraction: float  # share of samples within ``threshold`` std of their nearest mode
    reverse_kl: float  # KL(q || uniform) of the mode histogram q of the high-quality samples, nats
    counts: np.ndarray  # high-quality samples assigned to each mode


def mode_coverage(
    samples: torch.Tensor | np.ndarray, means: torch.Tensor | np.ndarray, std: float,
    threshold: float = 3.0, min_count: int = 1,
) -> ModeCoverage:
    """Score samples from a mixture of isotropic Gaussians N(mean_k, std^2 I) with equal weights.

    Each sample is assigned to its nearest mean; it is *high quality* when its Mahalanobis distance
    to that mean, ||x - mu_k|| / std, is below ``threshold`` (3 in the protocol). A mode is
    *captured* when at least ``min_count`` high-quality samples are assigned to it. The reverse KL
    is sum_k q_k log(q_k K) for the histogram q over the K modes of the high-quality samples (empty
    bins contribute 0); it is 0 for a perfectly balanced generator and log K when all high-quality
    samples sit on one mode. With no high-quality sample at all it is reported as inf.
    """
    x = torch.as_tensor(samples, dtype=torch.float64).cpu()
    mu = torch.as_tensor(means, dtype=torch.float64).cpu()
    if x.dim() != 2 or mu.dim() != 2 or x.shape[1] != mu.shape[1]:
        raise ValueError(f"samples (n, d) and means (K, d) must agree in d; got {tuple(x.shape)} and {tuple(mu.shape)}")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    dist = torch.cdist(x, mu)  # (n, K)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist / std < threshold
    counts = torch.bincount(nearest[good], minlength=len(mu)).numpy()
    n_good = int(counts.sum())
    if n_good == 0:
        rev_kl = float("inf")
    else:
        q = counts / n_good
        nz = q > 0
        rev_kl = float(np.sum(q[nz] * np.log(q[nz] * len(mu))))
    return ModeCoverage(int((counts >= min_count).sum()), n_good / max(len(x), 1), rev_kl, counts)


@dataclass(frozen=True)
class Benchmark:
    name: str
    means: torch.Tensor  # (K, 2)
    std: float

    @property
    def modes(self) -> int:
        return len(self.means)

    def sample(self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> ToyData:
        """n samples of the equal-weight mixture with their modes (``.samples`` (n, 2), ``.labels`` (n,)),
        by :func:`gan_utils.data.sample_mixture`: the same draws as :func:`gan_utils.data.ring` and
        :func:`gan_utils.data.grid` for the same generator."""
        return sample_mixture(n, self.means, self.std, generator, device)

    def sampler(self) -> Callable[[int, torch.Generator], torch.Tensor]:
        """A ``sample_real(n, generator)`` for :func:`gan_utils.train.train_gan`: the samples (n, 2) only."""
        return lambda n, generator: self.sample(n, generator, generator.device).samples

    def score(self, samples: torch.Tensor) -> ModeCoverage:
        return mode_coverage(samples, self.means, self.std, threshold=THRESHOLD, min_count=1)


BENCHMARKS: dict[str, Benchmark] = {
    "ring": Benchmark("ring", ring_means(8, 1.0), 0.01),
    "grid": Benchmark("grid", grid_means(5, 2.0), 0.05),
}

# Lin et al. (2018), Table 1: mean +- standard error over 10 trials (modes, high-quality %, reverse KL).
PUBLISHED: dict[str, dict[str, tuple[float, float, float]]] = {
    "ring": {"GAN (published)": (6.3, 98.2, 0.45), "PacGAN2 (published)": (7.9, 95.6, 0.07)},
    "grid": {"GAN (published)": (17.3, 94.8, 0.70), "PacGAN4 (published)": (24.8, 93.6, 0.04)},
}


def distinct_points(points: torch.Tensor, tol: float = 1e-6) -> int:
    """How many distinct rows ``points`` (K, d) has, two rows being equal when closer than ``tol``."""
    p = torch.as_tensor(points, dtype=torch.float64)
    d = torch.cdist(p, p)
    keep: list[int] = []
    for i in range(len(p)):
        if all(d[i, j] >= tol for j in keep):
            keep.append(i)
    return len(keep)


@torch.no_grad()
def score_generator(G: torch.nn.Module, benchmark: Benchmark, z_dim: int, n: int = N_EVAL, seed: int = 12345,
                    device: torch.device | str = "cpu") -> ModeCoverage:
    """Draw n samples G(z), z ~ N(0, I) from a fixed seed, and score them (:func:`gan_utils.models.generate`:
    eval mode, one batch)."""
    rng = torch.Generator(device=device).manual_seed(seed)
    return benchmark.score(generate(G, torch.randn(n, z_dim, generator=rng, device=device), batch_size=None))


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (sample sd / sqrt(n); 0 for one value); (inf, 0) if any value is inf."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("need at least one value")
    if not np.isfinite(v).all():  # a run without any high-quality sample has reverse KL = inf
        return float("inf"), 0.0
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0
    return float(v.mean()), se


def results_table(results: dict[str, list[ModeCoverage]],
                  published: dict[str, tuple[float, float, float]] | None = None, title: str = "") -> str:
    """A fixed-width text table: method, modes, high-quality %, reverse KL as mean +- se over runs,
    followed by the published rows (if given)."""
    head = f"{'method':<22}{'runs':>5}{'modes':>16}{'high quality %':>18}{'reverse KL':>18}"
    lines = ([title] if title else []) + [head, "-" * len(head)]
    for name, runs in results.items():
        if not runs:
            raise ValueError(f"method {name!r} has no runs")
        mo = mean_se([r.modes_captured for r in runs])
        hq = mean_se([100 * r.high_quality_fraction for r in runs])
        kl = mean_se([r.reverse_kl for r in runs])
        kl_text = f"{kl[0]:>11.2f} ± {kl[1]:<4.2f}" if math.isfinite(kl[0]) else f"{'inf':>11}{'':7}"
        lines.append(f"{name:<22}{len(runs):>5}{mo[0]:>9.1f} ± {mo[1]:<4.1f}{hq[0]:>11.1f} ± {hq[1]:<4.1f}{kl_text}")
    for name, (p_mo, p_hq, p_kl) in (published or {}).items():
        lines.append(f"{name:<22}{10:>5}{p_mo:>9.1f}{'':7}{p_hq:>11.1f}{'':7}{p_kl:>11.2f}")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------------
# One training run of a named method on a benchmark (the same G and the same D widths for every method)
# -------------------------------------------------------------------------------------------------
METHODS = ("GAN", "Unrolled5", "Unrolled10", "PacGAN2", "PacGAN3", "PacGAN4", "MBStd")


def make_pair(method: str, z_dim: int, hidden_g: tuple[int, ...], hidden_d: tuple[int, ...],
              activation: str = "relu") -> tuple[torch.nn.Module, torch.nn.Module]:
    """G and D for ``method``: PacGANm widens only D's input layer to 2m inputs, MBStd adds one feature."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {METHODS}")
    G = mlp_generator(z_dim, 2, hidden_g, activation)
    D: torch.nn.Module
    if method.startswith("PacGAN"):
        m = int(method[-1])
        D = PackedDiscriminator(MLP(MLPConfig(2 * m, 1, hidden_d, activation)), m)
    elif method == "MBStd":
        D = MinibatchStdDiscriminator(2, hidden_d, activation)
    else:
        D = mlp_discriminator(2, hidden_d, activation)
    return G, D


def train_method(method: str, benchmark: Benchmark, config, hidden_g: tuple[int, ...], hidden_d: tuple[int, ...],
                 device: torch.device | str = "cpu", snapshot_every: int = 0, snapshot_n: int = 1000):
    """Train ``method`` on ``benchmark`` with ``config`` (a :class:`gan_utils.train.TrainConfig`; its
    seed also initialises the networks) and score it. Returns (ModeCoverage, snapshots, G) where
    snapshots is a list of (step, samples) taken every ``snapshot_every`` steps (none if 0)."""
    torch.manual_seed(config.seed)
    z_dim = config.z_shape[0]
    G, D = make_pair(method, z_dim, hidden_g, hidden_d)
    snaps: list[tuple[int, torch.Tensor]] = []

    def snap(state) -> None:
        if snapshot_every and state.step % snapshot_every == 0:
            rng = torch.Generator(device=device).manual_seed(777)
            z = torch.randn(snapshot_n, z_dim, generator=rng, device=device)
            snaps.append((state.step, generate(state.G, z, batch_size=None).cpu()))

    if method.startswith("Unrolled"):
        train_unrolled_gan(G, D, benchmark.sampler(), config, device, int(method[len("Unrolled"):]),
                           callbacks=[snap], progress=False)
    else:
        train_gan(G, D, benchmark.sampler(), config, device, callbacks=[snap], progress=False)
    return score_generator(G, benchmark, z_dim, device=device), snaps, G
