"""Chapter 1: explicit densities fitted by maximum likelihood, the MLE-KL identity, and PCA.

* :func:`fit_gmm_em` -- maximum likelihood for a 1-D Gaussian mixture by EM (book eqs. eq-em-e, eq-em-m).
* :func:`sample_log_likelihood` -- the average (1/N) sum_i log p_theta(x_i) of eq. eq-mle and its standard error.
* :func:`expected_log_likelihood`, :func:`entropy` -- the two sides of eq. eq-ell-identity by quadrature.
* :func:`pca_spectrum`, :func:`components_for_variance` -- explained variance of eq. eq-pca-k.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch
from scipy import integrate, special

from gan_utils.data import GaussianMixture1D


class EMFit(NamedTuple):
    mixture: GaussianMixture1D  # the fitted p_theta, components sorted by mean
    initial: GaussianMixture1D  # where EM started (the best of the restarts)
    log_likelihood: np.ndarray  # mean log-likelihood (nats per sample) before each EM step, and at the end


def _as_mixture(w: np.ndarray, m: np.ndarray, s: np.ndarray) -> GaussianMixture1D:
    order = np.argsort(m)
    w = w[order] / w.sum()
    return GaussianMixture1D(tuple(map(float, w)), tuple(map(float, m[order])), tuple(map(float, s[order])))


def fit_gmm_em(
    x: np.ndarray | torch.Tensor, n_components: int, iters: int = 500, seed: int = 0,
    n_init: int = 3, tol: float = 1e-10, min_std: float = 1e-3,
) -> EMFit:
    """Fit p_theta(x) = sum_k w_k N(x; mu_k, sigma_k^2) to 1-D samples by EM (book eqs. eq-em-e, eq-em-m).

    E-step: responsibilities r_ik = w_k N(x_i; mu_k, sigma_k^2) / p_theta(x_i). M-step: w_k = N_k / N,
    mu_k = sum_i r_ik x_i / N_k, sigma_k^2 = sum_i r_ik (x_i - mu_k)^2 / N_k with N_k = sum_i r_ik.
    Each step does not decrease the mean log-likelihood. ``n_init`` starts (means at distinct random
    data points drawn with ``seed``, common std = the data's std, equal weights) are run and the one
    with the highest final log-likelihood is kept. Iteration stops when the gain is below ``tol``.
    """
    x = np.asarray(torch.as_tensor(x).detach().cpu(), dtype=np.float64).ravel()
    if n_components < 1 or x.size < n_components or n_init < 1:
        raise ValueError(f"need n_components >= 1, n_init >= 1 and at least n_components samples, got {x.size}")
    rng = np.random.default_rng(seed)
    best: EMFit | None = None
    for _ in range(n_init):
        m = np.sort(rng.choice(x, size=n_components, replace=False))
        s = np.full(n_components, max(x.std(), min_std))
        w = np.full(n_components, 1.0 / n_components)
        start = _as_mixture(w, m, s)
        history: list[float] = []
        for _ in range(iters + 1):
            z = (x[:, None] - m) / s  # (N, K); log_joint = log w_k N(x_i; mu_k, sigma_k^2)
            log_joint = np.log(w) - np.log(s) - 0.5 * np.log(2 * np.pi) - 0.5 * z**2
            log_px = special.logsumexp(log_joint, axis=1)
            history.append(float(log_px.mean()))
            if len(history) > iters or (len(history) > 1 and history[-1] - history[-2] < tol):
                break
            r = np.exp(log_joint - log_px[:, None])  # E-step, eq. eq-em-e
            nk = np.maximum(r.sum(axis=0), 1e-12)  # M-step, eq. eq-em-m
            w = nk / x.size
            m = (r * x[:, None]).sum(axis=0) / nk
            s = np.sqrt(np.maximum((r * (x[:, None] - m) ** 2).sum(axis=0) / nk, min_std**2))
        fit = EMFit(_as_mixture(w, m, s), start, np.asarray(history))
        if best is None or fit.log_likelihood[-1] > best.log_likelihood[-1]:
            best = fit
    assert best is not None
    return best


def sample_log_likelihood(log_pdf: Callable[[np.ndarray], np.ndarray],
                          x: np.ndarray | torch.Tensor) -> tuple[float, float]:
    """(1/N) sum_i log p_theta(x_i) (book eq. eq-mle) and its standard error s / sqrt(N) (eq. eq-se)."""
    x = np.asarray(torch.as_tensor(x).detach().cpu(), dtype=np.float64).ravel()
    values = np.asarray(log_pdf(x), dtype=np.float64)
    if x.size < 2:
        raise ValueError("need at least 2 samples for a standard error")
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(x.size))


def expected_log_likelihood(
    p_pdf: Callable[[np.ndarray], np.ndarray], q_log_pdf: Callable[[np.ndarray], np.ndarray],
    interval: tuple[float, float], points: Sequence[float] = (),
) -> float:
    """E_p[log q] = integral p(x) log q(x) dx over ``interval`` (left side of book eq. eq-ell-identity).

    Computed by adaptive Gauss-Kronrod quadrature (``scipy.integrate.quad``) with breakpoints at
    ``points`` (e.g. the mixture means), independently of the grid used by :func:`entropy`.
    """
    lo, hi = interval
    inner = sorted(p for p in points if lo < p < hi)
    value, _ = integrate.quad(lambda t: float(p_pdf(np.array(t)) * q_log_pdf(np.array(t))), lo, hi,
                              points=inner or None, limit=500, epsabs=1e-12, epsrel=1e-12)
    return float(value)


def entropy(p: np.ndarray, x: np.ndarray) -> float:
    """Differential entropy H(p) = -integral p log p dx (book eq. eq-entropy) of a density tabulated at
    grid points ``x``, by the trapezoidal rule (nats; points with p = 0 contribute 0)."""
    p, x = np.asarray(p, dtype=np.float64), np.asarray(x, dtype=np.float64)
    if p.shape != x.shape or x.ndim != 1 or (p < 0).any():
        raise ValueError("p and x must be 1-D arrays of equal length and p >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        integrand = np.where(p > 0, p * np.log(p), 0.0)
    return float(-integrate.trapezoid(integrand, x))


def random_images(n: int, shape: tuple[int, ...], generator: torch.Generator | None = None,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """n images whose pixels are independent and uniform on the 256 levels {0..255}, scaled to [-1, 1]
    like :func:`gan_utils.data.load_mnist`: one uniform draw from the 256^(H*W) possible images each."""
    levels = torch.randint(0, 256, (n, *shape), generator=generator)
    return (levels.to(torch.float32) / 127.5 - 1.0).to(device)


def pca_spectrum(images: torch.Tensor) -> np.ndarray:
    """Explained variance ratios lambda_j / sum_j lambda_j, largest first (book eq. eq-pca-k).

    lambda_j are the eigenvalues of the sample covariance (1/(N-1)) sum_i (x_i - mean)(x_i - mean)^T of
    the flattened images, from ``torch.linalg.eigvalsh`` in float64 (on the CPU for MPS tensors).
    """
    x = images.detach().reshape(len(images), -1)
    if len(x) < 2:
        raise ValueError("need at least 2 images")
    if x.device.type == "mps":  # MPS has no float64
        x = x.cpu()
    x = x.to(torch.float64)
    x = x - x.mean(dim=0, keepdim=True)
    cov = x.T @ x / (len(x) - 1)
    eig = torch.linalg.eigvalsh(cov).flip(0).clamp_min(0.0)
    return (eig / eig.sum()).cpu().numpy()


def components_for_variance(ratios: np.ndarray, fraction: float) -> int:
    """k_f = the smallest k whose k largest components hold at least ``fraction`` of the variance (eq. eq-pca-k)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    cumulative = np.cumsum(np.asarray(ratios, dtype=np.float64))
    return int(min(np.searchsorted(cumulative, fraction - 1e-12) + 1, cumulative.size))
