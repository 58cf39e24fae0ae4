"""Why mode collapse is allowed by the GAN objective (book chapter 6, section 6.1).

* The generator's best response to a *fixed* discriminator: for any D, E_{x~p_g}[log D(x)] is linear in
  p_g, so it is maximised by a point mass on arg max D (eq. ``eq-ch06-best-response``); a flexible G
  trained against a frozen D (:func:`gan_utils.fixed_opponent.train_generator`) collapses there.
* :func:`fit_gaussian_kl` -- one Gaussian q fitted to a bimodal p by minimising KL(p||q) (forward,
  maximum likelihood: moment matching, eq. ``eq-ch06-moment-matching``) or KL(q||p) (reverse, mode
  seeking, eq. ``eq-ch06-reverse-kl``). Integrals by the trapezoidal rule on a fine grid.

The remedies of section 6.4 are in :mod:`gan_utils.dynamics.unrolled`.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize

from gan_utils.data import GaussianMixture1D


def _trapezoid(f: np.ndarray, x: np.ndarray) -> float:
    return float(integrate.trapezoid(f, x))


def gaussian_kl_objective(p: GaussianMixture1D, mean: float, std: float, direction: str,
                          x: np.ndarray) -> float:
    """KL(p||q) ("forward") or KL(q||p) ("reverse") for q = N(mean, std^2), by the trapezoidal rule on x."""
    if direction not in ("forward", "reverse"):
        raise ValueError(f"direction must be 'forward' or 'reverse', got {direction!r}")
    if not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    log_q = -0.5 * ((x - mean) / std) ** 2 - math.log(std * math.sqrt(2 * math.pi))
    log_p = p.log_pdf(x)
    if direction == "forward":
        return _trapezoid(np.exp(log_p) * (log_p - log_q), x)
    return _trapezoid(np.exp(log_q) * (log_q - log_p), x)


def fit_gaussian_kl(p: GaussianMixture1D, direction: str, init: tuple[float, float] = (0.0, 1.0),
                    grid: tuple[float, float, int] = (-12.0, 12.0, 24001)) -> tuple[float, float, float]:
    """The Gaussian N(mean, std^2) minimising KL(p||q) (forward) or KL(q||p) (reverse).

    Minimised over (mean, log std) by Nelder-Mead with tight tolerances from ``init``; returns
    (mean, std, KL at the optimum). The forward optimum is moment matching (eq.
    ``eq-ch06-moment-matching``); the reverse objective has one local minimum per well-separated mode,
    so the result depends on ``init``.
    """
    lo, hi, n = grid
    x = np.linspace(lo, hi, int(n))

    def objective(theta: np.ndarray) -> float:
        return gaussian_kl_objective(p, float(theta[0]), math.exp(float(theta[1])), direction, x)

    res = optimize.minimize(objective, np.array([init[0], math.log(init[1])]), method="Nelder-Mead",
                            options={"xatol": 1e-11, "fatol": 1e-15, "maxiter": 20000, "maxfev": 40000})
    return float(res.x[0]), float(math.exp(res.x[1])), float(res.fun)


def mixture_moments(p: GaussianMixture1D) -> tuple[float, float]:
    """Mean and standard deviation of a 1-D Gaussian mixture, in closed form (the forward-KL optimum)."""
    w, m, s = (np.asarray(a, dtype=np.float64) for a in (p.weights, p.means, p.stds))
    mean = float(np.sum(w * m))
    var = float(np.sum(w * (s**2 + m**2)) - mean**2)
    return mean, math.sqrt(var)
