"""Figures of chapter 10 (GAN dissection): unit masks against concept masks, best IoUs per layer,
intervention effects against random controls, and images before and after an intervention."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from gan_utils.plotting import COLORS, finish, to_unit_range


def plot_unit_masks(images: torch.Tensor, unit_maps: torch.Tensor, thresholds: Sequence[float],
                    concept_masks: Sequence[np.ndarray], row_labels: Sequence[str],
                    n_samples: int = 6) -> plt.Figure:
    """One row per unit: generated digits with the unit's thresholded, upsampled map (green filled
    contour) and the concept mask it matches best (red outline).

    images (N, 1, S, S) in [-1, 1]; unit_maps (R, N, S, S) upsampled maps of R units; thresholds (R,);
    concept_masks: R boolean arrays (N, S, S); row_labels: R strings.
    """
    r = len(row_labels)
    if not (len(unit_maps) == len(thresholds) == len(concept_masks) == r):
        raise ValueError("unit_maps, thresholds, concept_masks and row_labels need one entry per row")
    n = min(n_samples, len(images))
    fig, axes = plt.subplots(r, n, figsize=(1.3 * n + 1.6, 1.35 * r + 0.3), squeeze=False)
    pics = to_unit_range(images)[:, 0].numpy()
    for i in range(r):
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(pics[j], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            unit = np.asarray(unit_maps[i][j]) > thresholds[i]
            if unit.any():
                ax.contourf(unit.astype(float), levels=[0.5, 1.5], colors=[COLORS["generator"]], alpha=0.45)
            if concept_masks[i][j].any():
                ax.contour(concept_masks[i][j].astype(float), levels=[0.5], colors=[COLORS["accent"]], linewidths=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        axes[i, 0].set_ylabel(row_labels[i], rotation=0, ha="right", va="center", fontsize=9)
    return finish(fig, "unit mask (green) vs concept mask (red outline), 28 x 28 pixels", fontsize=10)


def plot_best_iou(best: Mapping[str, Mapping[str, float]], title: str = "best unit per concept",
                  shares: Mapping[str, float] | None = None) -> plt.Figure:
    """Grouped bars: for each concept, the best unit's IoU in each layer. best = {layer: {concept: IoU}}.

    ``shares`` = {concept: share of the pixels} marks each concept's chance bound (an independent mask
    reaches at most the concept's share, eq. ``eq-ch10-chance``) with a black tick across its bars.
    """
    layers = list(best)
    if not layers:
        raise ValueError("need at least one layer")
    concepts = list(best[layers[0]])
    missing = sorted(set(concepts) - set(shares)) if shares is not None else []
    if missing:
        raise ValueError(f"shares lacks concepts {missing}")
    x = np.arange(len(concepts))
    width = 0.8 / len(layers)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(concepts) + 1.5), 3.6))
    for i, layer in enumerate(layers):
        ax.bar(x + (i - (len(layers) - 1) / 2) * width, [best[layer][c] for c in concepts], width, label=layer)
    if shares is not None:
        ax.hlines([shares[c] for c in concepts], x - 0.45, x + 0.45, colors="black", lw=1.5,
                  label="chance bound (share of pixels)")
    top = max(max(best[layer][c] for c in concepts) for layer in layers)
    if shares is not None:
        top = max(top, max(shares[c] for c in concepts))
    ax.set_xticks(x, concepts, rotation=40, ha="right")
    ax.set(ylabel="IoU (evaluation set)", title=title, ylim=(0, min(1.0, 1.2 * top + 0.02)))
    ax.legend(title="layer")
    return finish(fig)


def plot_effects(sizes: Sequence[int], top: Sequence[Mapping[str, float]], control: Sequence[Mapping[str, float]],
                 ylabel: str, title: str) -> plt.Figure:
    """Effect of an intervention on n top units (mean with 95% interval over samples) against n random
    units (mean of the draws' means, bars: one standard deviation across draws), for each n in sizes."""
    if not (len(sizes) == len(top) == len(control)):
        raise ValueError("sizes, top and control need the same length")
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    ax.errorbar(sizes, [t["mean"] for t in top], yerr=[t["ci95"] for t in top], marker="o", capsize=3,
                color=COLORS["generator"], label="top units for the concept")
    ax.errorbar(sizes, [c["mean"] for c in control], yerr=[c["sd"] for c in control], marker="s", capsize=3,
                color="gray", label="random units (± sd over draws)")
    ax.axhline(0, color=COLORS["data"], lw=0.8)
    ax.set(xlabel="number of units n", ylabel=ylabel, title=title)
    ax.legend()
    return finish(fig)


def plot_before_after(rows: Mapping[str, torch.Tensor], n: int = 10,
                      box: tuple[int, int, int, int] | None = None) -> plt.Figure:
    """Rows of images (N, 1, S, S) in [-1, 1] with the same z, one row per condition; ``box``
    (row0, row1, col0, col1) in pixels draws the intervention's region."""
    names = list(rows)
    fig, axes = plt.subplots(len(names), n, figsize=(1.0 * n + 1.6, 1.05 * len(names) + 0.3), squeeze=False)
    for i, name in enumerate(names):
        pics = to_unit_range(rows[name])[:, 0].numpy()
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(pics[j], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            if box is not None:
                r0, r1, c0, c1 = box
                ax.add_patch(plt.Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False,
                                           edgecolor=COLORS["accent"], lw=1))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        axes[i, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    return finish(fig)
