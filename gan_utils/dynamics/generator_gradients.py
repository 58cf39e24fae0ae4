"""Chapter 5: what the generator's gradient is, for the saturating, non-saturating and LSGAN losses.

* Logit gradients (book eqs. ``eq-ch05-sat-grad``, ``eq-ch05-ns-grad``). With D = sigma(a),

      d/da log(1 - sigma(a)) = -sigma(a)          (saturating: -> 0 when D rejects fakes, a -> -inf)
      d/da [-log sigma(a)]   = -(1 - sigma(a))    (non-saturating: -> -1 there)

  :func:`logit_gradients` evaluates both losses of :mod:`gan_utils.losses` elementwise and their
  derivatives by autograd, to be compared with :func:`closed_form_logit_gradients`.

* Gradient identities with D frozen at D*_{theta0} (book eqs. ``eq-ch05-sat-identity``, ``eq-ch05-ns-identity``):

      d/dtheta E_{p_g(theta)}[log(1 - D*_{theta0})] |theta0 = d/dtheta 2 JSD(p_g(theta) || p_data) |theta0
      d/dtheta E_{p_g(theta)}[-log D*_{theta0}]     |theta0 = d/dtheta [KL(p_g(theta) || p_data) - 2 JSD] |theta0

  (the second is Theorem 2.5 of Arjovsky & Bottou 2017). :func:`frozen_generator_loss` integrates the
  left-hand expectations by quadrature; derivatives are central finite differences in theta
  (:func:`central_difference`). KL and JSD come from :mod:`gan_utils.foundations.divergences` (chapter 4).

* LSGAN (Mao et al. 2017, book eqs. ``eq-ch05-lsgan-dstar``, ``eq-ch05-lsgan-chi2``): the optimal least-squares
  discriminator D*(x) = (b p_data + a p_g) / (p_data + p_g) and the generator objective *extended by the
  paper's G-independent term* 1/2 E_{p_data}[(D(x) - c)^2], evaluated at D*. With b - c = 1 and b - a = 2 it
  equals 1/2 chi^2 (:func:`pearson_chi2`, Mao et al.'s chi^2_Pearson(p_data + p_g || 2 p_g)).

Densities are callables f(x: np.ndarray) -> np.ndarray of float64 values; ``support`` is a finite interval
outside which they are negligible, ``points`` are hints (the modes) for the quadrature.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from gan_utils import losses
from gan_utils.foundations.divergences import integrate_1d
from gan_utils.foundations.optimal_discriminator import optimal_discriminator

Density = Callable[[np.ndarray], np.ndarray]
GAN_LOSSES = ("saturating", "nonsaturating")


# ------------------------------------------------------------------------------------- logit gradients
def closed_form_logit_gradients(logits: np.ndarray) -> dict[str, np.ndarray]:
    """dl/da in closed form for l = log(1 - sigma(a)) (saturating) and l = -log sigma(a) (non-saturating)."""
    a = np.asarray(logits, dtype=np.float64)
    d = 1.0 / (1.0 + np.exp(-a))
    return {"saturating": -d, "nonsaturating": -(1.0 - d)}


def logit_gradients(logits: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """For each generator loss of :mod:`gan_utils.losses`: (loss, dloss/da) at every logit separately.

    The losses are batch means, so each element is fed as a batch of one (``torch.func.vmap``) and
    differentiated by ``torch.func.grad``: an autograd evaluation, independent of the closed forms.
    Returns {"saturating": (values, grads), "nonsaturating": (values, grads)} of the input's shape.
    """
    a = torch.as_tensor(logits)
    if not a.is_floating_point():
        raise ValueError("logits must be a floating-point tensor")
    flat = a.reshape(-1)
    out = {}
    for name, fn in (("saturating", losses.g_loss_saturating), ("nonsaturating", losses.g_loss_nonsaturating)):
        one = lambda t, fn=fn: fn(t.reshape(1, 1))  # noqa: E731 - a batch of one logit
        values = torch.vmap(one)(flat)
        grads = torch.vmap(torch.func.grad(one))(flat)
        out[name] = (values.reshape(a.shape), grads.reshape(a.shape))
    return out


# ---------------------------------------------------------------------------- identities with D* frozen
def frozen_generator_loss(p_data: Density, p_g: Density, p_g_frozen: Density, loss: str,
                          support: tuple[float, float], points: Sequence[float] | None = None) -> float:
    """E_{x ~ p_g}[l(D*(x))] with D* = p_data / (p_data + p_g_frozen) held fixed (eq-optimal-d).

    ``loss="saturating"``: l(D) = log(1 - D); ``loss="nonsaturating"``: l(D) = -log D. As a function of the
    generator's theta with ``p_g_frozen`` = p_g(theta0), its theta-derivative at theta0 is the gradient the
    generator receives from a discriminator that is optimal for the current generator. D* and 1 - D* are both
    taken from :func:`gan_utils.foundations.optimal_discriminator.optimal_discriminator` (1 - D* with the
    roles swapped, no cancellation). Points where p_g = 0 contribute 0.
    """
    if loss not in GAN_LOSSES:
        raise ValueError(f"loss must be one of {GAN_LOSSES}, got {loss!r}")

    def integrand(x: np.ndarray) -> np.ndarray:
        pd, pg, pf = (np.asarray(f(x), dtype=np.float64) for f in (p_data, p_g, p_g_frozen))
        d = optimal_discriminator(pd, pf) if loss == "nonsaturating" else optimal_discriminator(pf, pd)
        with np.errstate(divide="ignore", invalid="ignore"):
            logd = np.log(np.where(pg > 0, d, 1.0))
        return np.where(pg > 0, pg * (-logd if loss == "nonsaturating" else logd), 0.0)

    return integrate_1d(integrand, support, points)


def central_difference(f: Callable[[float], float], theta: float, h: float = 1e-3) -> float:
    """(f(theta + h) - f(theta - h)) / (2 h): error O(h^2) from truncation plus O(eps_f / h) from f's own error."""
    if not h > 0:
        raise ValueError(f"step h must be positive, got {h}")
    return (f(theta + h) - f(theta - h)) / (2.0 * h)


