"""The book's one style (colours, fonts, grids) and the figures every chapter uses: image grids, loss
histories, 1-D densities, 2-D scatters.

A chapter's own figures live beside its computations, in the ``<topic>_plots`` modules of its part
(:mod:`gan_utils.foundations`, :mod:`gan_utils.dynamics`, :mod:`gan_utils.images`), and use the
colours and the style defined here. Functions return the matplotlib Figure so notebooks can save or
test it.
"""
from __future__ import annotations

from typing import Mapping, Sequence, cast

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch

COLORS = {"data": "black", "generator": "tab:green", "discriminator": "tab:blue", "accent": "tab:red"}


def set_style() -> None:
    """The book's matplotlib style: readable fonts, light grid, no top/right spines."""
    matplotlib.rcParams.update({
        "figure.figsize": (6.4, 4.0), "figure.dpi": 100, "savefig.dpi": 120,
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "font.size": 11, "axes.titlesize": 12, "legend.frameon": False,
    })


def finish(fig: plt.Figure, title: str | None = None, *, ax: plt.Axes | None = None, **title_kw) -> plt.Figure:
    """The end of every figure function: the title (if any) as the figure's suptitle, or as the title of
    ``ax`` when given (``title_kw`` such as ``fontsize`` go to that call), then ``fig.tight_layout()``;
    returns ``fig``."""
    if title:
        if ax is None:
            fig.suptitle(title, **title_kw)
        else:
            ax.set_title(title, **title_kw)
    fig.tight_layout()
    return fig


def figure_of(ax: plt.Axes) -> plt.Figure:
    """The figure that ``ax`` is drawn in, ``ax.figure``; typed as a Figure because the book never draws
    into a SubFigure."""
    return cast(plt.Figure, ax.figure)


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """Undo the [-1, 1] scaling of the data: x -> (x + 1) / 2, clipped to [0, 1]."""
    return ((images.detach().float().cpu() + 1) / 2).clamp(0, 1)


def image_grid(images: torch.Tensor, nrow: int = 8, title: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Show a batch (B, C, H, W) of images in [-1, 1] as one grid."""
    from torchvision.utils import make_grid  # noqa: PLC0415  (torchvision is slow to import; only image grids need it)

    if images.dim() != 4:
        raise ValueError(f"expected images of shape (B, C, H, W), got {tuple(images.shape)}")
    grid = make_grid(to_unit_range(images), nrow=nrow, padding=2, pad_value=1.0)
    if ax is None:
        ncol = min(nrow, len(images))
        nrows = int(np.ceil(len(images) / nrow))
        fig, ax = plt.subplots(figsize=(0.6 * ncol + 0.4, 0.6 * nrows + 0.6))
    else:
        fig = figure_of(ax)
    ax.imshow(grid.permute(1, 2, 0).numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def plot_history(history, keys: Sequence[str] = ("d_loss", "g_loss"), title: str | None = None) -> plt.Figure:
    """Training curves from a :class:`gan_utils.train.History` (or a dict of lists):
    losses on the left (nats), D(x) and D(G(z)) on the right."""
    h = history if isinstance(history, Mapping) else history.as_dict()
    fig, (ax_l, ax_d) = plt.subplots(1, 2, figsize=(11, 3.6))
    for key in keys:
        ax_l.plot(h["step"], h[key], label=key, lw=1)
    ax_l.set(xlabel="generator step", ylabel="loss (nats)", title="losses")
    ax_l.legend()
    ax_d.plot(h["step"], h["d_real"], label="mean D(x), real", color=COLORS["data"], lw=1)
    ax_d.plot(h["step"], h["d_fake"], label="mean D(G(z)), fake", color=COLORS["generator"], lw=1)
    ax_d.axhline(0.5, color="gray", ls="--", lw=0.8, label="1/2 (equilibrium)")
    ax_d.set(xlabel="generator step", ylabel="discriminator output", title="discriminator")
    ax_d.legend()
    return finish(fig, title)


def plot_density_1d(
    x: np.ndarray, p_data: np.ndarray, p_g: np.ndarray | None = None, d: np.ndarray | None = None,
    samples: np.ndarray | None = None, ax: plt.Axes | None = None, title: str | None = None,
) -> plt.Figure:
    """The picture of Goodfellow et al. (2014), Figure 1: p_data (black), p_g (green), D (blue)."""
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = figure_of(ax)
    ax.plot(x, p_data, color=COLORS["data"], ls=":", lw=2, label=r"$p_\mathrm{data}$")
    if p_g is not None:
        ax.plot(x, p_g, color=COLORS["generator"], lw=2, label=r"$p_g$")
    if samples is not None:
        ax.hist(np.asarray(samples).ravel(), bins=60, density=True, color=COLORS["generator"], alpha=0.2)
    ax.set(xlabel="x", ylabel="density")
    if d is not None:
        ax_d = ax.twinx()
        ax_d.plot(x, d, color=COLORS["discriminator"], ls="--", lw=1.5, label="D(x)")
        ax_d.set_ylim(0, 1.05)
        ax_d.set_ylabel("D(x)", color=COLORS["discriminator"])
        ax_d.grid(False)
        ax_d.spines["right"].set_visible(True)
        handles = ax.get_legend_handles_labels()[0] + ax_d.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left")
    else:
        ax.legend(loc="upper left")
    if title:
        ax.set_title(title)
    return fig


def scatter_2d(samples: np.ndarray | torch.Tensor, means: np.ndarray | torch.Tensor | None = None,
               ax: plt.Axes | None = None, title: str | None = None) -> plt.Figure:
    """Generated 2-D samples (green dots) and the mixture's mode means (black crosses)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 4.2))
    else:
        fig = figure_of(ax)
    s = torch.as_tensor(samples).detach().cpu().numpy()
    ax.scatter(s[:, 0], s[:, 1], s=3, alpha=0.4, color=COLORS["generator"], label="samples")
    if means is not None:
        m = torch.as_tensor(means).detach().cpu().numpy()
        ax.scatter(m[:, 0], m[:, 1], marker="x", color=COLORS["data"], s=40, label="mode means")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
    if title:
        ax.set_title(title)
    return fig
