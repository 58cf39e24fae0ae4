"""Chapter 4 (global optimum, JSD, convergence): C(G) along a path, JSD saturation, the landscape
in parameters against the mixture path in function space, and JSD during training."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from gan_utils.plotting import COLORS, finish

LOG4 = math.log(4.0)
LOG2 = math.log(2.0)


def plot_density_pairs(x: np.ndarray, pairs: Mapping[str, tuple[np.ndarray, np.ndarray]],
                       jsd_values: Mapping[str, float], ncols: int = 4) -> plt.Figure:
    """Small multiples of the test pairs: p_data (black) and p_g (green) on grid ``x``, JSD in each title."""
    n = len(pairs)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.3 * nrows), squeeze=False, sharex=True)
    for ax, (name, (pd, pg)) in zip(axes.flat, pairs.items()):
        ax.plot(x, pd, color=COLORS["data"], lw=1.4, label=r"$p_\mathrm{data}$")
        ax.plot(x, pg, color=COLORS["generator"], lw=1.4, label=r"$p_g$")
        ax.set_title(f"{name}\nJSD = {jsd_values[name]:.4f} nats", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("x (data units)")
    for ax in axes[:, 0]:
        ax.set_ylabel("density")
    axes[0, 0].legend(fontsize=8)
    return finish(fig)


def plot_c_along_path(theta: np.ndarray, c_values: np.ndarray, x: np.ndarray,
                      d_star: Mapping[float, np.ndarray], path_label: str = r"$\theta$") -> plt.Figure:
    """Left: C(G_theta) = V(D*, G_theta) along a path of generators, with the bounds -log 4 and 0.
    Right: the optimal discriminator D*(x) for a few theta (1/2 everywhere at the optimum)."""
    fig, (ax_c, ax_d) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax_c.plot(theta, c_values, color=COLORS["generator"], lw=1.8, marker=".", ms=4, label=r"$C(G_\theta)$")
    ax_c.axhline(-LOG4, color=COLORS["accent"], ls="--", lw=1, label=r"$-\log 4$ (global minimum)")
    ax_c.axhline(0.0, color="gray", ls=":", lw=1, label=r"$0 = -\log 4 + 2\log 2$ (upper bound)")
    ax_c.set(xlabel=f"generator parameter {path_label}", ylabel=r"$C(G) = \max_D V(D, G)$ (nats)",
             title="the criterion along a path through $p_\\mathrm{data}$")
    ax_c.legend(fontsize=9)
    cmap = plt.get_cmap("Blues")
    for i, (th, d) in enumerate(sorted(d_star.items())):
        ax_d.plot(x, d, color=cmap(0.4 + 0.6 * i / max(len(d_star) - 1, 1)), lw=1.6, label=f"$\\theta$ = {th:g}")
    ax_d.axhline(0.5, color="gray", ls="--", lw=0.8)
    ax_d.set(xlabel="x (data units)", ylabel=r"$D^*_G(x)$", ylim=(-0.02, 1.02), title="optimal discriminator")
    ax_d.legend(fontsize=9)
    return finish(fig)


def plot_jsd_saturation(separation: np.ndarray, jsd_values: np.ndarray, grad_analytic: np.ndarray,
                        grad_fd: np.ndarray, fd_floor: float | None = None, unit: str = r"$\sigma$") -> plt.Figure:
    """Two narrow densities moving apart. Left: JSD against the separation, approaching log 2.
    Right: |dJSD/dtheta| on a log axis, analytic (line) and central finite differences (dots)."""
    fig, (ax_j, ax_g) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax_j.plot(separation, jsd_values, color=COLORS["generator"], lw=1.8, marker=".", ms=4)
    ax_j.axhline(LOG2, color=COLORS["accent"], ls="--", lw=1, label=r"$\log 2$")
    ax_j.set(xlabel=f"separation $\\theta$ (units of {unit})", ylabel=r"JSD$(p_\mathrm{data} \| p_g)$ (nats)",
             title="the JSD saturates")
    ax_j.legend()
    sep = np.asarray(separation, dtype=float)
    g_an, g_fd = np.abs(np.asarray(grad_analytic, dtype=float)), np.abs(np.asarray(grad_fd, dtype=float))
    pos = (sep > 0) & (g_an > 0)  # at zero separation the gradient is 0 by symmetry: no point on a log axis
    ax_g.semilogy(sep[pos], g_an[pos], color=COLORS["generator"], lw=1.8,
                  label="analytic (derivative under the integral)")
    shown = pos & (g_fd > (fd_floor if fd_floor is not None else 0.0))  # below the floor the differences are round-off
    ax_g.semilogy(sep[shown], g_fd[shown], ls="none", marker="o", ms=4, mfc="none", color="black",
                  label="central finite difference (above its floor)")
    if fd_floor is not None:
        ax_g.axhline(fd_floor, color="gray", ls=":", lw=1, label="finite-difference round-off floor")
    ax_g.set(xlabel=f"separation $\\theta$ (units of {unit})",
             ylabel=r"$|d\,\mathrm{JSD} / d\theta|$ (nats per data unit)", title="and its gradient vanishes")
    ax_g.legend(fontsize=9)
    return finish(fig)


def plot_landscape(theta_shift: np.ndarray, theta_scale: np.ndarray, c_grid: np.ndarray,
                   t: np.ndarray, c_param_path: np.ndarray, c_mixture_path: np.ndarray,
                   path_scale: float, path_ends: tuple[float, float]) -> plt.Figure:
    """Left: C over the parameters (theta_2 = shift, theta_1 = scale) of G(z) = theta_1 z + theta_2, with the
    straight parameter path marked. Right: C along that parameter path and along the mixture path
    (1 - t) p_1 + t p_2 between the same two endpoint densities."""
    fig, (ax_l, ax_p) = plt.subplots(1, 2, figsize=(11, 4.0))
    cs = ax_l.contourf(theta_shift, theta_scale, c_grid, levels=24, cmap="viridis")
    fig.colorbar(cs, ax=ax_l, label=r"$C(G_\theta)$ (nats)")
    ax_l.plot(path_ends, [path_scale, path_scale], color="white", lw=1.5, marker="o",
              label="straight path in $\\theta$")
    i, j = np.unravel_index(np.argmin(c_grid), c_grid.shape)
    ax_l.plot(theta_shift[j], theta_scale[i], marker="*", color=COLORS["accent"], ms=12, ls="none",
              label="grid minimum")
    ax_l.set(xlabel=r"shift $\theta_2$ (data units)", ylabel=r"scale $\theta_1$ (data units)",
             title=r"landscape of $C$ over $\theta$")
    ax_l.legend(fontsize=8, loc="upper right")
    ax_p.plot(t, c_param_path, color=COLORS["generator"], lw=1.8,
              label=r"parameters: $\theta(t) = (1-t)\theta_A + t\,\theta_B$")
    ax_p.plot(t, c_mixture_path, color=COLORS["discriminator"], lw=1.8, label=r"densities: $p_t = (1-t)p_A + t\,p_B$")
    ax_p.plot([t[0], t[-1]], [c_param_path[0], c_param_path[-1]], color="gray", ls=":", lw=1, label="chord")
    ax_p.axhline(-LOG4, color=COLORS["accent"], ls="--", lw=1, label=r"$-\log 4$")
    ax_p.set(xlabel="t (position along the path)", ylabel=r"$C$ (nats)", title="same endpoints, two paths")
    ax_p.legend(fontsize=8)
    return finish(fig)


def plot_jsd_training(eval_steps: Sequence[int], jsd_values: Sequence[float], history,
                      jsd_floor: float | None = None, smooth: int = 25) -> plt.Figure:
    """Left: the estimated JSD(p_data || p_g) during training. Right: the generator loss per step (thin)
    with a running mean over ``smooth`` steps (thick)."""
    h = history if isinstance(history, Mapping) else history.as_dict()
    fig, (ax_j, ax_g) = plt.subplots(1, 2, figsize=(11, 3.6))
    ax_j.plot(eval_steps, jsd_values, color=COLORS["generator"], lw=1.6, marker=".", ms=4, label="KDE estimate")
    ax_j.axhline(LOG2, color=COLORS["accent"], ls="--", lw=1, label=r"$\log 2$")
    if jsd_floor is not None:
        ax_j.axhline(jsd_floor, color="gray", ls=":", lw=1, label="KDE floor (samples of $p_\\mathrm{data}$)")
    ax_j.set(xlabel="generator step", ylabel=r"JSD$(p_\mathrm{data} \| p_g)$ (nats)", title="distance to the data")
    ax_j.legend(fontsize=9)
    g = np.asarray(h["g_loss"], dtype=float)
    ax_g.plot(h["step"], g, color=COLORS["generator"], lw=0.5, alpha=0.4)
    if len(g) >= smooth:
        run = np.convolve(g, np.ones(smooth) / smooth, mode="valid")
        ax_g.plot(np.asarray(h["step"])[smooth - 1:], run, color=COLORS["generator"], lw=1.8,
                  label=f"running mean over {smooth} steps")
        ax_g.legend(fontsize=9)
    ax_g.set(xlabel="generator step", ylabel="generator loss (nats)", title="what the generator minimises")
    return finish(fig)
