"""Figures of the errata page: the mistaken value function, and convexity in p_g versus in theta."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from gan_utils.plotting import COLORS, finish


def plot_wrong_value(ts: np.ndarray, v_right: np.ndarray, v_wrong: np.ndarray, c_of_g: float) -> plt.Figure:
    """V(D_t, G) and the mistaken E[log D(x)] + E[1 - log D(G(z))] for D_t = sigma(t log(p_data / p_g)).

    t = 1 is the optimal discriminator; the dotted line is C(G) = -log 4 + 2 JSD (book eq-c-of-g).
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    axes[0].plot(ts, v_right, "o-", color=COLORS["discriminator"], label=r"$V(D_t, G)$")
    axes[0].axhline(c_of_g, color=COLORS["data"], ls=":", label=r"$C(G) = -\log 4 + 2\,\mathrm{JSD}$")
    axes[0].axvline(1.0, color="grey", lw=0.8)
    axes[0].set(xscale="log", xlabel=r"confidence $t$ ($t = 1$ is $D^*_G$)", ylabel="value (nats)",
                title="correct: bounded, peaks at $D^*_G$")
    axes[1].plot(ts, v_wrong, "o-", color=COLORS["accent"], label=r"$E[\log D] + E[1 - \log D(G(z))]$")
    axes[1].set(xscale="log", xlabel=r"confidence $t$", ylabel="value (nats)", title="mistaken: no maximum")
    for ax in axes:
        ax.legend(loc="lower right" if ax is axes[0] else "upper left")
    return finish(fig)


def plot_landscape_vs_mixture(thetas: np.ndarray, c_theta: np.ndarray, ts: np.ndarray, c_mix: np.ndarray) -> plt.Figure:
    """C along a generator parameter theta (non-convex) and along a mixture path in p_g (convex)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    axes[0].plot(thetas, c_theta, color=COLORS["generator"])
    axes[0].axhline(-np.log(4), color=COLORS["data"], ls=":", label=r"$-\log 4$")
    axes[0].set(xlabel=r"generator parameter $\theta$ (location of $p_g$)", ylabel=r"$C(G_\theta)$ (nats)",
                title=r"in $\theta_g$: two local minima")
    axes[1].plot(ts, c_mix, color=COLORS["generator"])
    axes[1].set(xlabel=r"mixture weight $t$ in $(1 - t)\,p_1 + t\,p_2$", ylabel="$C$ (nats)",
                title=r"in $p_g$: convex")
    axes[0].legend()
    return finish(fig)
