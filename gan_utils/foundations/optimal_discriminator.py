"""The optimal discriminator of a fixed generator (book chapter 3, equation ``eq-optimal-d``).

For a fixed generator with density p_g, the discriminator that maximises the value function
V(D, G) = E_{p_data}[log D(x)] + E_{p_g}[log(1 - D(x))] over *all* functions D is

    D*_G(x) = p_data(x) / (p_data(x) + p_g(x))                      (eq-optimal-d)

(Goodfellow et al. 2014, Proposition 1). It comes from maximising, at every x separately, the
pointwise objective f(y) = a log y + b log(1 - y) with a = p_data(x), b = p_g(x), whose maximiser on
(0, 1) is y* = a / (a + b) (book eq. ``eq-ch03-pointwise-max``).

Where both densities are 0 every y in [0, 1] is optimal (the integrand is identically 0 there), so
D* is not determined; :func:`optimal_discriminator` returns 1/2 at such points, the posterior
P(real | x) under equal priors when x carries no evidence, which also keeps 0 * log D* = 0 finite in
integrals such as C(G) (chapter 4). In the far tails of two Gaussians, where the densities underflow
to 0 in floating point although they are positive, use :func:`optimal_logit` on log-densities instead.
"""
from __future__ import annotations

from typing import Union, cast

import numpy as np
import torch
from scipy import optimize, special, stats

Array = Union[np.ndarray, torch.Tensor]


def _check_pair(p_data: Array, p_g: Array) -> None:
    if tuple(p_data.shape) != tuple(p_g.shape):
        raise ValueError(f"p_data and p_g must have the same shape, got {tuple(p_data.shape)} and {tuple(p_g.shape)}")


