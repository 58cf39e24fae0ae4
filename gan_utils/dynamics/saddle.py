"""Chapter 5: gradient dynamics of the bilinear game min_x max_y f(x, y) = x y (book section 5.6).

The unique equilibrium is (0, 0). x descends f, y ascends it; with step size eta and the gradient
(df/dx, df/dy) = (y, x), the four methods of the book (eqs. ``eq-ch05-sim``, ``eq-ch05-alt``,
``eq-ch05-eg``, ``eq-ch05-ogd``) are

* ``simultaneous``:  x' = x - eta y,  y' = y + eta x                      (|lambda| = sqrt(1 + eta^2) > 1)
* ``alternating``:   x' = x - eta y,  y' = y + eta x'                     (|lambda| = 1 for eta < 2)
* ``extragradient``: a look-ahead simultaneous step to (x~, y~), then the step from (x, y) with the
  gradient taken at (x~, y~) (Korpelevich 1976)                             (|lambda| = sqrt(1 - eta^2 + eta^4))
* ``optimistic``:    x' = x - eta (2 y - y_prev),  y' = y + eta (2 x - x_prev)  (optimistic GD, Daskalakis et al.
  2018; the first step uses the current gradient as the previous one)

:func:`run` iterates the *gradient steps* (with the gradient function :func:`bilinear_grad`), not the
matrices; :func:`step_matrix` gives the one-step linear maps derived in the book, whose eigenvalues
predict the growth that :func:`run` measures.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

METHODS = ("simultaneous", "alternating", "extragradient", "optimistic")
Grad = Callable[[float, float], tuple[float, float]]


def bilinear_value(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """f(x, y) = x y."""
    return np.asarray(x) * np.asarray(y)


def bilinear_grad(x: float, y: float) -> tuple[float, float]:
    """(df/dx, df/dy) = (y, x) for f(x, y) = x y."""
    return y, x


def _check(method: str, eta: float) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not eta > 0:
        raise ValueError(f"step size eta must be positive, got {eta}")


def run(method: str, eta: float, steps: int, start: tuple[float, float] = (1.0, 0.0),
        grad: Grad = bilinear_grad) -> np.ndarray:
    """Iterate ``steps`` steps of ``method`` from ``start``; returns the (steps + 1, 2) array of (x, y)."""
    _check(method, eta)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    path = np.empty((steps + 1, 2), dtype=np.float64)
    x, y = float(start[0]), float(start[1])
    path[0] = x, y
    gx_prev, gy_prev = grad(x, y)
    for t in range(1, steps + 1):
        gx, gy = grad(x, y)
        if method == "simultaneous":
            x, y = x - eta * gx, y + eta * gy
        elif method == "alternating":
            x = x - eta * gx
            y = y + eta * grad(x, y)[1]
        elif method == "extragradient":
            xh, yh = x - eta * gx, y + eta * gy
            gxh, gyh = grad(xh, yh)
            x, y = x - eta * gxh, y + eta * gyh
        else:  # optimistic
            x, y = x - eta * (2 * gx - gx_prev), y + eta * (2 * gy - gy_prev)
        gx_prev, gy_prev = gx, gy
        path[t] = x, y
    return path


def step_matrix(method: str, eta: float) -> np.ndarray:
    """The one-step linear map of ``method`` on f = x y (book eqs. eq-ch05-sim ... eq-ch05-ogd).

    2 x 2 on (x, y) for the first three methods; 4 x 4 on (x_t, y_t, x_{t-1}, y_{t-1}) for ``optimistic``.
    """
    _check(method, eta)
    e = eta
    if method == "simultaneous":
        return np.array([[1.0, -e], [e, 1.0]])
    if method == "alternating":
        return np.array([[1.0, -e], [e, 1.0 - e**2]])
    if method == "extragradient":
        return np.array([[1.0 - e**2, -e], [e, 1.0 - e**2]])
    return np.array([[1.0, -2 * e, 0.0, e],
                     [2 * e, 1.0, -e, 0.0],
                     [1.0, 0.0, 0.0, 0.0],
                     [0.0, 1.0, 0.0, 0.0]])


def spectral_radius(method: str, eta: float) -> float:
    """max |lambda| over the eigenvalues of :func:`step_matrix`."""
    return float(np.max(np.abs(np.linalg.eigvals(step_matrix(method, eta)))))


def distance(path: np.ndarray) -> np.ndarray:
    """Euclidean distance of every iterate to the equilibrium (0, 0)."""
    return np.hypot(path[:, 0], path[:, 1])


def alternating_invariant(path: np.ndarray, eta: float) -> np.ndarray:
    """Q = x^2 - eta x y + y^2 (book eq. ``eq-ch05-alt-invariant``), conserved exactly by alternating steps."""
    return path[:, 0] ** 2 - eta * path[:, 0] * path[:, 1] + path[:, 1] ** 2


def alternating_band(q: float, eta: float) -> tuple[float, float]:
    """The distance range [sqrt(Q / (1 + eta/2)), sqrt(Q / (1 - eta/2))] of the ellipse Q = const (eta < 2)."""
    if not 0 < eta < 2:
        raise ValueError(f"the alternating orbit is an ellipse only for 0 < eta < 2, got {eta}")
    return float(np.sqrt(q / (1 + eta / 2))), float(np.sqrt(q / (1 - eta / 2)))
