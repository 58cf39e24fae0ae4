"""Figures of chapter 8 (the latent space): norm histograms against the chi distribution, lerp vs
slerp profiles, nearest-neighbour distances, vector arithmetic grids and attribute sweeps."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy import stats

from gan_utils.plotting import COLORS, finish, image_grid, to_unit_range

METHOD_COLORS = {"lerp": COLORS["accent"], "slerp": COLORS["generator"]}


def plot_norms(z_norms: np.ndarray, mid_norms: np.ndarray, d: int, title: str | None = None) -> plt.Figure:
    """Histograms of |z| for z ~ N(0, I_d) and of the lerp midpoint's norm, with the chi(d) density
    and its 1/sqrt(2)-scaled version (eq-ch08-chi, eq-ch08-lerp-norm)."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    lo = min(z_norms.min(), mid_norms.min()) * 0.9
    hi = max(z_norms.max(), mid_norms.max()) * 1.05
    r = np.linspace(lo, hi, 400)
    bins = np.linspace(lo, hi, 60).tolist()
    ax.hist(z_norms, bins=bins, density=True, alpha=0.45, color=COLORS["generator"], label="|z|, samples")
    ax.hist(mid_norms, bins=bins, density=True, alpha=0.45, color=COLORS["accent"], label="|(z0 + z1)/2|, samples")
    ax.plot(r, stats.chi.pdf(r, d), color=COLORS["data"], lw=1.5, label=f"chi({d}) density")
    s = 1 / math.sqrt(2)
    ax.plot(r, stats.chi.pdf(r / s, d) / s, color=COLORS["data"], lw=1.5, ls="--", label=f"chi({d}) / sqrt(2)")
    ax.axvline(math.sqrt(d), color="grey", lw=1, ls=":", label=f"sqrt(d) = {math.sqrt(d):.1f}")
    ax.set(xlabel="norm (latent units)", ylabel="density", title=title or "Norms of Gaussian codes concentrate")
    ax.legend(fontsize=9)
    return fig


