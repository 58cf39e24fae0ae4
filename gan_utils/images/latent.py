"""The latent space of a generator: interpolation, norms, nearest neighbours, vector arithmetic (book chapter 8).

For the prior p_z = N(0, I_d):

* the norm |z| follows the chi distribution with d degrees of freedom (eq-ch08-chi), concentrated
  near sqrt(d): :func:`chi_stats`;
* the linear interpolation (lerp, eq-ch08-lerp) of two independent codes at position t is
  N(0, ((1 - t)^2 + t^2) I), so its norm is chi(d) scaled by sqrt((1 - t)^2 + t^2)
  (eq-ch08-lerp-norm, :func:`lerp_norm_scale`): 1/sqrt(2) at the midpoint;
* the spherical interpolation (slerp, eq-ch08-slerp; Shoemake 1985, proposed for GANs by
  White 2016) moves along the great circle and keeps the norm when |z0| = |z1|.

:func:`path_profiles` decodes both paths (:func:`gan_utils.models.generate`) and measures each point
with a classifier and with D;
:func:`gan_utils.dynamics.support_size.nearest_neighbour_distances` finds the closest training image in
pixel space (chapter 6's birthday test uses it too);
:func:`concept_arithmetic` and :func:`jitter` implement the DCGAN paper's protocol (Radford et al.
2016, section 6.3.2 and Figure 7): average the codes of three exemplars per concept, add and
subtract the means (eq-ch08-arithmetic), decode the result and 8 neighbours with uniform noise of
scale +-0.25. The paper's prior was uniform on [-1, 1]^100; ours is N(0, I), so the same +-0.25
noise is a smaller step relative to the prior's spread (sd 1 instead of 0.58).
"""
from __future__ import annotations

import math
from typing import Sequence, cast

import numpy as np
import torch
from scipy import stats

from gan_utils.classifier import MNISTClassifier, classify
from gan_utils.models import generate

METHODS = ("lerp", "slerp")


def _check_pair(z0: torch.Tensor, z1: torch.Tensor) -> None:
    if z0.shape != z1.shape or z0.dim() < 2:
        raise ValueError(f"need two batches of codes of one shape (N, d, ...), "
                         f"got {tuple(z0.shape)} and {tuple(z1.shape)}")


def _positions(t: Sequence[float] | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device).reshape(-1)
    return t.reshape(-1, *([1] * like.dim()))  # (T, 1, ..., 1) to broadcast over (N, d, ...)


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """z_t = (1 - t) z0 + t z1 (eq-ch08-lerp) for every t: (T, N, ...) from (N, ...) pairs."""
    _check_pair(z0, z1)
    tt = _positions(t, z0)
    return (1 - tt) * z0[None] + tt * z1[None]


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: Sequence[float] | torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """z_t = [sin((1-t) W) z0 + sin(t W) z1] / sin W, cos W = <z0, z1> / (|z0| |z1|) (eq-ch08-slerp).

    Pairs whose angle W is below ``eps`` (parallel codes) fall back to lerp, the limit W -> 0.
    Shapes as in :func:`lerp`; the angle is taken between the flattened codes.
    """
    _check_pair(z0, z1)
    a, b = z0.reshape(len(z0), -1), z1.reshape(len(z1), -1)
    cos = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-30)
    omega = torch.arccos(cos.clamp(-1.0, 1.0)).reshape(-1, *([1] * (z0.dim() - 1)))[None]  # (1, N, 1, ...)
    tt = _positions(t, z0)
    small = omega < eps
    safe = torch.where(small, torch.ones_like(omega), omega)
    w0 = torch.where(small, 1 - tt, torch.sin((1 - tt) * safe) / torch.sin(safe))
    w1 = torch.where(small, tt.expand_as(w0), torch.sin(tt * safe) / torch.sin(safe))
    return w0 * z0[None] + w1 * z1[None]


def interpolate(z0: torch.Tensor, z1: torch.Tensor, t: Sequence[float] | torch.Tensor,
                method: str = "slerp") -> torch.Tensor:
    """:func:`lerp` or :func:`slerp` by name."""
    if method not in METHODS:
        raise ValueError(f"method {method!r} unknown; use one of {METHODS}")
    return (lerp if method == "lerp" else slerp)(z0, z1, t)


