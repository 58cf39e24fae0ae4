"""Chapter 5 figures: saturating vs non-saturating losses, gradient identities, saddle dynamics, training signs."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from gan_utils.plotting import COLORS, finish

LOSS_COLORS = {"saturating": COLORS["accent"], "nonsaturating": COLORS["generator"], "lsgan": "tab:purple"}
METHOD_COLORS = {"simultaneous": COLORS["accent"], "alternating": "tab:orange",
                 "extragradient": COLORS["discriminator"], "optimistic": COLORS["generator"]}


def plot_saturation(logits: np.ndarray, closed: Mapping[str, np.ndarray], autograd: Mapping[str, tuple]) -> plt.Figure:
    """Generator losses and their logit gradients (eqs. eq-ch05-sat-grad, eq-ch05-ns-grad) against D(G(z)) and
    against the logit a. Lines: closed forms; dots: autograd values. ``autograd[name] = (values, grads)``."""
    a = np.asarray(logits, dtype=np.float64)
    d = 1.0 / (1.0 + np.exp(-a))
    labels = {"saturating": r"saturating $\log(1 - D)$", "nonsaturating": r"non-saturating $-\log D$"}
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    every = max(len(a) // 25, 1)
    for name, label in labels.items():
        values, grads = (np.asarray(v, dtype=np.float64) for v in autograd[name])
        color = LOSS_COLORS[name]
        for col, xvals in enumerate((d, a)):
            axes[0, col].plot(xvals, values, color=color, lw=1.8, label=label)
            axes[1, col].plot(xvals, closed[name], color=color, lw=1.8, label=f"{name}: closed form")
            axes[1, col].plot(xvals[::every], grads[::every], "o", ms=3.5, color=color, mfc="none",
                              label=f"{name}: autograd")
    for col, xlabel in enumerate((r"$D(G(z)) = \sigma(a)$ (probability)", r"logit $a$ (nats)")):
        axes[0, col].set(xlabel=xlabel, ylabel="generator loss (nats)")
        axes[1, col].set(xlabel=xlabel, ylabel=r"$\partial\,$loss$/\partial a$")
        axes[0, col].legend(fontsize=9)
    axes[1, 0].legend(fontsize=8)
    axes[0, 0].set_ylim(-6, 6)
    axes[0, 0].axvspan(0, 0.1, color="gray", alpha=0.12)
    axes[1, 0].axvspan(0, 0.1, color="gray", alpha=0.12)
    axes[0, 0].set_title("early training: D rejects fakes (shaded)")
    return finish(fig)


def plot_gradient_identities(thetas: np.ndarray, rows: Mapping[str, Sequence[float]]) -> plt.Figure:
    """The generator's gradient with D* frozen (markers) against the derivative of the divergence it follows (lines),
    for each theta0. ``rows`` keys: frozen_ns, div_ns, frozen_sat, div_sat."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(thetas, rows["div_ns"], color=LOSS_COLORS["nonsaturating"], lw=1.8,
            label=r"$\frac{d}{d\theta}[\mathrm{KL}(p_g\|p_\mathrm{data}) - 2\,\mathrm{JSD}]$")
    ax.plot(thetas, rows["frozen_ns"], "o", color=LOSS_COLORS["nonsaturating"], mfc="none",
            label=r"$\frac{d}{d\theta}\,\mathbb{E}_{p_{g,\theta}}[-\log D^*_{\theta_0}]$")
    ax.plot(thetas, rows["div_sat"], color=LOSS_COLORS["saturating"], lw=1.8,
            label=r"$\frac{d}{d\theta}\, 2\,\mathrm{JSD}$")
    ax.plot(thetas, rows["frozen_sat"], "s", color=LOSS_COLORS["saturating"], mfc="none",
            label=r"$\frac{d}{d\theta}\,\mathbb{E}_{p_{g,\theta}}[\log(1 - D^*_{\theta_0})]$")
    ax.axhline(0, color="gray", lw=0.8)
    ax.set(xlabel=r"generator mean $\theta_0$ (data units)", ylabel=r"derivative in $\theta$ (nats / data unit)",
           title="gradient identities at the frozen optimal discriminator")
    ax.legend(fontsize=8)
    return finish(fig)


def plot_gradient_norms(norms: Mapping[str, Mapping[str, float]]) -> plt.Figure:
    """Bar chart (log scale) of the generator's gradient norm per loss; ``norms[target][loss]``."""
    targets = list(norms)
    loss_names = list(next(iter(norms.values())))
    fig, ax = plt.subplots(figsize=(7, 3.8))
    width = 0.8 / len(loss_names)
    for i, name in enumerate(loss_names):
        ax.bar(np.arange(len(targets)) + i * width, [norms[t][name] for t in targets], width,
               color=LOSS_COLORS.get(name, "gray"), label=name)
    ax.set_xticks(np.arange(len(targets)) + width * (len(loss_names) - 1) / 2, targets)
    ax.set(yscale="log", ylabel=r"$\|\nabla_{\theta_G} \mathrm{loss}\|_2$",
           title="generator gradient against a pretrained discriminator")
    ax.legend(fontsize=9)
    return finish(fig)


