"""Divergences between 1-D densities (book chapters 1-5; defined in chapter 4).

Densities given as callables are integrated by adaptive quadrature (``scipy.integrate.quad``):

* :func:`kl` -- KL(p || q) = integral p log(p / q) dx.
* :func:`jsd` -- JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2      (book eq. ``eq-jsd``)
* :func:`value_at_optimum` -- V(D*_G, G) = integral p_data log D*_G + p_g log(1 - D*_G) dx, computed
  directly from D*_G = p_data / (p_data + p_g) (eq. ``eq-optimal-d``, chapter 3), *not* via the JSD, so
  that it can check C(G) = -log 4 + 2 JSD(p_data || p_g)                              (eq. ``eq-c-of-g``)
* :func:`jsd_shift_derivative` -- d/dtheta JSD(p || q_theta) = 1/2 integral (d q_theta / d theta) log(q_theta / m) dx.
* :func:`normal_pdf`, :func:`mixture_pdf` -- Gaussian and Gaussian-mixture densities as plain NumPy callables
  (quad calls the integrand once per point, so a cheap callable makes the integrals several times faster
  than ``scipy.stats`` frozen distributions).

All logarithms are natural (nats). Densities are callables ``f(x: np.ndarray) -> np.ndarray`` of
float64 values >= 0; ``support = (lo, hi)`` is a finite interval outside which the densities are
negligible. Where a density underflows to 0 the convention 0 log 0 = 0 is used, so narrow or far-apart
densities give finite integrands. Narrow densities can fool an adaptive rule that samples an interval
at 21 points and sees only zeros, so the interval is cut into ``pieces`` equal parts and additionally
at every value c in ``points`` (put the modes there) and at c +- 10^k for k = -6, -3, 0, 3; each
part is integrated separately.

Densities tabulated on a grid (what a kernel density estimate of G's samples gives); the names say
how the integral is taken, the concept keeps its name (``kl``, ``jsd``):

* :func:`kl_on_grid`, :func:`jsd_on_grid` -- the same divergences by the trapezoidal rule on the grid.
* :func:`kde_density` -- a Gaussian kernel density estimate of 1-D samples on a grid.
* :func:`jsd_to_samples` -- JSD(p_data || KDE of samples) on a grid: how far a generator's samples are
  from p_data, the measure chapters 1, 2, 4 and 5 track during training.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from scipy import integrate

from gan_utils.data import GaussianMixture1D
from gan_utils.foundations.optimal_discriminator import optimal_discriminator

Density = Callable[[np.ndarray], np.ndarray]

DEFAULT_PIECES = 4


def normal_pdf(mean: float, std: float) -> Density:
    """The density of N(mean, std^2) as a callable on float64 arrays (a one-component mixture)."""
    if not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    return GaussianMixture1D((1.0,), (float(mean),), (float(std),)).pdf


def mixture_pdf(weights: Sequence[float], means: Sequence[float], stds: Sequence[float]) -> Density:
    """The density of sum_k w_k N(mean_k, std_k^2) as a callable on float64 arrays
    (:meth:`gan_utils.data.GaussianMixture1D.pdf`, which validates the arguments)."""
    return GaussianMixture1D(tuple(map(float, weights)), tuple(map(float, means)), tuple(map(float, stds))).pdf


def _breaks(support: tuple[float, float], points: Sequence[float] | None, pieces: int) -> np.ndarray:
    if len(support) != 2:
        raise ValueError(f"support must be a pair (lo, hi), got {support!r}")
    lo, hi = float(support[0]), float(support[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"support must be a finite interval lo < hi, got ({lo}, {hi})")
    if pieces < 1:
        raise ValueError(f"pieces must be >= 1, got {pieces}")
    # around each hint, cuts at distances 10^-6, 10^-3, 1, 10^3 so that a density of any width
    # >~ 10^-6 centred there lies in a piece at most ~1000 times wider than itself, which the 21-point
    # Gauss-Kronrod rule of quad still sees (its outermost node sits at 0.2% of the piece)
    offsets = 10.0 ** np.arange(-6, math.log10(hi - lo) + 3, 3)
    inner = [float(p) + s for p in (points or ()) for s in (0.0, *offsets, *-offsets)]
    edges = np.concatenate([np.linspace(lo, hi, pieces + 1), inner])
    return np.unique(edges[(edges >= lo) & (edges <= hi)])


def integrate_1d(f: Callable[[np.ndarray], np.ndarray], support: tuple[float, float],
                 points: Sequence[float] | None = None, pieces: int = DEFAULT_PIECES) -> float:
    """integral_lo^hi f(x) dx by ``scipy.integrate.quad`` on each piece (see the module docstring).

    ``f`` takes and returns float64 arrays. Raises ``FloatingPointError`` if f is not finite somewhere.
    """
    def scalar(x: float) -> float:
        value = float(np.asarray(f(np.array([x], dtype=np.float64)), dtype=np.float64).reshape(-1)[0])
        if not math.isfinite(value):
            raise FloatingPointError(f"integrand is {value} at x = {x}")
        return value

    edges = _breaks(support, points, pieces)
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        value, _ = integrate.quad(scalar, a, b, epsabs=1e-13, epsrel=1e-11, limit=200)
        total += value
    return total


def _density(f: Density, x: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(f(x), dtype=np.float64)
    if values.shape != x.shape:
        raise ValueError(f"density {name} returned shape {values.shape} for input of shape {x.shape}")
    if np.isnan(values).any() or (values < 0).any():
        raise ValueError(f"density {name} must be non-negative and not NaN")
    return values


def _p_log_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """p log(p / q) with 0 log(0 / q) = 0 and p log(p / 0) = inf for p > 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)


