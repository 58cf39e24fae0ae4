"""Figures of chapter 6 (mode collapse). Every function returns the Figure."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter
from scipy import stats

from gan_utils.dynamics.support_size import BirthdayResult
from gan_utils.plotting import COLORS, finish


def plot_best_response(x: np.ndarray, d_values: np.ndarray, before: np.ndarray, after: np.ndarray) -> plt.Figure:
    """A fixed D(x) (blue) and histograms of G's samples before and after training against it."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    ax.plot(x, d_values, color=COLORS["discriminator"], label="fixed D(x)")
    ax.axvline(x[np.argmax(d_values)], color=COLORS["discriminator"], ls=":", lw=1, label="arg max D")
    ax2 = ax.twinx()
    bins = np.linspace(x.min(), x.max(), 121).tolist()
    ax2.hist(before, bins=bins, density=True, color="gray", alpha=0.4, label="G's samples, before")
    ax2.hist(after, bins=bins, density=True, color=COLORS["generator"], alpha=0.6, label="G's samples, after")
    ax.set(xlabel="x", ylabel="D(x)", ylim=(0, 1), title="best response of G to a fixed D")
    ax2.set_ylabel("sample density (1/unit of x)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=9)
    return finish(fig)


def plot_kl_fits(x: np.ndarray, p: np.ndarray, q_forward: np.ndarray, q_reverse: np.ndarray) -> plt.Figure:
    """p_data (black) and the two Gaussian fits: forward KL(p||q) and reverse KL(q||p)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ax.plot(x, p, color=COLORS["data"], lw=2, label=r"$p_\mathrm{data}$ (two modes)")
    ax.plot(x, q_forward, color=COLORS["accent"], ls="--", label=r"argmin KL$(p\|q)$: mean seeking (MLE)")
    ax.plot(x, q_reverse, color=COLORS["generator"], label=r"argmin KL$(q\|p)$: mode seeking")
    ax.set(xlabel="x", ylabel="density (1/unit of x)", title="one Gaussian fitted to two modes")
    ax.legend(fontsize=9)
    return finish(fig)


def _scatter_kde(ax: plt.Axes, samples: np.ndarray, means: np.ndarray, lim: float) -> None:
    ax.scatter(means[:, 0], means[:, 1], s=30, marker="x", color=COLORS["data"], lw=1.2, zorder=3)
    ax.scatter(samples[:, 0], samples[:, 1], s=2, color=COLORS["generator"], alpha=0.3, lw=0)
    inside = np.all(np.abs(samples) < lim, axis=1)
    pts = samples[inside]
    if len(pts) > 10 and np.linalg.matrix_rank(np.cov(pts.T)) == 2:
        g = np.linspace(-lim, lim, 80)
        xx, yy = np.meshgrid(g, g)
        dens = stats.gaussian_kde(pts.T, bw_method=0.15)(np.vstack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
        ax.contour(xx, yy, dens, levels=5, colors=COLORS["generator"], linewidths=0.6)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")


def plot_samples_over_training(snapshots: Mapping[str, Sequence[tuple[int, torch.Tensor]]], means: torch.Tensor,
                               lim: float) -> plt.Figure:
    """Rows: methods; columns: generator steps. Generated samples (green dots, KDE contours) and the
    data means (black crosses)."""
    names = list(snapshots)
    ncol = max(len(v) for v in snapshots.values())
    fig, axes = plt.subplots(len(names), ncol, figsize=(2.3 * ncol, 2.4 * len(names)), squeeze=False)
    mu = torch.as_tensor(means).cpu().numpy()
    for r, name in enumerate(names):
        for c in range(ncol):
            ax = axes[r, c]
            if c >= len(snapshots[name]):
                ax.set_axis_off()
                continue
            step, x = snapshots[name][c]
            _scatter_kde(ax, torch.as_tensor(x).cpu().numpy(), mu, lim)
            ax.set_title(f"{name}, step {step}", fontsize=9)
            ax.tick_params(labelsize=7)
            if c == 0:
                ax.set_ylabel("$x_2$")
            if r == len(names) - 1:
                ax.set_xlabel("$x_1$")
    return finish(fig)


def plot_mode_histogram(counts: np.ndarray, title: str, xlabel: str = "mode") -> plt.Figure:
    """Counts of samples per mode (or class), with the uniform level dashed."""
    counts = np.asarray(counts)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(np.arange(len(counts)), counts, color=COLORS["generator"], width=0.8 if len(counts) < 50 else 1.0)
    ax.axhline(counts.sum() / len(counts), color=COLORS["data"], ls="--", lw=1, label="uniform")
    ax.set(xlabel=xlabel, ylabel="number of samples", title=title)
    ax.legend()
    return finish(fig)


def plot_birthday(results: Mapping[str, BirthdayResult], support_note: str = "") -> plt.Figure:
    """Share of batches holding a near-duplicate pair vs batch size s, one line per sample source."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    colors = [COLORS["generator"], COLORS["data"], COLORS["accent"], COLORS["discriminator"]]
    for (name, res), color in zip(results.items(), colors):
        ax.plot(res.sizes, res.collision_prob, "o-", color=color, label=name)
    ax.axhline(0.5, color="gray", ls="--", lw=0.8)
    ax.set(xscale="log", xlabel="batch size s (samples)", ylabel="P(near-duplicate pair in batch)",
           ylim=(-0.03, 1.03), title="birthday-paradox test" + (f" ({support_note})" if support_note else ""))
    sizes = sorted({int(v) for res in results.values() for v in res.sizes})
    ax.set_xticks(sizes, [str(v) for v in sizes])  # label the batch sizes tried (after set_xscale)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=9)
    return finish(fig)


def plot_final_samples(samples: Mapping[str, Mapping[str, torch.Tensor]], means: Mapping[str, torch.Tensor],
                       lims: Mapping[str, float]) -> plt.Figure:
    """Rows: benchmarks; columns: methods. Each method's generated samples at the end of training (green
    dots, KDE contours) over the data means (black crosses); ``lims[benchmark]`` is the half-width shown."""
    rows = list(samples)
    cols = list(dict.fromkeys(m for r in rows for m in samples[r]))
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(1.9 * len(cols), 2.05 * len(rows)), squeeze=False)
    for r, bench in enumerate(rows):
        mu = torch.as_tensor(means[bench]).cpu().numpy()
        for c, method in enumerate(cols):
            ax = axes[r, c]
            if method not in samples[bench]:
                ax.set_axis_off()
                continue
            _scatter_kde(ax, torch.as_tensor(samples[bench][method]).cpu().numpy(), mu, lims[bench])
            ax.tick_params(labelsize=6)
            if r == 0:
                ax.set_title(method, fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{bench}\n$x_2$", fontsize=9)
            if r == len(rows) - 1:
                ax.set_xlabel("$x_1$", fontsize=9)
    return finish(fig)


def plot_coverage_curves(curves: Mapping[str, Mapping[str, Sequence[tuple[int, Sequence]]]],
                         n_modes: Mapping[str, int]) -> plt.Figure:
    """Training curves of the 2-D benchmarks: for each benchmark (columns), the mean over seeds of the modes
    captured (top) and of the high-quality share (bottom) at each scored step, one line per method.
    ``curves[benchmark][method]`` is a list of (step, per-seed :class:`ModeCoverage` scores)."""
    benches = list(curves)
    fig, axes = plt.subplots(2, len(benches), figsize=(5.2 * len(benches), 6.0), squeeze=False, sharex="col")
    for c, bench in enumerate(benches):
        for i, (method, curve) in enumerate(curves[bench].items()):
            steps = [s for s, _ in curve]
            modes = [np.mean([r.modes_captured for r in scores]) for _, scores in curve]
            hq = [np.mean([r.high_quality_fraction for r in scores]) for _, scores in curve]
            style = dict(color=plt.get_cmap("tab10")(i % 10), marker="o", markersize=3, label=method,
                         lw=2.2 if method == "GAN" else 1.4, ls="-" if method == "GAN" else "--")
            axes[0, c].plot(steps, modes, **style)
            axes[1, c].plot(steps, hq, **style)
        axes[0, c].axhline(n_modes[bench], color="0.5", lw=0.8)
        axes[0, c].set(title=f"{bench}: modes captured (of {n_modes[bench]})", ylabel="modes, mean over seeds",
                       ylim=(0, n_modes[bench] + 1))
        axes[1, c].set(title=f"{bench}: high-quality share", ylabel="share, mean over seeds", xlabel="generator step",
                       ylim=(0, 1))
        axes[1, c].xaxis.set_major_locator(MaxNLocator(5, integer=True))
        axes[1, c].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        axes[0, c].legend(fontsize=8, loc="lower right")
    return finish(fig)


def plot_ring_kl_fits(fits: Mapping[str, np.ndarray], means: np.ndarray, lim: float = 1.4) -> plt.Figure:
    """One panel per fit: samples of the fitted mixture q (green dots) over the ring's means (black crosses).

    ``fits`` maps a panel title to samples (n, 2) of that fit."""
    fig, axes = plt.subplots(1, len(fits), figsize=(3.6 * len(fits), 3.6), squeeze=False)
    means = np.asarray(means)
    for ax, (title, samples) in zip(axes[0], fits.items()):
        samples = np.asarray(samples)
        ax.scatter(means[:, 0], means[:, 1], s=60, marker="x", color=COLORS["data"], lw=1.0, zorder=1)
        ax.scatter(samples[:, 0], samples[:, 1], s=4, color=COLORS["generator"], alpha=0.4, lw=0, zorder=2)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=title, xlabel="$x_1$", ylabel="$x_2$")
    return finish(fig)


