"""Data: MNIST scaled to [-1, 1], and toy distributions whose densities we know exactly.

MNIST comes from ``torchvision.datasets.MNIST`` under the folder ``$GAN_BOOK_DATA`` (default:
``~/.cache/gan_book``). Pixels are mapped from {0..255} to [-1, 1] by x / 127.5 - 1, matching a
generator with a Tanh output (book, chapter 7).

The toy distributions are Gaussian mixtures with exact densities: a 1-D mixture (used from
chapter 1 on), and the two 2-D benchmarks of the mode-collapse literature (Lin et al. 2018,
Table 1): ``ring`` (8 modes on a circle of radius 1, std 0.01) and ``grid`` (25 modes at
{-4, -2, 0, 2, 4}^2, std 0.05).
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, cast

import numpy as np
import torch
from scipy import stats

DATA_ENV = "GAN_BOOK_DATA"


class DataNotFoundError(RuntimeError):
    """Raised with a one-line, actionable message when MNIST is neither on disk nor downloadable."""


def data_root() -> Path:
    """The folder holding ``MNIST/raw``: ``$GAN_BOOK_DATA`` or ``~/.cache/gan_book``."""
    return Path(os.environ.get(DATA_ENV) or Path.home() / ".cache" / "gan_book").expanduser()


class MNISTTensors(NamedTuple):
    images: torch.Tensor  # (N, 1, 28, 28), float32 in [-1, 1]
    labels: torch.Tensor  # (N,), int64 digit classes 0..9


def load_mnist(
    train: bool = True, device: torch.device | str = "cpu", limit: int | None = None
) -> MNISTTensors:
    """Load MNIST as tensors scaled to [-1, 1], resident on ``device`` when they fit.

    Keeping the whole set (188 MB as float32 for the 60 000 training images) on the device lets
    training loops index batches without host-to-device copies. On a CUDA device that has less than
    twice that free, the tensors stay on the CPU instead (with a warning), and callers move batches.
    ``limit`` keeps the first ``limit`` images.
    """
    from torchvision.datasets import MNIST  # noqa: PLC0415  (torchvision is slow to import; only MNIST needs it)

    root = data_root()
    try:
        dataset = MNIST(root=str(root), train=train, download=True)
    except Exception as exc:  # network failure, missing files, corrupt download
        raise DataNotFoundError(
            f"MNIST not found under {root} and download failed ({type(exc).__name__}); "
            f"set {DATA_ENV} to a folder containing MNIST/raw (e.g. ../shared/data)"
        ) from None
    images = dataset.data
    labels = dataset.targets
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    device = _device_if_fits(torch.device(device), images.numel() * 4 + labels.numel() * 8)
    images = images.to(device=device, dtype=torch.float32).div_(127.5).sub_(1.0).unsqueeze(1)
    return MNISTTensors(images=images, labels=labels.to(device=device, dtype=torch.int64))


def _device_if_fits(device: torch.device, nbytes: int) -> torch.device:
    """``device`` if ``nbytes`` take at most half of its free memory (CUDA), else the CPU."""
    if device.type != "cuda":
        return device
    free, _ = torch.cuda.mem_get_info(device)
    if nbytes <= free // 2:
        return device
    warnings.warn(f"MNIST ({nbytes / 2**20:.0f} MiB) does not fit comfortably in the {free / 2**20:.0f} MiB "
                  f"free on {device}; keeping it on the CPU", RuntimeWarning, stacklevel=3)
    return torch.device("cpu")


def _rng_device(generator: torch.Generator | None) -> torch.device:
    """The device random numbers must be drawn on to use ``generator`` (CPU for the global stream)."""
    return torch.device("cpu") if generator is None else generator.device


_SQRT_2PI = math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class GaussianMixture1D:
    """p(x) = sum_k w_k N(x; mu_k, sigma_k^2): a 1-D density we can evaluate, integrate and sample."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    def __post_init__(self) -> None:
        if not (len(self.weights) == len(self.means) == len(self.stds) > 0):
            raise ValueError("weights, means and stds must have the same non-zero length")
        if any(w < 0 for w in self.weights) or not math.isclose(sum(self.weights), 1.0, abs_tol=1e-9):
            raise ValueError(f"weights must be non-negative and sum to 1, got {self.weights}")
        if any(s <= 0 for s in self.stds):
            raise ValueError(f"stds must be positive, got {self.stds}")

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Density at points ``x`` (NumPy, any shape)."""
        x = np.asarray(x, dtype=np.float64)
        # written out instead of stats.norm.pdf: quadrature calls this point by point, and scipy's
        # per-call overhead (~20 us) would dominate
        # a sum over at least one component (__post_init__), so never the start value 0
        return cast(np.ndarray, sum(w * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * _SQRT_2PI)
                                    for w, m, s in zip(self.weights, self.means, self.stds)))

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """log p(x), computed stably with log-sum-exp."""
        x = np.asarray(x, dtype=np.float64)
        comps = np.stack(
            [np.log(w / (s * _SQRT_2PI)) - 0.5 * ((x - m) / s) ** 2
             for w, m, s in zip(self.weights, self.means, self.stds) if w > 0]
        )
        return np.logaddexp.reduce(comps, axis=0)

    def sample(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """Draw ``n`` samples as an (n, 1) float32 tensor on ``device``."""
        if n < 0:
            raise ValueError(f"n must be non-negative, got {n}")
        if n == 0:  # torch.multinomial refuses to draw 0 samples
            return torch.empty(0, 1, dtype=torch.float32, device=device)
        # Draw on the generator's device: train_gan passes a generator on the training device, and a
        # CUDA generator cannot drive CPU sampling. (On the CPU the stream is the same as before.)
        dev = _rng_device(generator)
        dtype = torch.float32 if dev.type == "mps" else torch.float64  # MPS has no float64
        w = torch.tensor(self.weights, dtype=dtype, device=dev)
        k = torch.multinomial(w, n, replacement=True, generator=generator)
        eps = torch.randn(n, generator=generator, dtype=dtype, device=dev)
        means = torch.tensor(self.means, dtype=dtype, device=dev)
        stds = torch.tensor(self.stds, dtype=dtype, device=dev)
        x = means[k] + stds[k] * eps
        return x.to(device=device, dtype=torch.float32).unsqueeze(1)

    def support(self, mass: float = 0.999) -> tuple[float, float]:
        """An interval holding at least ``mass`` of the probability (union of per-component intervals)."""
        z = stats.norm.ppf(0.5 + mass / 2)
        lo = min(m - z * s for m, s in zip(self.means, self.stds))
        hi = max(m + z * s for m, s in zip(self.means, self.stds))
        return lo, hi


class ToyData(NamedTuple):
    """Samples from a 2-D mixture of isotropic Gaussians, with the mixture's parameters."""

    samples: torch.Tensor  # (n, 2)
    means: torch.Tensor  # (K, 2), one row per mode
    std: float  # the standard deviation of every mode, per coordinate
    labels: torch.Tensor  # (n,), which mode drew each sample

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """The exact log p_data(x) of this mixture at points x (m, 2); see :func:`mixture_log_density`."""
        return mixture_log_density(x, self.means, self.std)


