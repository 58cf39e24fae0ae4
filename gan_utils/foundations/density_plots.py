"""Chapter 1 (explicit vs implicit density): maximum-likelihood fits, implicit samples, PCA spectra."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from gan_utils.foundations.density import components_for_variance
from gan_utils.plotting import COLORS, finish


def plot_mle_fit(
    x: np.ndarray, p_data: np.ndarray, p_fit: np.ndarray, samples: np.ndarray | torch.Tensor,
    p_init: np.ndarray | None = None, log_likelihood: np.ndarray | None = None, title: str | None = None,
) -> plt.Figure:
    """An explicit model fitted by maximum likelihood: histogram of the samples, the true p_data (black,
    dotted), the fitted p_theta (red) and optionally EM's starting point (grey, dashed). With
    ``log_likelihood`` a second panel shows the mean log-likelihood after each EM iteration."""
    fig, axes = plt.subplots(1, 2 if log_likelihood is not None else 1,
                             figsize=(11, 3.8) if log_likelihood is not None else (6.4, 4.0), squeeze=False)
    ax = axes[0, 0]
    s = torch.as_tensor(samples).detach().cpu().numpy().ravel()
    ax.hist(s, bins=80, density=True, color="gray", alpha=0.3, label=f"samples (N = {s.size})")
    ax.plot(x, p_data, color=COLORS["data"], ls=":", lw=2, label=r"$p_\mathrm{data}$ (true)")
    ax.plot(x, p_fit, color=COLORS["accent"], lw=1.8, label=r"$p_\theta$ (maximum likelihood)")
    if p_init is not None:
        ax.plot(x, p_init, color="gray", ls="--", lw=1.2, label="EM start")
    ax.set(xlabel="x (data units)", ylabel="density (1 / data unit)")
    ax.legend(loc="upper left", fontsize=9)
    if log_likelihood is not None:
        ax_ll = axes[0, 1]
        ax_ll.plot(np.arange(len(log_likelihood)), log_likelihood, color=COLORS["accent"], lw=1.5)
        ax_ll.set(xlabel="EM iteration", ylabel="mean log-likelihood (nats / sample)",
                  title="EM never decreases the likelihood", xscale="symlog")
    return finish(fig, title)


def plot_implicit_samples(
    x: np.ndarray, p_data: np.ndarray, samples: Mapping[str, np.ndarray | torch.Tensor], title: str | None = None,
) -> plt.Figure:
    """Samples of an implicit model, one panel per entry of ``samples`` (panel title = key), histogrammed
    against p_data. The model's own density is never evaluated: a histogram is all a sampler offers."""
    fig, axes = plt.subplots(1, len(samples), figsize=(5.2 * len(samples), 3.8), squeeze=False, sharey=True)
    for ax, (name, s) in zip(axes[0], samples.items()):
        s = torch.as_tensor(s).detach().cpu().numpy().ravel()
        ax.hist(s, bins=np.linspace(x[0], x[-1], 121), density=True, color=COLORS["generator"], alpha=0.45,
                label=f"samples of G(z) (n = {s.size})")
        ax.plot(x, p_data, color=COLORS["data"], ls=":", lw=2, label=r"$p_\mathrm{data}$")
        ax.set(xlabel="x (data units)", title=name, xlim=(x[0], x[-1]))
        ax.legend(loc="upper left", fontsize=9)
    axes[0, 0].set_ylabel("density (1 / data unit)")
    return finish(fig, title)


def plot_pca_spectrum(
    ratios: Mapping[str, np.ndarray], fractions: Sequence[float] = (0.9, 0.95), title: str | None = None,
) -> plt.Figure:
    """PCA of image sets (book eq. eq-pca-k). Left: cumulative explained variance against the number of
    components, with the counts k_f needed for each ``fraction`` marked. Right: each component's share
    of the variance, largest first, on a log scale."""
    fig, (ax_c, ax_s) = plt.subplots(1, 2, figsize=(11, 3.8))
    for (name, r), color in zip(ratios.items(), ("tab:blue", "tab:orange", "tab:green", "tab:purple")):
        r = np.asarray(r, dtype=np.float64)
        k = np.arange(1, r.size + 1)
        ax_c.plot(k, np.cumsum(r), color=color, lw=1.8, label=name)
        for f, marker in zip(fractions, ("o", "s", "^", "D")):
            kf = components_for_variance(r, f)
            ax_c.plot([kf], [np.cumsum(r)[kf - 1]], marker=marker, color=color, ls="none",
                      label=f"{name}: {f:.0%} at k = {kf}")
        ax_s.plot(k, np.maximum(r, 1e-12), color=color, lw=1.5, label=name)
    for f in fractions:
        ax_c.axhline(f, color="gray", ls="--", lw=0.8)
    ax_c.set(xlabel="number of principal components k", ylabel="cumulative explained variance (fraction)",
             ylim=(0, 1.02))
    ax_c.legend(loc="lower right", fontsize=8)
    ax_s.set(xlabel="component index j (largest first)", ylabel=r"explained variance ratio $\lambda_j / \sum \lambda$",
             yscale="log", ylim=(1e-6, 1))
    ax_s.legend(loc="upper right", fontsize=9)
    return finish(fig, title)