def norms(z: torch.Tensor, batch_dims: int = 1) -> np.ndarray:
    """|z| of every code as float64: the first ``batch_dims`` axes index codes, the rest are flattened
    (codes (N, d, 1, 1) -> (N,); a path (T, N, d) with ``batch_dims=2`` -> (T, N))."""
    if z.dim() <= batch_dims:
        raise ValueError(f"codes of shape {tuple(z.shape)} have no axis left after {batch_dims} batch axes")
    return z.reshape(*z.shape[:batch_dims], -1).norm(dim=-1).double().cpu().numpy()


def chi_stats(d: int) -> tuple[float, float]:
    """Mean and standard deviation of |z| for z ~ N(0, I_d): the chi distribution (eq-ch08-chi),
    mean sqrt(2) Gamma((d+1)/2) / Gamma(d/2), about sqrt(d - 1/2); sd about 1/sqrt(2)."""
    if d < 1:
        raise ValueError(f"dimension must be >= 1, got {d}")
    dist = stats.chi(d)
    return float(dist.mean()), float(dist.std())


def lerp_norm_scale(t: float | np.ndarray) -> float | np.ndarray:
    """sqrt((1 - t)^2 + t^2): |lerp(z0, z1, t)| ~ this times chi(d) for independent z0, z1 ~ N(0, I)
    (eq-ch08-lerp-norm); 1 at the ends, 1/sqrt(2) at t = 1/2."""
    t = np.asarray(t, dtype=float)
    return np.sqrt((1 - t) ** 2 + t ** 2)


@torch.no_grad()
def path_profiles(G: torch.nn.Module, D: torch.nn.Module, classifier: MNISTClassifier, z0: torch.Tensor,
                  z1: torch.Tensor, t: Sequence[float], method: str = "slerp",
                  batch_size: int = 1000) -> dict[str, np.ndarray]:
    """Decode the path between each pair and measure every point: arrays of shape (T, N) with
    ``norm`` |z_t| / sqrt(d), ``confidence`` (the classifier's max p(y|x)), ``label`` (its arg-max)
    and ``realness`` D(G(z_t)) = sigma(logit)."""
    path = interpolate(z0, z1, t, method)  # (T, N, ...)
    T, N = path.shape[:2]
    d = path[0, 0].numel()
    flat = path.reshape(T * N, *path.shape[2:])
    images = generate(G, flat, batch_size)
    realness = torch.cat([torch.sigmoid(D(images[i:i + batch_size])).reshape(-1)
                          for i in range(0, len(images), batch_size)])
    probs = classify(classifier, images, batch_size).probs
    conf, label = probs.max(dim=1)
    return {
        "t": np.asarray(list(t), dtype=float),
        "norm": flat.reshape(T * N, -1).norm(dim=1).double().cpu().numpy().reshape(T, N) / math.sqrt(d),
        "confidence": conf.double().numpy().reshape(T, N),
        "label": label.numpy().reshape(T, N),
        "realness": realness.double().cpu().numpy().reshape(T, N),
    }


def concept_arithmetic(groups: Sequence[torch.Tensor], signs: Sequence[int]) -> torch.Tensor:
    """y = sum_k s_k mean(Z_k) (eq-ch08-arithmetic): each group (n_k, ...) holds the codes of the
    exemplars of one concept (three in the DCGAN paper); signs are +1 or -1. Returns one code (...)."""
    if len(groups) != len(signs) or not groups:
        raise ValueError(f"need one sign per group, got {len(groups)} groups and {len(signs)} signs")
    if any(s not in (1, -1) for s in signs):
        raise ValueError(f"signs must be +1 or -1, got {list(signs)}")
    shape = groups[0].shape[1:]
    if any(g.shape[1:] != shape or len(g) == 0 for g in groups):
        raise ValueError(f"groups must be non-empty and of one code shape, got {[tuple(g.shape) for g in groups]}")
    return cast(torch.Tensor, sum(s * g.mean(0) for s, g in zip(signs, groups)))  # groups is non-empty


def jitter(y: torch.Tensor, n: int = 8, scale: float = 0.25, generator: torch.Generator | None = None) -> torch.Tensor:
    """y and n neighbours y + U(-scale, scale)^d, the DCGAN paper's Figure 7 protocol: (1 + n, ...),
    the unperturbed code first. The noise is drawn on the generator's device and moved to y's."""
    if n < 0 or scale < 0:
        raise ValueError(f"need n >= 0 and scale >= 0, got n={n}, scale={scale}")
    dev = generator.device if generator is not None else y.device
    u = (torch.rand((n, *y.shape), generator=generator, device=dev) * 2 - 1) * scale
    return torch.cat([y[None], y[None] + u.to(y.device, y.dtype)])
