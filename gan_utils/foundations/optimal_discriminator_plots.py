"""Chapter 3 (the optimal discriminator): the pointwise objective, a trained D against D*, and what D does
where there are no data."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from gan_utils.foundations.optimal_discriminator import pointwise_argmax, pointwise_objective
from gan_utils.plotting import COLORS, finish

_REGION_COLORS = {"p_data": COLORS["data"], "p_g": COLORS["generator"]}


def plot_pointwise_objective(y: np.ndarray, pairs: Sequence[tuple[float, float]],
                             title: str | None = None) -> plt.Figure:
    """f(y) = a log y + b log(1 - y) on (0, 1) for each (a, b) in ``pairs`` (book eq. eq-ch03-pointwise),
    with the analytic maximiser y* = a / (a + b) marked by a dot and a dotted vertical line."""
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    lows = []
    for (a, b), color in zip(pairs, plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        f = pointwise_objective(y, a, b)
        y_star = pointwise_argmax(a, b)
        f_star = float(pointwise_objective(np.array([y_star]), a, b)[0])
        ax.plot(y, f, color=color, lw=1.8, label=f"a = {a:g}, b = {b:g}:  y* = {y_star:.3f}")
        ax.plot([y_star], [f_star], "o", color=color, ms=6)
        ax.axvline(y_star, color=color, ls=":", lw=1)
        lows.append(f_star)
    ax.set(xlabel="y = D(x)  (probability that x is real)", ylabel="f(y) = a log y + b log(1 - y)  (nats)",
           xlim=(0, 1), ylim=(min(lows) - 3.0, max(lows) + 0.5))
    ax.legend(loc="lower center", fontsize=9)
    return finish(fig, title, ax=ax)


def _shade(ax: plt.Axes, regions: Mapping[str, tuple[float, float]]) -> None:
    for name, (lo, hi) in regions.items():
        ax.axvspan(lo, hi, color=_REGION_COLORS.get(name, "gray"), alpha=0.08, lw=0)


def plot_discriminator_fit(
    x: np.ndarray, p_data: np.ndarray, p_g: np.ndarray, d_star: np.ndarray, d_trained: np.ndarray,
    region: tuple[float, float], title: str | None = None,
) -> plt.Figure:
    """Three stacked panels on one x axis: the densities; the trained D (blue) over the analytic D* (black,
    dashed); and the absolute error abs(D - D*) with the central 99% region of (p_data + p_g)/2, where
    errors are measured, shaded."""
    fig, (ax_p, ax_d, ax_e) = plt.subplots(3, 1, figsize=(7.5, 7.2), sharex=True,
                                           gridspec_kw={"height_ratios": [1.0, 1.3, 0.9]})
    ax_p.plot(x, p_data, color=COLORS["data"], ls=":", lw=2, label=r"$p_\mathrm{data}$")
    ax_p.plot(x, p_g, color=COLORS["generator"], lw=2, label=r"$p_g$ (fixed)")
    ax_p.set(ylabel="density (1 / x unit)")
    ax_p.legend(loc="upper left", fontsize=9)
    ax_d.plot(x, d_star, color=COLORS["data"], ls="--", lw=2, label=r"$D^*_G$ (eq-optimal-d)")
    ax_d.plot(x, d_trained, color=COLORS["discriminator"], lw=1.5, label="trained D (MLP)")
    ax_d.set(ylabel="D(x)", ylim=(-0.03, 1.03))
    ax_d.legend(loc="upper left", fontsize=9)
    err = np.abs(np.asarray(d_trained) - np.asarray(d_star))
    ax_e.plot(x, err, color=COLORS["accent"], lw=1.2)
    ax_e.set(xlabel="x (data units)", ylabel=r"$|D - D^*_G|$")
    for ax in (ax_p, ax_d, ax_e):
        ax.axvspan(*region, color="gray", alpha=0.12, lw=0, label=None)
    ax_e.text(0.99, 0.95, r"shaded: central 99% of $m = (p_\mathrm{data} + p_g)/2$", transform=ax_e.transAxes,
              va="top", ha="right", fontsize=9)
    return finish(fig, title)


def plot_extrapolation(
    x: np.ndarray, d_star: np.ndarray, d_trained: np.ndarray, logit_star: np.ndarray, logit_trained: np.ndarray,
    regions: Mapping[str, tuple[float, float]], points: Sequence[float] = (), title: str | None = None,
) -> plt.Figure:
    """D and its logit far beyond the data. Left: D*(x) (black, dashed) and the trained D (blue) on a log
    scale; right: their logits a*(x) = log p_data - log p_g and a(x). Shaded bands: where p_data (grey) and
    p_g (green) put their mass (``regions``, name -> interval); dotted verticals mark ``points`` (samples of
    p_g far from p_data)."""
    fig, (ax_d, ax_a) = plt.subplots(1, 2, figsize=(12, 4.0))
    ax_d.plot(x, d_star, color=COLORS["data"], ls="--", lw=2, label=r"$D^*_G$")
    ax_d.plot(x, d_trained, color=COLORS["discriminator"], lw=1.5, label="trained D")
    ax_d.set(xlabel="x (data units)", ylabel="D(x)  (log scale)", yscale="log", ylim=(1e-12, 2.0))
    ax_a.plot(x, logit_star, color=COLORS["data"], ls="--", lw=2, label=r"$a^*(x) = \log p_\mathrm{data} - \log p_g$")
    ax_a.plot(x, logit_trained, color=COLORS["discriminator"], lw=1.5, label="trained logit a(x)")
    lo = min(np.min(logit_trained), -30.0)
    ax_a.set(xlabel="x (data units)", ylabel="logit (nats)",
             ylim=(lo - 2, max(np.max(logit_trained), np.max(logit_star)) + 2))
    for ax in (ax_d, ax_a):
        _shade(ax, regions)
        for i, p in enumerate(points):
            ax.axvline(p, color=COLORS["accent"], ls=":", lw=1.2,
                       label="samples of $p_g$ far from the data" if i == 0 else None)
    handles = [plt.Rectangle((0, 0), 1, 1, color=_REGION_COLORS.get(n, "gray"), alpha=0.2) for n in regions]
    ax_d.legend(ax_d.get_legend_handles_labels()[0] + handles,
                ax_d.get_legend_handles_labels()[1] + [f"99% of {n}" for n in regions], loc="upper left", fontsize=7.5)
    ax_a.legend(loc="lower center", fontsize=8)
    return finish(fig, title)


def plot_d_training(histories: Mapping[str, Mapping[str, Sequence[float]]], floors: Mapping[str, float],
                    title: str | None = None) -> plt.Figure:
    """The discriminator loss -V on each step's fresh batch (one curve per run) with its floor -V(D*_G, G)
    as a dashed line of the same colour: no D can beat D* on average."""
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    for (name, h), color in zip(histories.items(), ("tab:blue", "tab:orange", "tab:purple", "tab:brown")):
        ax.plot(h["step"], h["d_loss"], color=color, lw=0.6, alpha=0.7, label=f"{name}: -V on the batch")
        ax.axhline(floors[name], color=color, ls="--", lw=1.2, label=f"{name}: -V(D*, G) = {floors[name]:.4f}")
    ax.set(xlabel="discriminator step", ylabel="loss -V (nats)")
    ax.legend(loc="upper right", fontsize=8)
    return finish(fig, title, ax=ax)
