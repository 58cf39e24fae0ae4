"""Figures of chapter 9 (GAN inversion and the GAN prior)."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from gan_utils.plotting import COLORS, finish, to_unit_range


def plot_image_rows(rows: Mapping[str, torch.Tensor], ncol: int = 8, title: str | None = None) -> plt.Figure:
    """One labelled row of images per entry of ``rows`` (each (N, 1, H, W) grey or (N, 3, H, W) colour, in [-1, 1]);
    the first ``ncol`` shown."""
    if not rows:
        raise ValueError("need at least one row")
    ncol = min(ncol, min(len(v) for v in rows.values()))
    fig, axes = plt.subplots(len(rows), ncol, figsize=(1.1 * ncol + 1.4, 1.15 * len(rows)), squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        imgs = to_unit_range(images[:ncol].detach().float().cpu())
        for c in range(ncol):
            ax = axes[r, c]
            if imgs.shape[1] == 3:  # a colour image (Stacked MNIST: one digit per channel)
                ax.imshow(imgs[c].permute(1, 2, 0).numpy(), interpolation="nearest")
            else:
                ax.imshow(imgs[c, 0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    return finish(fig, title)


def plot_init_spread(all_loss: np.ndarray, rel_err: np.ndarray, threshold: float = 1e-2) -> plt.Figure:
    """Left: final pixel loss of every initialisation (R, N) per image; right: their relative latent
    errors ||z_hat - z|| / ||z|| with the recovery threshold."""
    all_loss, rel_err = np.asarray(all_loss), np.asarray(rel_err)
    if all_loss.shape != rel_err.shape or all_loss.ndim != 2:
        raise ValueError(f"need two (R, N) arrays of one shape, got {all_loss.shape} and {rel_err.shape}")
    R, N = all_loss.shape
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    idx = np.arange(N)
    for r in range(R):
        axes[0].scatter(idx, all_loss[r], s=12, color=COLORS["generator"], alpha=0.6,
                        label="one initialisation" if r == 0 else None)
        axes[1].scatter(idx, rel_err[r], s=12, color=COLORS["generator"], alpha=0.6)
    axes[0].scatter(idx, all_loss.min(0), s=30, facecolors="none", edgecolors=COLORS["data"], label="best of n")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("image index")
    axes[0].set_ylabel("final pixel MSE")
    axes[0].legend(fontsize=8)
    axes[1].axhline(threshold, color=COLORS["discriminator"], ls="--", label=f"recovery threshold {threshold:g}")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("image index")
    axes[1].set_ylabel(r"$\|\hat z - z\| / \|z\|$")
    axes[1].legend(fontsize=8)
    return finish(fig)


def plot_restoration_psnr(rows: Sequence[Mapping[str, str | float]]) -> plt.Figure:
    """Grouped bars of mean PSNR (dB) per task for the degraded input, the baseline and the GAN prior.

    ``rows``: dicts with keys "task", "degraded", "baseline", "gan" (mean PSNR in dB)."""
    if not rows:
        raise ValueError("need at least one row")
    tasks = [str(r["task"]) for r in rows]
    x = np.arange(len(tasks))
    fig, ax = plt.subplots(figsize=(7, 3.4))
    bars = [("degraded", "0.6"), ("baseline", COLORS["discriminator"]), ("gan", COLORS["generator"])]
    for k, (key, color) in enumerate(bars):
        ax.bar(x + (k - 1) * 0.27, [float(r[key]) for r in rows], width=0.27, color=color, label=key)
    ax.set_xticks(x, tasks)
    ax.set_ylabel("mean PSNR (dB)")
    ax.legend(fontsize=8)
    return finish(fig)


def plot_residuals(in_dist: np.ndarray, ood: Mapping[str, float]) -> plt.Figure:
    """Histogram of the inversion residuals (pixel MSE) of real test digits, with the residual of
    each out-of-distribution input as a vertical line."""
    in_dist = np.asarray(in_dist, dtype=float)
    if in_dist.ndim != 1 or len(in_dist) == 0:
        raise ValueError("in_dist must be a non-empty 1-D array")
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.hist(in_dist, bins=min(20, max(3, len(in_dist) // 2)), color=COLORS["data"], alpha=0.5, label="real test digits")
    styles = ["--", "-.", ":", "-"]
    for k, (name, value) in enumerate(ood.items()):
        ax.axvline(value, color=COLORS["discriminator"], ls=styles[k % len(styles)], label=f"{name}: {value:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("inversion residual, pixel MSE")
    ax.set_ylabel("number of images")
    ax.legend(fontsize=8)
    return finish(fig)


def plot_curves(curves: Mapping[str, Sequence[float]], xlabel: str = "step", ylabel: str = "loss",
                log: bool = True, title: str | None = None) -> plt.Figure:
    """One line per entry of ``curves`` (name -> values per step), on a log y-axis by default."""
    if not curves:
        raise ValueError("need at least one curve")
    palette = [COLORS["generator"], COLORS["discriminator"], COLORS["data"], COLORS["accent"]]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for k, (name, values) in enumerate(curves.items()):
        ax.plot(np.arange(len(values)), values, color=palette[k % len(palette)], lw=1.2, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return finish(fig, title, ax=ax)


def plot_singular_values(svals: np.ndarray | torch.Tensor) -> plt.Figure:
    """Singular values of dG/dz (N, nz), each code's spectrum divided by its largest value, log scale."""
    s = np.asarray(svals.detach().cpu() if isinstance(svals, torch.Tensor) else svals, dtype=float)
    if s.ndim != 2:
        raise ValueError(f"expected an (N, nz) array, got shape {s.shape}")
    fig, ax = plt.subplots(figsize=(7, 3.4))
    k = np.arange(1, s.shape[1] + 1)
    for i, row in enumerate(s):
        ax.plot(k, row / row[0], color=COLORS["generator"], alpha=0.6, lw=1,
                label="one code $z \\sim p_z$" if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("index k of the singular value")
    ax.set_ylabel(r"$s_k / s_1$ of $\partial G / \partial z$")
    ax.legend(fontsize=8)
    return finish(fig)


def plot_convergence(histories: Mapping[str, tuple[Sequence[float], Sequence[float]]], every: int = 1,
                     title: str | None = None) -> plt.Figure:
    """Two panels over the optimisation steps, one line per run: left the mean pixel MSE, right the median
    gradient norm of the objective with respect to z. ``histories[name] = (mse, grad_norm)``, each recorded
    every ``every`` steps. A run has converged where both curves have flattened."""
    if not histories:
        raise ValueError("need at least one run")
    if every < 1:
        raise ValueError(f"every must be positive, got {every}")
    palette = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for k, (name, (mse, grad)) in enumerate(histories.items()):
        for ax, values in zip(axes, (mse, grad)):
            ax.plot(np.arange(len(values)) * every, values, color=palette(k), lw=1.2, label=name)
    for ax, ylabel in zip(axes, ("mean pixel MSE", r"median $\|\nabla_z L\|$")):
        ax.set_yscale("log")
        ax.set(xlabel="Adam step", ylabel=ylabel)
    axes[0].legend(fontsize=8)
    return finish(fig, title)
