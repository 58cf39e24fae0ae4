"""Why mode collapse is allowed by the GAN objective (book chapter 6, section 6.1).

* :func:`train_against_fixed_d` -- the generator's best response to a *fixed* discriminator. For any D,
  E_{x~p_g}[log D(x)] is linear in p_g, so it is maximised by a point mass on arg max D
  (eq. ``eq-ch06-best-response``); a flexible G trained against a frozen D collapses there.
* :func:`fit_gaussian_kl` -- one Gaussian q fitted to a bimodal p by minimising KL(p||q) (forward,
  maximum likelihood: moment matching, eq. ``eq-ch06-moment-matching``) or KL(q||p) (reverse, mode
  seeking, eq. ``eq-ch06-reverse-kl``). Integrals by the trapezoidal rule on a fine grid.

The remedies of section 6.4 are in :mod:`gan_utils.dynamics.unrolled`.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from scipy import integrate, optimize
from torch import nn

from gan_utils import losses
from gan_utils.data import GaussianMixture1D
from gan_utils.train import sample_noise


def train_against_fixed_d(G: nn.Module, d_logit: Callable[[torch.Tensor], torch.Tensor], steps: int,
                          z_dim: int, batch_size: int = 256, lr: float = 1e-3, seed: int = 0,
                          device: torch.device | str = "cpu") -> list[float]:
    """Train G alone to minimise the non-saturating loss -E_z[log D(G(z))] against a frozen D.

    ``d_logit`` maps samples (B, d) to logits; it is never updated. Returns the loss per step. The
    best response is a point mass on arg max D (book eq. ``eq-ch06-best-response``).
    """
    if steps < 0 or batch_size < 1:
        raise ValueError(f"need steps >= 0 and batch_size >= 1, got {steps}, {batch_size}")
    rng = torch.Generator(device=device).manual_seed(seed)
    opt = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    out = []
    for _ in range(steps):
        z = sample_noise(batch_size, (z_dim,), device, rng)
        loss = losses.g_loss_nonsaturating(d_logit(G(z)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        out.append(float(loss.detach()))
    return out


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