def kl(p: Density, q: Density, support: tuple[float, float], points: Sequence[float] | None = None,
       pieces: int = DEFAULT_PIECES) -> float:
    """KL(p || q) = integral p(x) log(p(x) / q(x)) dx in nats, by quadrature over ``support``.

    Returns ``inf`` when p > 0 somewhere that q = 0 (at a quadrature node): p is not absolutely
    continuous with respect to q there.
    """
    try:
        return integrate_1d(lambda x: _p_log_ratio(_density(p, x, "p"), _density(q, x, "q")), support, points, pieces)
    except FloatingPointError:
        return float("inf")


def jsd(p: Density, q: Density, support: tuple[float, float], points: Sequence[float] | None = None,
        pieces: int = DEFAULT_PIECES) -> float:
    """JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m) with m = (p + q)/2 (book eq. ``eq-jsd``), in nats.

    Computed literally from the definition, as two KL integrals against the mixture m; 0 <= JSD <= log 2.
    """
    def m(x: np.ndarray) -> np.ndarray:
        return 0.5 * (_density(p, x, "p") + _density(q, x, "q"))

    return 0.5 * kl(p, m, support, points, pieces) + 0.5 * kl(q, m, support, points, pieces)


def value_at_optimum(p_data: Density, p_g: Density, support: tuple[float, float],
                     points: Sequence[float] | None = None, pieces: int = DEFAULT_PIECES) -> float:
    """V(D*_G, G) = integral p_data log D*_G + p_g log(1 - D*_G) dx (book eqs. ``eq-value``, ``eq-optimal-d``).

    D*_G = p_data / (p_data + p_g) comes from :func:`gan_utils.foundations.optimal_discriminator.optimal_discriminator`;
    1 - D*_G is computed as the same function with the roles swapped, p_g / (p_g + p_data), which avoids
    the cancellation of 1 - D where D is close to 1. The JSD is not used, so comparing the result with
    -log 4 + 2 JSD (eq. ``eq-c-of-g``) is an independent check.
    """
    def integrand(x: np.ndarray) -> np.ndarray:
        pd, pg = _density(p_data, x, "p_data"), _density(p_g, x, "p_g")
        d_star = optimal_discriminator(pd, pg)
        one_minus = optimal_discriminator(pg, pd)
        with np.errstate(divide="ignore", invalid="ignore"):
            real = np.where(pd > 0, pd * np.log(np.where(pd > 0, d_star, 1.0)), 0.0)
            fake = np.where(pg > 0, pg * np.log(np.where(pg > 0, one_minus, 1.0)), 0.0)
        return real + fake

    return integrate_1d(integrand, support, points, pieces)


