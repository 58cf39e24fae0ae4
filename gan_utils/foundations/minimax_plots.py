"""Chapter 2 (the minimax game): Figure 1 of Goodfellow et al. (2014) from real training snapshots,
a small-multiples grid and a slider over the snapshots, and the effect of k in Algorithm 1."""
from __future__ import annotations

import io
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from gan_utils.foundations.optimal_discriminator import optimal_discriminator
from gan_utils.plotting import COLORS, figure_of, finish

_BELOW = 0.55  # the mapping lines take this fraction of the density axis' height, below zero


def plot_figure1_panel(snap, p_data: np.ndarray, ax: plt.Axes | None = None, title: str | None = None,
                       legend: bool = True, z_interval: tuple[float, float] | None = None,
                       top: float | None = None, show_d_star: bool = False) -> plt.Figure:
    """One panel of Figure 1 from a :class:`gan_utils.foundations.minimax.Snapshot`.

    p_data black dotted, p_g (KDE of G's samples) green solid, D(x) blue dashed on the right axis
    (probability, 0 at the same height as density 0). Below: the lower line is the domain of
    z ~ U(0, 1), drawn over ``z_interval`` of the x axis (default: the middle 60% of the grid), the
    upper line is the x axis, and each arrow joins a fixed z to x = G(z). ``top``: upper limit of the
    density axis (default: from this panel's densities). ``show_d_star``: also draw the optimal
    discriminator D* = p_data / (p_data + p_g) for this p_g (thin, light blue), with a gap where both
    densities vanish and D* is undefined.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.0, 3.6))
    else:
        fig = figure_of(ax)
    x = snap.x
    top = top if top is not None else 1.12 * max(float(np.max(p_data)), float(np.max(snap.p_g)))
    ax.plot(x, p_data, color=COLORS["data"], ls=":", lw=2.2, label=r"$p_\mathrm{data}$")
    ax.plot(x, snap.p_g, color=COLORS["generator"], lw=1.8, label=r"$p_g$ (KDE of $G(z)$)")
    y_x, y_z = -0.12 * top, -0.45 * top
    lo, hi = z_interval if z_interval is not None else (x[0] + 0.2 * (x[-1] - x[0]), x[-1] - 0.2 * (x[-1] - x[0]))
    z_pos = lo + snap.u * (hi - lo)
    ax.hlines([y_x], x[0], x[-1], color="0.3", lw=1)
    ax.hlines([y_z], lo, hi, color="0.3", lw=1)
    inside = (snap.g_u >= x[0]) & (snap.g_u <= x[-1])
    ax.quiver(z_pos[inside], np.full(inside.sum(), y_z), snap.g_u[inside] - z_pos[inside],
              np.full(inside.sum(), y_x - y_z), angles="xy", scale_units="xy", scale=1, color=COLORS["generator"],
              alpha=0.8, width=0.004, headwidth=4, headlength=5, headaxislength=4.5)
    ax.text(lo, y_z, "z ~ U(0,1) ", ha="right", va="center", fontsize=8)
    ax.text(x[0], y_x, " x", ha="left", va="bottom", fontsize=8)
    ax.set_ylim(-_BELOW * top, top)
    ax.set_xlim(x[0], x[-1])
    ax.set_yticks([t for t in ax.get_yticks() if 0 <= t <= top])
    ax.set(xlabel="x (data units)", ylabel="density (1 / data unit)")
    ax_d = ax.twinx()
    ax_d.plot(x, snap.d, color=COLORS["discriminator"], ls="--", lw=1.6, label="D(x)")
    if show_d_star:
        ax_d.plot(x, optimal_discriminator(p_data, snap.p_g, both_zero=np.nan), color=COLORS["discriminator"],
                  lw=0.9, alpha=0.45, label=r"$D^*$ for this $p_g$")
    d_top = 1.05
    ax_d.set_ylim(-_BELOW * d_top, d_top)
    ax_d.set_yticks([0, 0.5, 1])
    ax_d.set_ylabel("D(x) (probability)", color=COLORS["discriminator"])
    ax_d.grid(False)
    ax_d.spines["right"].set_visible(True)
    if legend:
        handles = ax.get_legend_handles_labels()[0] + ax_d.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _common_top(snapshots: Sequence, p_data: np.ndarray, cap: float = 2.5) -> float:
    """A density scale shared by panels: the largest density shown, but at most ``cap`` times p_data's
    peak, so that one collapsed p_g (a spike, e.g. an untrained G) does not flatten every other panel;
    taller curves are clipped at the top of their panel."""
    peak = float(np.max(p_data))
    return 1.12 * min(max([peak] + [float(np.max(s.p_g)) for s in snapshots]), cap * peak)


def plot_figure1(snapshots: Sequence, p_data: np.ndarray, titles: Sequence[str] | None = None,
                 suptitle: str | None = None, show_d_star: Sequence[bool] | None = None) -> plt.Figure:
    """Panels (a)-(d) side by side, one per snapshot, on a common density scale (see
    :func:`plot_figure1_panel`; densities above 2.5 times p_data's peak are clipped); ``show_d_star[i]``
    adds D* to panel i."""
    n = len(snapshots)
    if n == 0:
        raise ValueError("need at least one snapshot")
    fig, axes = plt.subplots(1, n, figsize=(4.3 * n, 3.8), squeeze=False)
    top = _common_top(snapshots, p_data)
    for i, (ax, snap) in enumerate(zip(axes[0], snapshots)):
        plot_figure1_panel(snap, p_data, ax=ax, title=titles[i] if titles else snap.label, legend=i == 0,
                           top=top, show_d_star=bool(show_d_star[i]) if show_d_star else False)
    return finish(fig, suptitle)


def plot_snapshot_grid(snapshots: Sequence, p_data: np.ndarray, ncols: int = 4,
                       suptitle: str | None = None) -> plt.Figure:
    """Small multiples: one Figure 1 panel per snapshot (its label as the title), ``ncols`` per row, on a
    common density scale (densities above 2.5 times p_data's peak are clipped)."""
    n = len(snapshots)
    if n == 0 or ncols < 1:
        raise ValueError("need at least one snapshot and ncols >= 1")
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.9 * nrows), squeeze=False)
    top = _common_top(snapshots, p_data)
    for i, ax in enumerate(axes.flat):
        if i < n:
            plot_figure1_panel(snapshots[i], p_data, ax=ax, title=snapshots[i].label, legend=i == 0, top=top)
        else:
            ax.set_axis_off()
    return finish(fig, suptitle)