def animate_samples(frames: Mapping[str, Sequence[tuple[int, np.ndarray | torch.Tensor]]],
                    means: np.ndarray | torch.Tensor,
                    *, lim: float = 1.5, title: str = "samples over training", dpi: int = 72,
                    max_frames: int = 12) -> animation.FuncAnimation:
    """An animation of generated samples over training: one panel per label, one frame per snapshot step.

    ``frames`` maps a label (e.g. "GAN", "PacGAN4") to ``[(step, samples (n, 2)), ...]``; every label has
    the same steps. The data means are black crosses, the samples green dots; the step is in the title.
    At most ``max_frames`` evenly spaced snapshots are kept (first and last included) and the figure has
    ``dpi`` dots per inch, so that the HTML of :func:`gan_utils.pages.quote_animation` stays small.
    """
    if not frames:
        raise ValueError("frames is empty: give at least one label with snapshots")
    steps = [[int(s) for s, _ in snaps] for snaps in frames.values()]
    if not steps[0] or any(st != steps[0] for st in steps):
        raise ValueError(f"every label needs the same non-empty list of steps, got {steps}")
    keep = np.unique(np.linspace(0, len(steps[0]) - 1, min(max_frames, len(steps[0]))).round().astype(int))
    data = {label: [np.asarray(torch.as_tensor(snaps[i][1]).detach().cpu()) for i in keep]
            for label, snaps in frames.items()}
    means = np.asarray(torch.as_tensor(means).cpu())
    fig, axes = plt.subplots(1, len(data), figsize=(3.2 * len(data), 3.4), squeeze=False, dpi=dpi)
    dots = []
    for ax, label in zip(axes[0], data):
        ax.scatter(means[:, 0], means[:, 1], s=30, marker="x", color=COLORS["data"], lw=1.2, zorder=3)
        dots.append(ax.scatter(data[label][0][:, 0], data[label][0][:, 1], s=3, color=COLORS["generator"],
                               alpha=0.4, lw=0))
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=label, xlabel="$x_1$", ylabel="$x_2$")
    sup = fig.suptitle("")
    fig.tight_layout()

    def draw(j: int):
        for dot, label in zip(dots, data):
            dot.set_offsets(data[label][j])
        sup.set_text(f"{title}: step {steps[0][keep[j]]}")
        return (*dots, sup)

    draw(0)
    return animation.FuncAnimation(fig, draw, frames=len(keep), blit=False)