def optimal_discriminator(p_data: Array, p_g: Array, *, both_zero: float = 0.5) -> Array:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) elementwise (book eq. ``eq-optimal-d``).

    ``p_data`` and ``p_g`` are density values at the same points: NumPy arrays (the result is a float64
    array) or torch tensors (the result is a tensor of their floating dtype, on their device), of the same
    shape. Where both are 0 the maximiser is not unique and the result is ``both_zero`` (default 1/2, see
    the module docstring). Raises ``ValueError`` on a shape mismatch, on negative or NaN densities.
    """
    if isinstance(p_data, torch.Tensor) or isinstance(p_g, torch.Tensor):
        td, tg = torch.as_tensor(p_data), torch.as_tensor(p_g)
        _check_pair(td, tg)
        dtype = torch.promote_types(td.dtype, tg.dtype)
        if not dtype.is_floating_point:
            dtype = torch.get_default_dtype()
        td, tg = td.to(dtype), tg.to(device=td.device, dtype=dtype)
        if bool(torch.isnan(td).any() | torch.isnan(tg).any()):
            raise ValueError("densities must not be NaN")
        if bool((td < 0).any() | (tg < 0).any()):
            raise ValueError("densities must be non-negative")
        t_total = td + tg
        t_zero = t_total == 0
        safe_total = torch.where(t_zero, torch.ones_like(t_total), t_total)
        return torch.where(t_zero, torch.full_like(t_total, both_zero), td / safe_total)
    pd, pg = np.asarray(p_data, dtype=np.float64), np.asarray(p_g, dtype=np.float64)
    _check_pair(pd, pg)
    if np.isnan(pd).any() or np.isnan(pg).any():
        raise ValueError("densities must not be NaN")
    if (pd < 0).any() or (pg < 0).any():
        raise ValueError("densities must be non-negative")
    total = pd + pg
    zero = total == 0
    return np.where(zero, both_zero, pd / np.where(zero, 1.0, total))


def optimal_logit(log_p_data: Array, log_p_g: Array) -> Array:
    """The logit of D*: a*(x) = log p_data(x) - log p_g(x), so that D*(x) = sigma(a*(x)).

    Computed from log-densities, this stays exact in the far tails where p_data and p_g themselves
    underflow to 0 (there :func:`optimal_discriminator` would see 0/0). Same-shape inputs required.
    """
    if isinstance(log_p_data, torch.Tensor) or isinstance(log_p_g, torch.Tensor):
        tp, tq = torch.as_tensor(log_p_data), torch.as_tensor(log_p_g)
        _check_pair(tp, tq)
        return tp - tq.to(tp.device)
    lp, lq = np.asarray(log_p_data, dtype=np.float64), np.asarray(log_p_g, dtype=np.float64)
    _check_pair(lp, lq)
    return lp - lq


def posterior_real(p_data: Array, p_g: Array, prior_real: float = 0.5) -> np.ndarray:
    """P(real | x) = pi p_data / (pi p_data + (1 - pi) p_g) for a prior pi = P(real) (book eq. ``eq-ch03-posterior``).

    With pi = 1/2 this is D* (eq-optimal-d). NumPy in, NumPy out; 0/0 gives ``prior_real``.
    """
    if not 0.0 < prior_real < 1.0:
        raise ValueError(f"prior_real must lie in (0, 1), got {prior_real}")
    pd, pg = np.asarray(p_data, dtype=np.float64), np.asarray(p_g, dtype=np.float64)
    _check_pair(pd, pg)
    # the posterior with prior pi is D* of the reweighted pair (pi p_data, (1 - pi) p_g)
    return cast(np.ndarray, optimal_discriminator(prior_real * pd, (1.0 - prior_real) * pg, both_zero=prior_real))


def pointwise_objective(y: Array, a: float, b: float) -> np.ndarray:
    """f(y) = a log y + b log(1 - y) on (0, 1) (book eq. ``eq-ch03-pointwise``), with 0 * log 0 = 0.

    a, b >= 0 are the two densities at one point x. Outside [0, 1] the result is -inf.
    """
    if a < 0 or b < 0:
        raise ValueError(f"a and b must be non-negative, got a={a}, b={b}")
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        term_a = np.where(a == 0, 0.0, a * np.log(y))
        term_b = np.where(b == 0, 0.0, b * np.log1p(-y))
        out = term_a + term_b
    return np.where((y < 0) | (y > 1), -np.inf, out)


def pointwise_argmax(a: float, b: float) -> float:
    """The maximiser a / (a + b) of f on [0, 1] (book eq. ``eq-ch03-pointwise-max``); needs a + b > 0."""
    if a < 0 or b < 0 or a + b == 0:
        raise ValueError(f"need a, b >= 0 and a + b > 0, got a={a}, b={b}")
    return a / (a + b)


def central_interval(p_data, p_g, mass: float = 0.99) -> tuple[float, float]:
    """The central interval [q_lo, q_hi] holding ``mass`` of the mixture m = (p_data + p_g) / 2.

    ``p_data`` and ``p_g`` are :class:`gan_utils.data.GaussianMixture1D`. The endpoints are the
    (1 - mass)/2 and (1 + mass)/2 quantiles of m, found by root-finding on its exact CDF
    (a weighted sum of normal CDFs), so the interval holds ``mass`` of p_data + p_g up to 1e-12.
    """
    if not 0.0 < mass < 1.0:
        raise ValueError(f"mass must lie in (0, 1), got {mass}")
    comps = [(0.5 * w, mu, s) for mix in (p_data, p_g) for w, mu, s in zip(mix.weights, mix.means, mix.stds)]

    def cdf(x: float) -> float:
        return float(sum(w * stats.norm.cdf(x, mu, s) for w, mu, s in comps))

    lo = min(mu - 40 * s for _, mu, s in comps)
    hi = max(mu + 40 * s for _, mu, s in comps)
    q = [(1.0 - mass) / 2, (1.0 + mass) / 2]
    left, right = (float(optimize.brentq(lambda x, t=t: cdf(x) - t, lo, hi, xtol=1e-12, rtol=1e-14)) for t in q)
    return left, right


@torch.no_grad()
def discriminator_on_grid(D: torch.nn.Module, x: np.ndarray,
                          device: torch.device | str) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate a 1-D discriminator at points ``x``: returns (D(x), logit a(x)) as float64 NumPy arrays."""
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32).reshape(-1, 1), device=device)
    logit = D(xt).double().cpu().numpy().ravel()
    return 1.0 / (1.0 + np.exp(-logit)), logit


def input_gradients(D: torch.nn.Module, x: np.ndarray, device: torch.device | str) -> dict[str, np.ndarray]:
    """d/dx of the logit a(x), of D(x), of log D(x) and of log(1 - D(x)) for a 1-D discriminator, by autograd.

    With D = sigma(a): dD/dx = D (1 - D) a', d log D/dx = (1 - D) a', d log(1 - D)/dx = -D a'. The last two
    are what the non-saturating and the saturating generator losses pass back to a sample at x.
    """
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32).reshape(-1, 1), device=device).requires_grad_(True)
    logit = D(xt)
    (grad,) = torch.autograd.grad(logit.sum(), xt)
    a = logit.detach().double().cpu().numpy().ravel()
    da = grad.double().cpu().numpy().ravel()
    return input_gradients_from_logit(a, da)