def plot_progress(curves: Mapping[str, Mapping[str, list]], ylabel: str, threshold: float, title: str,
                  higher_is_better: bool = False) -> plt.Figure:
    """Metric against generator step, one line per run (colour = loss);
    ``curves[loss] = {"step": .., "runs": [..]}``."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for name, c in curves.items():
        for i, run in enumerate(c["runs"]):
            ax.plot(c["step"], run, color=LOSS_COLORS.get(name, "gray"), lw=1.2, alpha=0.8,
                    label=name if i == 0 else None)
    ax.axhline(threshold, color="gray", ls="--", lw=1, label="success threshold")
    ax.set(xlabel="generator step", ylabel=ylabel, title=title)
    if not higher_is_better:
        ax.set_yscale("log")
    ax.legend(fontsize=9)
    return finish(fig)


def plot_saddle_surface(extent: float = 1.5, points: int = 41) -> plt.Figure:
    """The surface f(x, y) = x y: a saddle, with the equilibrium (0, 0) marked."""
    g = np.linspace(-extent, extent, points)
    X, Y = np.meshgrid(g, g)
    fig = plt.figure(figsize=(6, 4.6))
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(X, Y, X * Y, cmap="coolwarm", linewidth=0, antialiased=True, alpha=0.85)
    ax.scatter([0], [0], [0], color="black", s=30)
    ax.set(xlabel="x (minimiser)", ylabel="y (maximiser)", zlabel="f(x, y) = x y",
           title="the saddle of min_x max_y x y")
    return finish(fig)


def plot_saddle_dynamics(paths: Mapping[str, np.ndarray], band: tuple[float, float] | None = None) -> plt.Figure:
    """Left: trajectories in the (x, y) plane from the same start. Right: distance to (0, 0) per step."""
    fig, (ax_p, ax_d) = plt.subplots(1, 2, figsize=(11, 4.4))
    for name, path in paths.items():
        color = METHOD_COLORS.get(name, "gray")
        ax_p.plot(path[:, 0], path[:, 1], color=color, lw=1, label=name)
        ax_d.plot(np.arange(len(path)), np.hypot(path[:, 0], path[:, 1]), color=color, lw=1.5, label=name)
    ax_p.plot([0], [0], "k*", ms=10, label="equilibrium (0, 0)")
    ax_p.set(xlabel="x (minimiser)", ylabel="y (maximiser)", aspect="equal", title="trajectories")
    ax_p.legend(fontsize=8, loc="upper right")
    if band is not None:
        ax_d.axhspan(*band, color=METHOD_COLORS["alternating"], alpha=0.15, label="alternating: predicted band")
    ax_d.set(xlabel="step", ylabel="distance to (0, 0)", yscale="log", title="distance to the equilibrium")
    ax_d.legend(fontsize=8)
    return finish(fig)


def plot_training_signs(histories: Mapping[str, Mapping[str, list]], smooth: int = 25) -> plt.Figure:
    """One column per labelled run: mean D(x) and D(G(z)) (top), both losses (middle), G's gradient norm (bottom).

    ``histories[label]`` is a History as dict; curves are moving averages over ``smooth`` steps (raw values faint).
    """
    n = len(histories)
    fig, axes = plt.subplots(3, n, figsize=(4.2 * n, 8), squeeze=False, sharex="col")

    def ma(v):
        v = np.asarray(v, dtype=np.float64)
        k = min(smooth, len(v))
        return np.convolve(v, np.ones(k) / k, mode="valid"), np.arange(k, len(v) + 1)

    for j, (label, h) in enumerate(histories.items()):
        steps = np.asarray(h["step"])
        for key, color, name in (("d_real", COLORS["data"], "D(x), real"),
                                 ("d_fake", COLORS["generator"], "D(G(z)), fake")):
            axes[0, j].plot(steps, h[key], color=color, lw=0.5, alpha=0.3)
            v, idx = ma(h[key])
            axes[0, j].plot(steps[idx - 1], v, color=color, lw=1.5, label=name)
        axes[0, j].axhline(0.5, color="gray", ls="--", lw=0.8)
        axes[0, j].set(ylim=(-0.02, 1.02), ylabel="mean discriminator output", title=label)
        for key, color in (("d_loss", COLORS["discriminator"]), ("g_loss", COLORS["generator"])):
            v, idx = ma(h[key])
            axes[1, j].plot(steps[idx - 1], v, color=color, lw=1.5, label=key)
        axes[1, j].set(ylabel="loss (nats)")
        v, idx = ma(h["grad_norm_g"])
        axes[2, j].plot(steps[idx - 1], v, color=COLORS["accent"], lw=1.5)
        axes[2, j].set(yscale="log", xlabel="generator step", ylabel=r"$\|\nabla_{\theta_G}\|$ (G's gradient norm)")
    axes[0, 0].legend(fontsize=8)
    axes[1, 0].legend(fontsize=8)
    return finish(fig)
