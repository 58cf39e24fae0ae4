"""Chapter 11 figures: JSD against W1 for a shifted pair, 1-D critics, the critic tracking sample quality."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from gan_utils.plotting import COLORS, finish


def plot_jsd_vs_w1(thetas: np.ndarray, jsd: np.ndarray, w1: np.ndarray, sigma: float) -> plt.Figure:
    """JSD(p || q_theta) and W1(p, q_theta) against the shift theta / sigma of chapter 4's pair (eq.
    ``eq-ch11-w1-1d``): the JSD saturates at log 2 and goes flat; W1 = |theta| keeps its slope."""
    t = np.asarray(thetas) / sigma
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot(t, jsd, color=COLORS["accent"], lw=2, label="JSD (nats)")
    axes[0].axhline(np.log(2), color="grey", ls="--", lw=1, label="log 2")
    axes[0].set(xlabel=r"shift $\theta/\sigma$", ylabel="JSD", title="Jensen-Shannon: saturates")
    axes[1].plot(t, w1 / sigma, color=COLORS["generator"], lw=2, label=r"$W_1/\sigma$")
    axes[1].set(xlabel=r"shift $\theta/\sigma$", ylabel=r"$W_1/\sigma$", title="Wasserstein-1: linear in the shift")
    for ax in axes:
        ax.legend(frameon=False)
    return finish(fig)


def plot_critics_1d(x: np.ndarray, p_density: np.ndarray, q_density: np.ndarray,
                    critics: Mapping[str, np.ndarray], optimal: np.ndarray | None = None) -> plt.Figure:
    """The two densities and each critic f(x), shifted to mean 0 and divided by its largest slope on the grid (so
    that clipped and penalised critics are comparable), with the optimal critic (slope +-1) if given."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].fill_between(x, p_density, alpha=0.35, color=COLORS["data"] if "data" in COLORS else "tab:blue", label="p")
    axes[0].fill_between(x, q_density, alpha=0.35, color=COLORS["generator"], label="q")
    axes[0].set(xlabel="x", ylabel="density", title="the two distributions")
    axes[0].legend(frameon=False)
    for name, f in critics.items():
        slope = np.max(np.abs(np.diff(f) / np.diff(x)))
        g = (f - f.mean()) / max(slope, 1e-12)
        axes[1].plot(x, g, lw=1.8, label=name)
    if optimal is not None:
        axes[1].plot(x, optimal - optimal.mean(), "k--", lw=1, label="optimal (slope ±1)")
    axes[1].set(xlabel="x", ylabel="f(x) / max slope", title="critics, normalised to Lipschitz constant 1")
    axes[1].legend(frameon=False, fontsize=8)
    return finish(fig)


def plot_tracking(curves: Mapping[str, Mapping[str, Sequence[float]]]) -> plt.Figure:
    """For each run (e.g. WGAN-GP, GAN): its training signal (critic estimate of W1 or D's loss) and the exact
    W1 of its samples to the data, against the generator step; one panel per run, two y-axes."""
    fig, axes = plt.subplots(1, len(curves), figsize=(5.2 * len(curves), 3.6), squeeze=False)
    for ax, (name, c) in zip(axes[0], curves.items()):
        ax.plot(c["step"], c["w1"], color="k", lw=1.8, label="exact $W_1$(samples, data)")
        ax.set(xlabel="generator step", ylabel="exact $W_1$", title=name)
        ax2 = ax.twinx()
        ax2.plot(c["step"], c["signal"], color=COLORS["accent"], lw=1.5, label=str(c.get("label", "signal")))
        ax2.set_ylabel(str(c.get("label", "signal")), color=COLORS["accent"])
        lines = ax.get_lines() + ax2.get_lines()
        ax.legend(lines, [ln.get_label() for ln in lines], frameon=False, fontsize=8)
    return finish(fig)


def plot_clip_sweep(clips: Sequence[float], at_bound: Sequence[float], ratio: Sequence[float],
                    gp_ratio: float) -> plt.Figure:
    """Weight clipping's pathologies against the clip value c: the share of weights at +-c, and the critic's
    normalised dual estimate (gap / Lipschitz constant) as a share of the exact W1, against the penalised critic's."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    axes[0].semilogx(clips, at_bound, "o-", color=COLORS["accent"])
    axes[0].set(xlabel="clip value c", ylabel="share of weights at ±c", ylim=(0, 1),
                title="weights pile up at the bounds")
    axes[1].semilogx(clips, ratio, "o-", color=COLORS["accent"], label="clipped critic")
    axes[1].axhline(gp_ratio, color=COLORS["generator"], ls="--", label="gradient penalty")
    axes[1].axhline(1.0, color="grey", lw=1)
    axes[1].set(xlabel="clip value c", ylabel=r"(gap / Lipschitz) / exact $W_1$", title="capacity used")
    axes[1].legend(frameon=False)
    return finish(fig)
