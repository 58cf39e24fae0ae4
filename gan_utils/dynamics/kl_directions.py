"""Why mode collapse is allowed by the GAN objective (book chapter 6, sections 6.1-6.2).

* The generator's best response to a *fixed* discriminator: for any D, E_{x~p_g}[log D(x)] is linear in
  p_g, so it is maximised by a point mass on arg max D (eq. ``eq-ch06-best-response``); a flexible G
  trained against a frozen D (:func:`gan_utils.fixed_opponent.train_generator`) collapses there.
* :func:`fit_gaussian_kl` -- one Gaussian q fitted to a bimodal p by minimising KL(p||q) (forward,
  maximum likelihood: moment matching, eq. ``eq-ch06-moment-matching``) or KL(q||p) (reverse, mode
  seeking, eq. ``eq-ch06-reverse-kl``). Integrals by the trapezoidal rule on a fine grid.

* The 2-D picture on the 8-mode ring: a K-component mixture fitted by EM (:func:`fit_gmm_em`, forward KL)
  or by minimising the reverse KL (:func:`fit_gmm_reverse_kl`); :func:`mode_mass` and :func:`mc_kl` measure
  which modes each fit covers.

The remedies of section 6.4 are in :mod:`gan_utils.dynamics.unrolled`.
"""
from __future__ import annotations

import math

import numpy as np
import torch
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


# --------------------------------------------------------------------------------------------------
# The 2-D picture: a K-component Gaussian mixture fitted to the 8-mode ring (section 6.2)
# --------------------------------------------------------------------------------------------------


