"""Chapter 7 (DCGAN): samples of a fixed noise batch over training, classifier metrics over training,
generators side by side, and the guideline ablation."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from gan_utils.plotting import COLORS, finish, image_grid

# metric key -> (axis label, title); the keys are fields of gan_utils.digit_metrics.GeneratedDigitMetrics
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "class_kl": ("KL(class histogram || uniform) (nats)", "class balance (lower is better)"),
    "confidence": ("mean max softmax (probability)", "classifier confidence"),
    "frechet_distance": ("Fréchet distance (classifier features²)", "Fréchet distance (lower is better)"),
    "inception_score": ("MNIST inception score (1 to 10)", "inception score"),
}


def plot_sample_evolution(snapshots: Mapping[int, torch.Tensor], nrow: int = 8, title: str | None = None) -> plt.Figure:
    """One image grid per training step, all from the same fixed noise batch: {step: images (B, C, H, W)}."""
    if not snapshots:
        raise ValueError("need at least one snapshot")
    steps = sorted(snapshots)
    fig, axes = plt.subplots(1, len(steps), figsize=(2.6 * len(steps), 2.9), squeeze=False)
    for ax, step in zip(axes[0], steps):
        image_grid(snapshots[step], nrow=nrow, ax=ax, title=f"step {step}")
    return finish(fig, title)


def plot_metric_curves(
    steps: Sequence[int], values: Mapping[str, Sequence[float]], reference: Mapping[str, float] | None = None,
    keys: Sequence[str] = ("class_kl", "confidence", "frechet_distance"), title: str | None = None,
) -> plt.Figure:
    """Classifier metrics of the generator (green) against the generator step, one panel per metric,
    with the value of real test digits as a black dashed line where ``reference`` has it."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        if key not in values:
            raise ValueError(f"no values for metric {key!r}; have {sorted(values)}")
        ylabel, panel_title = METRIC_LABELS.get(key, (key, key))
        ax.plot(steps, values[key], marker="o", ms=3, color=COLORS["generator"], label="generator")
        if reference is not None and reference.get(key) is not None:
            ax.axhline(reference[key], color=COLORS["data"], ls="--", lw=1, label="real test digits")
        ax.set(xlabel="generator step", ylabel=ylabel, title=panel_title)
        if key in ("class_kl", "frechet_distance"):
            ax.set_yscale("log")
        ax.legend(fontsize=9)
    return finish(fig, title)


def plot_side_by_side(batches: Mapping[str, torch.Tensor], nrow: int = 8, title: str | None = None) -> plt.Figure:
    """Several image batches next to each other, one titled grid each: {label: images}."""
    if not batches:
        raise ValueError("need at least one batch of images")
    fig, axes = plt.subplots(1, len(batches), figsize=(4.0 * len(batches), 4.3), squeeze=False)
    for ax, (label, images) in zip(axes[0], batches.items()):
        image_grid(images, nrow=nrow, ax=ax, title=label)
    return finish(fig, title)


def plot_ablation(
    results: Mapping[str, Mapping[str, Sequence[float]]],
    keys: Sequence[str] = ("frechet_distance", "class_kl", "confidence"),
    reference: Mapping[str, float] | None = None, title: str | None = None,
) -> plt.Figure:
    """Guideline ablation: per variant (rows of ``results``) the mean over seeds as a bar, each seed as a
    dot, per metric one panel. ``results[variant][metric]`` is the list over seeds (NaN for a diverged run)."""
    if not results:
        raise ValueError("need results for at least one variant")
    names = list(results)
    y = np.arange(len(names))
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 0.45 * len(names) + 1.6), squeeze=False,
                             sharey=True)
    for ax, key in zip(axes[0], keys):
        vals = [np.asarray(results[n][key], dtype=float) for n in names]
        means = [np.nanmean(v) if np.isfinite(v).any() else np.nan for v in vals]
        colors = [COLORS["data"] if i == 0 else COLORS["generator"] for i in range(len(names))]
        ax.barh(y, means, color=colors, alpha=0.35)
        for i, v in enumerate(vals):
            ax.scatter(v, np.full(v.shape, y[i]), color=colors[i], s=14, zorder=3)
        if reference is not None and reference.get(key) is not None:
            ax.axvline(reference[key], color=COLORS["data"], ls="--", lw=1, label="real test digits")
            ax.legend(fontsize=8, loc="lower right")
        xlabel, panel_title = METRIC_LABELS.get(key, (key, key))
        ax.set(xlabel=xlabel, title=panel_title)
    axes[0, 0].set_yticks(y, names)
    axes[0, 0].invert_yaxis()
    return finish(fig, title)


def plot_ablation_curves(
    curves: Mapping[str, Sequence[tuple[Sequence[int], Mapping[str, Sequence[float]]]]],
    keys: Sequence[str] = ("class_kl", "frechet_distance"), collapsed_kl: float | None = None,
    reference: Mapping[str, float] | None = None, title: str | None = None,
) -> plt.Figure:
    """The ablation over training: one column per variant, one row per metric, one line per seed.

    ``curves[variant]`` is a list over seeds of (scored steps, {metric: values}). ``collapsed_kl`` draws
    the collapse threshold in the class-KL row (red, dotted); ``reference`` the value of real test digits
    (black, dashed). All panels of a row share their y axis (log scale for class KL and Fréchet distance)."""
    if not curves:
        raise ValueError("need curves for at least one variant")
    names = list(curves)
    fig, axes = plt.subplots(len(keys), len(names), figsize=(2.55 * len(names) + 0.8, 2.5 * len(keys) + 0.6),
                             squeeze=False, sharex=True, sharey="row")
    for j, name in enumerate(names):
        color = COLORS["data"] if j == 0 else COLORS["generator"]
        for i, key in enumerate(keys):
            ax = axes[i, j]
            for s, (steps, values) in enumerate(curves[name]):
                ax.plot(steps, values[key], color=color, lw=1.1, alpha=0.85, label="one seed each" if s == 0 else None)
            if key == "class_kl" and collapsed_kl is not None:
                ax.axhline(collapsed_kl, color=COLORS["accent"], ls=":", lw=1, label="collapse threshold")
            if reference is not None and reference.get(key) is not None:
                ax.axhline(reference[key], color=COLORS["data"], ls="--", lw=1, label="real test digits")
            if key in ("class_kl", "frechet_distance"):
                ax.set_yscale("log")
            if i == 0:
                ax.set_title(name, fontsize=10)
            if i == len(keys) - 1:
                ax.set_xlabel("generator step")
            if j == 0:
                ax.set_ylabel(METRIC_LABELS.get(key, (key, key))[0], fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    return finish(fig, title)