def snapshot_slider(snapshots: Sequence, p_data: np.ndarray, dpi: int = 72):
    """An ipywidgets viewer: a Play button and an IntSlider that step through the snapshots.

    Every snapshot is rendered once, up front, to a PNG held by an ``ipywidgets.Image``; the images
    sit in a ``Stack`` whose ``selected_index`` is linked to the slider in the browser (``jslink``), so
    the viewer also works in the static HTML book, with no kernel running. Returns the widget.
    """
    import ipywidgets as widgets  # noqa: PLC0415  (only in the `book` extra)

    if len(snapshots) == 0:
        raise ValueError("need at least one snapshot")
    images = []
    top = _common_top(snapshots, p_data)
    for snap in snapshots:
        fig = plot_figure1_panel(snap, p_data, title=snap.label, top=top)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        plt.close(fig)
        images.append(widgets.Image(value=buf.getvalue(), format="png"))
    stack = widgets.Stack(images, selected_index=0)
    slider = widgets.IntSlider(value=0, min=0, max=len(snapshots) - 1, description="snapshot",
                               continuous_update=True)
    play = widgets.Play(value=0, min=0, max=len(snapshots) - 1, interval=600, description="play")
    widgets.jslink((play, "value"), (slider, "value"))
    widgets.jslink((slider, "value"), (stack, "selected_index"))
    return widgets.VBox([widgets.HBox([play, slider]), stack])


def plot_k_ablation(jsd_by_k: Mapping[int, Sequence[float]], floor: float | None = None,
                    steps: int | None = None, title: str | None = None) -> plt.Figure:
    """JSD(p_data || p_g) at the end of training for each k (discriminator steps per generator step):
    one dot per seed, the mean with +- one standard deviation as an error bar, and optionally the
    KDE floor (the JSD that samples of p_data itself get) as a grey line."""
    if not jsd_by_k:
        raise ValueError("need results for at least one k")
    fig, ax = plt.subplots(figsize=(5.4, 3.8))
    ks = list(jsd_by_k)
    for i, k in enumerate(ks):
        v = np.asarray(jsd_by_k[k], dtype=np.float64)
        jitter = np.linspace(-0.12, 0.12, v.size) if v.size > 1 else np.zeros(1)
        ax.scatter(i + jitter, v, color=COLORS["generator"], s=18, alpha=0.7, zorder=3,
                   label="one seed" if i == 0 else None)
        sd = v.std(ddof=1) if v.size > 1 else 0.0
        ax.errorbar(i + 0.3, v.mean(), yerr=sd, fmt="o", color=COLORS["data"], capsize=4, zorder=4,
                    label="mean ± sd" if i == 0 else None)
    if floor is not None:
        ax.axhline(floor, color="gray", ls="--", lw=1, label="KDE floor (samples of $p_\\mathrm{data}$)")
    ax.set_xticks(range(len(ks)), [f"k = {k}" for k in ks])
    budget = f" after {steps} generator steps" if steps is not None else ""
    ax.set(xlabel="discriminator steps per generator step", ylabel=f"JSD(p_data ‖ p_g){budget} (nats)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return finish(fig, title, ax=ax)