class DiagMixture:
    """A 2-D Gaussian mixture with diagonal covariances: weights (K,), means (K, 2), stds (K, 2), float64.

    log q(x) = logsumexp_k [log w_k + sum_d log N(x_d; mu_kd, s_kd^2)].
    """

    def __init__(self, weights: torch.Tensor, means: torch.Tensor, stds: torch.Tensor):
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.means = torch.as_tensor(means, dtype=torch.float64)
        self.stds = torch.as_tensor(stds, dtype=torch.float64)
        k = self.weights.shape[0]
        if self.means.shape != (k, 2) or self.stds.shape != (k, 2):
            raise ValueError(f"means and stds must have shape ({k}, 2), got {tuple(self.means.shape)} "
                             f"and {tuple(self.stds.shape)}")

    def component_log_pdf(self, x: torch.Tensor) -> torch.Tensor:
        """(n, K) log N(x; mu_k, diag s_k^2)."""
        z = (x[:, None, :].double() - self.means[None]) / self.stds[None]
        return (-0.5 * z**2 - torch.log(self.stds[None]) - 0.5 * math.log(2 * math.pi)).sum(-1)

    def log_pdf(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(self.component_log_pdf(x) + torch.log(self.weights)[None], dim=1)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        idx = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        eps = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        return self.means[idx] + self.stds[idx] * eps


def ring_mixture(means: torch.Tensor, std: float) -> DiagMixture:
    """The benchmark density p: equal weights on ``means`` (M, 2), isotropic ``std``."""
    m = torch.as_tensor(means, dtype=torch.float64)
    return DiagMixture(torch.full((m.shape[0],), 1.0 / m.shape[0], dtype=torch.float64), m,
                       torch.full_like(m, float(std)))


def fit_gmm_em(x: torch.Tensor, k: int, *, var_floor: float = 1e-6, iters: int = 200, restarts: int = 5,
               seed: int = 0) -> tuple[DiagMixture, float]:
    """Maximum likelihood (= minimum forward KL(p||q), section 6.2) by EM, several restarts.

    E step: r_nk = w_k N(x_n; mu_k, s_k^2) / q(x_n). M step: w_k = mean_n r_nk, mu_k = sum_n r_nk x_n / sum_n r_nk,
    s_kd^2 = max(sum_n r_nk (x_nd - mu_kd)^2 / sum_n r_nk, var_floor). The floor is needed because the mixture
    likelihood is unbounded (a component shrinking onto one sample); the default 1e-6 is 1/100 of the ring's
    variance (std 0.01), so it never binds at a sensible optimum. Each restart starts from k distinct samples
    as means, the data's std as stds and equal weights; the restart with the highest mean log likelihood is
    returned with that value. Written in a few lines of torch: the book avoids a scikit-learn dependency for
    one fit.
    """
    if k < 1 or k > x.shape[0]:
        raise ValueError(f"k must be in [1, number of samples], got {k}")
    if not var_floor > 0:
        raise ValueError(f"var_floor must be positive, got {var_floor}")
    x = torch.as_tensor(x, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    best, best_ll = None, -math.inf
    for _ in range(restarts):
        idx = torch.randperm(x.shape[0], generator=g)[:k]
        q = DiagMixture(torch.full((k,), 1.0 / k, dtype=torch.float64), x[idx].clone(),
                        x.std(0).expand(k, 2).clone())
        for _ in range(iters):
            logr = q.component_log_pdf(x) + torch.log(q.weights)[None]
            r = torch.softmax(logr, dim=1)
            nk = r.sum(0).clamp_min(1e-12)
            means = (r.T @ x) / nk[:, None]
            var = (r.T @ x**2) / nk[:, None] - means**2
            q = DiagMixture(nk / nk.sum(), means, var.clamp_min(var_floor).sqrt())
        ll = float(q.log_pdf(x).mean())
        if ll > best_ll:
            best, best_ll = q, ll
    assert best is not None  # at least one restart
    return best, best_ll


def reverse_kl_estimate(q: DiagMixture, p: DiagMixture, eps: torch.Tensor,
                        log_w: torch.Tensor | None = None, mu: torch.Tensor | None = None,
                        log_s: torch.Tensor | None = None) -> torch.Tensor:
    """KL(q||p) = sum_k w_k E_{eps ~ N(0, I)}[log q(x_k) - log p(x_k)], x_k = mu_k + s_k eps.

    The reverse KL of eq. ``eq-ch06-reverse-kl``. The sum over components is exact (the weights enter as w_k,
    not through sampled labels); the expectation
    per component uses the reparameterised draws ``eps`` (S, 2), so the estimate is differentiable in
    (log_w, mu, log_s) when those are given (they override q's parameters).
    """
    log_w = torch.log_softmax(log_w, 0) if log_w is not None else torch.log(q.weights)
    mu = mu if mu is not None else q.means
    s = torch.exp(log_s) if log_s is not None else q.stds
    k, n = mu.shape[0], eps.shape[0]
    x = (mu[:, None, :] + s[:, None, :] * eps[None]).reshape(k * n, 2)       # (K*S, 2)
    z = (x[:, None, :] - mu[None]) / s[None]
    comp = (-0.5 * z**2 - torch.log(s)[None] - 0.5 * math.log(2 * math.pi)).sum(-1)
    log_q = torch.logsumexp(comp + log_w[None], dim=1)
    diff = (log_q - p.log_pdf(x)).reshape(k, n).mean(1)
    return (torch.exp(log_w) * diff).sum()


def fit_gmm_reverse_kl(p: DiagMixture, k: int, *, steps: int = 1200, samples: int = 32, lr: float = 0.05,
                       restarts: int = 4, init_std: float = 0.3, seed: int = 0) -> tuple[DiagMixture, float]:
    """The K-component mixture q minimising reverse KL(q||p) (eq. ``eq-ch06-reverse-kl``), several restarts.

    Adam on (logits of w, mu, log s) with fresh reparameterised draws (``samples`` per component) each
    step (:func:`reverse_kl_estimate`). The weights are held equal for the first half of the steps: a
    component that has not yet reached a mode has a large KL term, and freeing its weight at once starves it
    (its weight goes to 0 before its mean arrives), which leaves fewer than K components in use.
    Each restart starts with equal weights, means uniform in
    [-1.5, 1.5]^2 and stds ``init_std``; the restart with the lowest final estimate (on 4,096 fresh draws
    per component) is returned with that estimate.
    """
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    g = torch.Generator().manual_seed(seed)
    best, best_kl = None, math.inf
    for _ in range(restarts):
        log_w = torch.zeros(k, dtype=torch.float64, requires_grad=True)
        mu = (3 * torch.rand(k, 2, generator=g, dtype=torch.float64) - 1.5).requires_grad_()
        log_s = torch.full((k, 2), math.log(init_std), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([log_w, mu, log_s], lr=lr)
        for step in range(steps):
            log_w.requires_grad_(step >= steps // 2)
            eps = torch.randn(samples, 2, generator=g, dtype=torch.float64)
            loss = reverse_kl_estimate(p, p, eps, log_w, mu, log_s)
            opt.zero_grad()
            loss.backward()
            opt.step()
        q = DiagMixture(torch.softmax(log_w.detach(), 0), mu.detach(), torch.exp(log_s.detach()))
        kl = float(reverse_kl_estimate(q, p, torch.randn(4096, 2, generator=g, dtype=torch.float64)))
        if kl < best_kl:
            best, best_kl = q, kl
    assert best is not None  # at least one restart
    return best, best_kl


def mc_kl(a: DiagMixture, b: DiagMixture, n: int, generator: torch.Generator) -> float:
    """KL(a||b) = E_{x~a}[log a(x) - log b(x)] by Monte Carlo on ``n`` draws of a."""
    x = a.sample(n, generator)
    return float((a.log_pdf(x) - b.log_pdf(x)).mean())


def mode_mass(q: DiagMixture, means: torch.Tensor, std: float, n: int,
              generator: torch.Generator) -> tuple[np.ndarray, float]:
    """Per mode, the share of q's mass whose nearest benchmark mean is that mode (``n`` draws of q), and
    the share within 3 ``std`` of its nearest mean (the benchmark's high-quality criterion)."""
    x = q.sample(n, generator)
    d = torch.cdist(x, torch.as_tensor(means, dtype=torch.float64))
    dmin, near = d.min(1)
    share = torch.bincount(near, minlength=d.shape[1]).double() / n
    return share.numpy(), float((dmin < 3 * std).double().mean())