def jsd_shift_derivative(p: Density, q: Density, dq_dtheta: Density, support: tuple[float, float],
                         points: Sequence[float] | None = None, pieces: int = DEFAULT_PIECES) -> float:
    """d/dtheta JSD(p || q_theta) = 1/2 integral (dq_theta/dtheta) log(q_theta / m) dx, m = (p + q_theta)/2.

    Differentiating eq. ``eq-jsd`` under the integral, the terms without a logarithm add up to
    1/2 integral dq_theta/dtheta dx = 0 (q_theta integrates to 1 for every theta), leaving this formula.
    For the same reason the constant log 2 can be dropped from log(q/m) = log 2 - log(1 + p/q), and the
    integral is evaluated as -1/2 integral (dq_theta/dtheta) log(1 + p/q_theta) dx: for far-apart
    densities this keeps full relative precision of the tiny result instead of cancelling two
    O(1) halves. ``q`` and ``dq_dtheta`` are q_theta and its derivative at the theta of interest; p does
    not depend on theta. Where q_theta = 0 the integrand is taken as 0.
    """
    def integrand(x: np.ndarray) -> np.ndarray:
        pv, qv = _density(p, x, "p"), _density(q, x, "q")
        dq = np.asarray(dq_dtheta(x), dtype=np.float64)
        ok = qv > 0
        with np.errstate(divide="ignore"):
            log_ratio = np.log(pv) - np.log(np.where(ok, qv, 1.0))  # log(p/q), -inf where p = 0
        return np.where(ok, -0.5 * dq * np.logaddexp(0.0, log_ratio), 0.0)

    return integrate_1d(integrand, support, points, pieces)


def _check_grid(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p, q, x = (np.asarray(a, dtype=np.float64) for a in (p, q, x))
    if not (p.shape == q.shape == x.shape) or x.ndim != 1:
        raise ValueError("p, q and x must be 1-D arrays of equal length")
    if (p < 0).any() or (q < 0).any():
        raise ValueError("densities must be non-negative")
    return p, q, x


def kl_on_grid(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """KL(p || q) = integral p log(p / q) dx for densities tabulated at grid points x (nats), by the
    trapezoidal rule (:func:`kl` integrates callables by quadrature instead).

    Points with p = 0 contribute 0; p > 0 where q = 0 gives inf.
    """
    p, q, x = _check_grid(p, q, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        integrand = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
    if np.isinf(integrand).any():
        return float("inf")
    return float(integrate.trapezoid(integrand, x))


def jsd_on_grid(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q)/2 (book eq. ``eq-jsd``), for densities
    tabulated at grid points x, by the trapezoidal rule (nats; 0 <= JSD <= log 2; :func:`jsd` is the
    quadrature version for callables)."""
    p, q, x = _check_grid(p, q, x)
    m = 0.5 * (p + q)
    return 0.5 * kl_on_grid(p, m, x) + 0.5 * kl_on_grid(q, m, x)



def kde_density(samples: torch.Tensor | np.ndarray, x: np.ndarray, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian kernel density estimate of 1-D samples evaluated at grid points ``x``.

    ``bandwidth`` defaults to Silverman's normal-reference rule, 1.06 * sd * n^(-1/5) (scipy's
    ``gaussian_kde`` default, Scott's rule, is sd * n^(-1/5) in 1-D). Computed in blocks so that
    10^5 samples on 10^3 points stay cheap.
    """
    s = torch.as_tensor(samples, dtype=torch.float64).reshape(-1).cpu().numpy()
    if s.size < 2:
        raise ValueError("need at least 2 samples")
    if bandwidth is not None and not bandwidth > 0:  # 0 used to fall back silently, < 0 gave p < 0
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    h = bandwidth if bandwidth is not None else 1.06 * max(s.std(), 1e-12) * s.size ** (-0.2)
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    for start in range(0, s.size, 4096):
        block = s[start:start + 4096]
        out += np.exp(-0.5 * ((x[:, None] - block[None, :]) / h) ** 2).sum(axis=1)
    return out / (s.size * h * np.sqrt(2 * np.pi))


def jsd_to_samples(p_data_on_grid: np.ndarray, samples: torch.Tensor | np.ndarray, x: np.ndarray,
                   bandwidth: float | None = None) -> float:
    """JSD(p_data || p_hat) in nats, where p_hat is the Gaussian KDE of 1-D ``samples`` (:func:`kde_density`,
    Silverman's bandwidth unless ``bandwidth`` is given) and both are tabulated on the grid ``x``
    (:func:`jsd_on_grid`, book eq. ``eq-jsd``). ``p_data_on_grid`` holds p_data at the points of ``x``.

    This is how the book scores an implicit model, which offers samples but no density. Even samples
    of p_data itself give a positive value (the KDE's smoothing): compute that floor for comparison.
    """
    return jsd_on_grid(p_data_on_grid, kde_density(samples, x, bandwidth), x)