# ------------------------------------------------------------------------------------------------ LSGAN
def lsgan_optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray, a: float, b: float) -> np.ndarray:
    """D*(x) = (b p_data + a p_g) / (p_data + p_g) (book eq. ``eq-ch05-lsgan-dstar``; Mao et al. 2017, eq. 7).

    Density values in, float64 out; where both densities are 0 the result is (a + b) / 2.
    """
    pd, pg = np.asarray(p_data, dtype=np.float64), np.asarray(p_g, dtype=np.float64)
    if pd.shape != pg.shape:
        raise ValueError(f"p_data and p_g must have the same shape, got {pd.shape} and {pg.shape}")
    if (pd < 0).any() or (pg < 0).any():
        raise ValueError("densities must be non-negative")
    total = pd + pg
    zero = total == 0
    return np.where(zero, 0.5 * (a + b), (b * pd + a * pg) / np.where(zero, 1.0, total))


def lsgan_generator_objective(p_data: Density, p_g: Density, support: tuple[float, float],
                              abc: tuple[float, float, float] = (-1.0, 1.0, 0.0),
                              points: Sequence[float] | None = None) -> float:
    """1/2 E_{p_data}[(D*(x) - c)^2] + 1/2 E_{p_g}[(D*(x) - c)^2] at the least-squares optimal D* (eq-ch05-lsgan-cg).

    The first term is the one Mao et al. add to the generator loss 1/2 E_z[(D(G(z)) - c)^2] of
    :func:`gan_utils.losses.lsgan_g_loss`; it does not depend on G's parameters for a fixed D.
    """
    a, b, c = abc

    def integrand(x: np.ndarray) -> np.ndarray:
        pd, pg = np.asarray(p_data(x), dtype=np.float64), np.asarray(p_g(x), dtype=np.float64)
        d = lsgan_optimal_discriminator(pd, pg, a, b)
        return 0.5 * (pd + pg) * (d - c) ** 2

    return integrate_1d(integrand, support, points)


def pearson_chi2(p: Density, q: Density, support: tuple[float, float],
                 points: Sequence[float] | None = None) -> float:
    """The Pearson chi^2 divergence integral (p(x) - q(x))^2 / q(x) dx, the f-divergence with f(t) = (t - 1)^2.

    p and q may be unnormalised (LSGAN uses q = p_data + p_g, p = 2 p_g, both of mass 2). Mao et al. write
    this case as chi^2_Pearson(p_data + p_g || 2 p_g), naming the denominator first. Points with q = 0 must
    have p = 0 and then contribute 0.
    """
    def integrand(x: np.ndarray) -> np.ndarray:
        pv, qv = np.asarray(p(x), dtype=np.float64), np.asarray(q(x), dtype=np.float64)
        if ((qv == 0) & (pv > 0)).any():
            return np.full_like(qv, np.inf)
        return np.where(qv > 0, (pv - qv) ** 2 / np.where(qv > 0, qv, 1.0), 0.0)

    return integrate_1d(integrand, support, points)


# ----------------------------------------------------------------------- measured gradients of networks
def generator_gradient_norm(G: torch.nn.Module, D: torch.nn.Module, z: torch.Tensor, loss: str,
                            c: float = 1.0) -> float:
    """L2 norm of the gradient of G's loss on the noise batch z with respect to all of G's parameters.

    ``loss``: "saturating", "nonsaturating" (D returns logits) or "lsgan" (D returns raw outputs; target c).
    Gradients are computed with ``torch.autograd.grad``, so neither network's ``.grad`` is touched.
    """
    out = D(G(z))
    if loss == "lsgan":
        value = losses.lsgan_g_loss(out, c=c)
    elif loss in GAN_LOSSES:
        value = losses.GENERATOR_LOSSES[loss](out)
    else:
        raise ValueError(f"loss must be one of {GAN_LOSSES + ('lsgan',)}, got {loss!r}")
    params = [p for p in G.parameters() if p.requires_grad]
    grads = torch.autograd.grad(value, params)
    return float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])))


def first_success(steps: Sequence[int], values: Sequence[float], threshold: float,
                  higher_is_better: bool = False) -> int | None:
    """The first step whose value meets the threshold (<= it, or >= it if ``higher_is_better``); None if never."""
    if len(steps) != len(values):
        raise ValueError(f"steps and values differ in length: {len(steps)} != {len(values)}")
    for step, value in zip(steps, values):
        if (value >= threshold) if higher_is_better else (value <= threshold):
            return int(step)
    return None