def _mean_se(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return a.mean(axis=1), a.std(axis=1, ddof=1) / math.sqrt(a.shape[1])


def plot_path_profiles(profiles: Mapping[str, Mapping[str, np.ndarray]], title: str | None = None) -> plt.Figure:
    """Mean +- 2 SE over pairs along the path (t from 0 to 1) of |z_t|/sqrt(d), the classifier's
    confidence and D(G(z_t)), one line per interpolation method."""
    keys = [("norm", "|z_t| / sqrt(d)"), ("confidence", "classifier max p(y|x)"), ("realness", "D(G(z_t))")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for name, prof in profiles.items():
        t = prof["t"]
        for ax, (key, label) in zip(axes, keys):
            m, se = _mean_se(prof[key])
            c = METHOD_COLORS.get(name, None)
            ax.plot(t, m, marker="o", ms=3, color=c, label=name)
            ax.fill_between(t, m - 2 * se, m + 2 * se, color=c, alpha=0.2)
            ax.set(xlabel="position t along the path", ylabel=label)
    axes[0].legend()
    return finish(fig, title or "Along the path between two codes (mean +- 2 SE over pairs)")


def plot_interpolations(rows: Mapping[str, torch.Tensor], title: str | None = None) -> plt.Figure:
    """One row of images per path, drawn as a single image: ``rows[name]`` has shape (T, C, H, W)."""
    from torchvision.utils import make_grid  # noqa: PLC0415  (torchvision is slow to import; only this figure needs it)

    T = len(next(iter(rows.values())))
    if any(len(r) != T for r in rows.values()):
        raise ValueError("every row needs the same number of images")
    images = torch.cat([to_unit_range(r) for r in rows.values()])
    grid = make_grid(images, nrow=T, padding=2, pad_value=1.0)  # (C, H', W')
    fig, ax = plt.subplots(figsize=(0.6 * T + 2.2, 0.6 * len(rows) + 0.6))
    ax.imshow(grid.permute(1, 2, 0).numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    h = images.shape[-2] + 2
    ax.set_yticks([2 + h * k + h / 2 - 1 for k in range(len(rows))], list(rows), fontsize=9)
    ax.set_xticks([])
    ax.grid(False)
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(False)
    return finish(fig, title, ax=ax, fontsize=10)


def plot_nn_distances(distances: Mapping[str, np.ndarray], title: str | None = None) -> plt.Figure:
    """Histograms of nearest-training-image distances (L2 in pixel space, images in [-1, 1])."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    allv = np.concatenate(list(distances.values()))
    bins = np.linspace(allv.min() * 0.95, allv.max() * 1.02, 50).tolist()
    palette = {"test images": COLORS["data"], "samples G(z)": COLORS["generator"]}
    for name, d in distances.items():
        ax.hist(d, bins=bins, density=True, histtype="step", lw=1.8, color=palette.get(name),
                label=f"{name} (median {np.median(d):.2f})")
    ax.set(xlabel="L2 distance to the nearest training image (pixel units, [-1, 1] scale)", ylabel="density",
           title=title or "How far from the training set?")
    ax.legend(fontsize=9)
    return fig


def plot_nearest_pairs(queries: torch.Tensor, neighbours: torch.Tensor, distances: np.ndarray,
                       title: str | None = None) -> plt.Figure:
    """Queries (top row) above their nearest training images (bottom row), distances on top."""
    n = len(queries)
    fig, axes = plt.subplots(2, n, figsize=(0.9 * n + 0.4, 2.3))
    axes = np.atleast_2d(axes).reshape(2, n)
    for j in range(n):
        for i, img in enumerate((queries[j], neighbours[j])):
            axes[i, j].imshow(((img[0].float().cpu() + 1) / 2).clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
            axes[i, j].set_axis_off()
        axes[0, j].set_title(f"{distances[j]:.1f}", fontsize=8)
    return finish(fig, title or "query (top) and its nearest training image (bottom); L2 distance above")


def plot_arithmetic(groups: Sequence[torch.Tensor], names: Sequence[str], signs: Sequence[int],
                    result: torch.Tensor, title: str | None = None) -> plt.Figure:
    """The DCGAN Figure 7 layout: one column of exemplar images per concept (with the decoded mean code
    at the bottom), then the 3 x 3 grid of the result (centre: G(y); around it: y + uniform noise)."""
    k = len(groups)
    fig, axes = plt.subplots(1, k + 1, figsize=(1.3 * k + 3.2, 4.0), gridspec_kw={"width_ratios": [1] * k + [2.6]})
    for ax, g, name, s in zip(axes[:-1], groups, names, signs):
        image_grid(g, nrow=1, ax=ax)
        ax.set_title(f"{'+' if s > 0 else '-'} {name}", fontsize=9)
    order = [1, 2, 3, 4, 0, 5, 6, 7, 8]  # the unperturbed code in the centre of the 3 x 3 grid
    image_grid(result[order], nrow=3, ax=axes[-1])
    axes[-1].set_title("= G(y), centre; y + U(-0.25, 0.25)", fontsize=9)
    return finish(fig, title or "Vector arithmetic on mean codes")


def plot_attribute_sweep(tables: Mapping[str, Sequence[Mapping[str, float]]], unit: str,
                         attribute: str, title: str | None = None) -> plt.Figure:
    """Left: mean change of the attribute against alpha (+- 2 SE, paired with alpha = 0); right:
    share of images that keep their class, one line per direction (tables from Sweep.table())."""
    fig, (ax_a, ax_c) = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, (name, rows) in enumerate(tables.items()):
        a = np.array([r["alpha"] for r in rows])
        ch = np.array([r["change"] for r in rows])
        se = np.array([r["change_se"] for r in rows])
        kept = np.array([r["class_kept"] for r in rows])
        c = [COLORS["generator"], COLORS["discriminator"], COLORS["accent"], COLORS["data"]][i % 4]
        ax_a.plot(a, ch, marker="o", ms=3, color=c, label=name)
        ax_a.fill_between(a, ch - 2 * se, ch + 2 * se, color=c, alpha=0.2)
        ax_c.plot(a, kept, marker="o", ms=3, color=c, label=name)
    ax_a.axhline(0, color="grey", lw=0.8)
    ax_a.set(xlabel="strength alpha", ylabel=f"change in {attribute} ({unit})", title=f"{attribute} of G(z + alpha v)")
    ax_c.set(xlabel="strength alpha", ylabel="share with the class of G(z)", ylim=(0, 1.02),
             title="class kept (classifier)")
    ax_a.legend(fontsize=9)
    fig.suptitle(title or "")  # also when empty: tight_layout then keeps a title's height free above the panels
    return finish(fig)


def plot_sweep_images(images: torch.Tensor, alphas: Sequence[float], title: str | None = None) -> plt.Figure:
    """Images (A, N, C, H, W) of a sweep: one column per alpha, one row per code."""
    A, N = images.shape[:2]
    grid = images.transpose(0, 1).reshape(A * N, *images.shape[2:])
    fig, ax = plt.subplots(figsize=(0.62 * A + 0.6, 0.62 * N + 0.8))
    image_grid(grid, nrow=A, ax=ax)
    ax.set_title(title or "alpha = " + ", ".join(f"{a:g}" for a in alphas), fontsize=9)
    return fig