def mixture_log_density(x: torch.Tensor, means: torch.Tensor, std: float) -> torch.Tensor:
    """log p(x) of the equal-weight isotropic mixture p(x) = (1/K) sum_k N(x; mu_k, std^2 I).

    log N(x; mu, s^2 I) = -||x - mu||^2 / (2 s^2) - (d/2) log(2 pi s^2); the K terms are combined with
    log-sum-exp, so points far from every mode stay finite. Computed in float64; x is (m, d), means (K, d).
    """
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    x64 = torch.as_tensor(x).to(torch.float64)
    mu = torch.as_tensor(means).to(device=x64.device, dtype=torch.float64)
    if x64.dim() != 2 or mu.dim() != 2 or x64.shape[1] != mu.shape[1]:
        raise ValueError(f"x (m, d) and means (K, d) must agree in d; got {tuple(x64.shape)} and {tuple(mu.shape)}")
    d = x64.shape[1]
    sq = torch.cdist(x64, mu).pow(2)  # (m, K)
    log_comp = -sq / (2 * std**2) - 0.5 * d * math.log(2 * math.pi * std**2)
    return torch.logsumexp(log_comp, dim=1) - math.log(len(mu))


def ring_means(modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    """``modes`` points evenly spaced on a circle.

    Angles are 2*pi*k/modes for k = 0..modes-1. (``linspace(0, 2*pi, modes)`` would repeat the
    first point at 2*pi and give only modes-1 distinct modes.)
    """
    angles = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1).float()


def grid_means(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """side x side points with the given spacing, centred at the origin (side=5: {-4,-2,0,2,4}^2)."""
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    xx, yy = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def sample_mixture(
    n: int, means: torch.Tensor, std: float, generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> ToyData:
    """n samples of the equal-weight isotropic mixture (1/K) sum_k N(mu_k, std^2 I) with ``means`` (K, 2).

    A mode k is drawn uniformly for every sample, then x = mu_k + std * eps with eps ~ N(0, I), both on
    the generator's device (see :meth:`GaussianMixture1D.sample`); the result is moved to ``device``.
    The one sampler of the 2-D benchmarks: :func:`ring`, :func:`grid` and
    :meth:`gan_utils.dynamics.mode_coverage.Benchmark.sample` call it.
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    dev = _rng_device(generator)  # sample where the generator lives (see GaussianMixture1D.sample)
    labels = torch.randint(0, len(means), (n,), generator=generator, device=dev)
    mu = means.to(dev)  # one copy per call: a training loop samples on its device every step
    samples = mu[labels] + std * torch.randn(n, 2, generator=generator, device=dev)
    return ToyData(samples.to(device), mu.to(device), float(std), labels.to(device))


def ring(
    n: int, modes: int = 8, radius: float = 1.0, std: float = 0.01,
    generator: torch.Generator | None = None, device: torch.device | str = "cpu",
) -> ToyData:
    """n samples from the ring of ``modes`` equal-weight Gaussians (PacGAN/VEEGAN benchmark)."""
    return sample_mixture(n, ring_means(modes, radius), std, generator, device)


def grid(
    n: int, side: int = 5, spacing: float = 2.0, std: float = 0.05,
    generator: torch.Generator | None = None, device: torch.device | str = "cpu",
) -> ToyData:
    """n samples from the side x side grid of equal-weight Gaussians (PacGAN/VEEGAN benchmark)."""
    return sample_mixture(n, grid_means(side, spacing), std, generator, device)