def input_gradients_from_logit(a: np.ndarray, da: np.ndarray) -> dict[str, np.ndarray]:
    """Given a logit a(x) and its derivative a'(x), the x-derivatives of D = sigma(a), log D and log(1 - D)
    by the chain rule (the keys of :func:`input_gradients`). Not to be confused with
    :func:`gan_utils.dynamics.generator_gradients.logit_gradients`, the derivatives of the generator losses
    with respect to the logit itself."""
    a, da = np.asarray(a, dtype=np.float64), np.asarray(da, dtype=np.float64)
    d = 1.0 / (1.0 + np.exp(-a))
    one_minus_d = 1.0 / (1.0 + np.exp(a))
    return {"logit": da, "D": d * one_minus_d * da, "log_D": one_minus_d * da, "log_1_minus_D": -d * da}


def mixture_score(mix, x: np.ndarray) -> np.ndarray:
    """d/dx log p(x) of a :class:`gan_utils.data.GaussianMixture1D`, stable far in the tails.

    d/dx log p = sum_k r_k(x) (mu_k - x) / s_k^2 with responsibilities r_k = w_k N_k(x) / p(x),
    formed by log-sum-exp so that it stays finite where p(x) underflows.
    """
    x = np.asarray(x, dtype=np.float64)
    logs = np.stack([np.log(w) + stats.norm.logpdf(x, m, s)
                     for w, m, s in zip(mix.weights, mix.means, mix.stds) if w > 0])
    slopes = np.stack([(m - x) / s**2 for w, m, s in zip(mix.weights, mix.means, mix.stds) if w > 0])
    r = np.exp(logs - special.logsumexp(logs, axis=0))
    return np.sum(r * slopes, axis=0)


def optimal_logit_gradients(p_data, p_g, x: np.ndarray) -> dict[str, np.ndarray]:
    """The derivatives of the analytic D* at ``x`` (same keys as :func:`input_gradients`), from the exact
    logit a*(x) = log p_data(x) - log p_g(x) and a*'(x) = (log p_data)' - (log p_g)'."""
    x = np.asarray(x, dtype=np.float64)
    a = p_data.log_pdf(x) - p_g.log_pdf(x)
    return input_gradients_from_logit(a, mixture_score(p_data, x) - mixture_score(p_g, x))


def value_on_grid(logit: np.ndarray, p_data: np.ndarray, p_g: np.ndarray, x: np.ndarray) -> float:
    """V(D, G) = integral [p_data log D + p_g log(1 - D)] dx for D = sigma(logit), by the trapezoid rule on ``x``.

    ``logit``, ``p_data``, ``p_g`` are values on the sorted grid ``x`` (book eq. ``eq-ch03-value-integral``);
    log D = -softplus(-a) and log(1 - D) = -softplus(a) keep it finite where D saturates. An infinite
    logit (a hard 0/1 decision) is allowed where the density it would send to log 0 vanishes.
    """
    a = np.asarray(logit, dtype=np.float64)
    pd, pg, x = (np.asarray(v, dtype=np.float64) for v in (p_data, p_g, x))
    if not (a.shape == pd.shape == pg.shape == x.shape) or x.ndim != 1:
        raise ValueError("logit, p_data, p_g and x must be 1-D arrays of the same length")
    with np.errstate(invalid="ignore"):
        term_d = np.where(pd == 0, 0.0, -pd * np.logaddexp(0.0, -a))
        term_g = np.where(pg == 0, 0.0, -pg * np.logaddexp(0.0, a))
    return float(np.trapezoid(term_d + term_g, x))


def bernoulli_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(Bernoulli(p) || Bernoulli(q)) = p log(p/q) + (1-p) log((1-p)/(1-q)), with 0 log 0 = 0.

    The integrand of the gap V(D*, G) - V(D, G) = integral (p_data + p_g) KL(Ber(D*) || Ber(D)) dx
    (book eq. ``eq-ch03-gap``).
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    return special.rel_entr(p, q) + special.rel_entr(1.0 - p, 1.0 - q)
