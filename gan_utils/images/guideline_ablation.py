"""The DCGAN guideline ablation of book chapter 7 (section "Ablation"): remove one guideline at a time.

Every variant trains from the same seed, for the same number of generator steps, at the same width,
and is scored on the same noise batch and reference set. The baseline follows every guideline of
Radford et al. (2015); each entry of :data:`VARIANTS` changes exactly one thing, as a pair
(changes to :class:`gan_utils.dcgan.DCGANConfig`, changes to :class:`gan_utils.train.TrainConfig`).

Besides the classifier metrics, :func:`run_variant` records how the game ended: ``d_gap``, the mean of
D(x) - D(G(z)) over the last 10% of steps (near 1: D separates real from fake almost perfectly and G's
signal has died; near 0: D cannot tell them apart). A run whose loss became NaN/inf counts as
diverged: its metrics are NaN and :func:`mean_sd` prints "diverged".
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gan_utils.classifier import MNISTClassifier
from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from gan_utils.digit_metrics import evaluate_generator_samples
from gan_utils.models import generate
from gan_utils.runtime import seed_everything
from gan_utils.train import RealSampler, TrainConfig, train_gan

VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "baseline (all guidelines)": ({}, {}),
    "pooling + upsampling": ({"resampling": "pool_upsample"}, {}),
    "no BatchNorm": ({"batchnorm": False}, {}),
    "ReLU in D": ({"d_activation": "relu"}, {}),
    "β1 = 0.9": ({}, {"betas": (0.9, 0.999)}),
    "lr = 1e-3": ({}, {"lr_g": 1e-3, "lr_d": 1e-3}),
}
KEYS = ("frechet_distance", "class_kl", "confidence", "d_gap")


def run_variant(
    model_changes: dict[str, Any], train_changes: dict[str, Any], seed: int, *, width: int, steps: int,
    batch_size: int, nz: int, sample_real: RealSampler, device: torch.device | str, classifier: MNISTClassifier,
    reference: torch.Tensor, z_eval: torch.Tensor, z_preview: torch.Tensor,
) -> tuple[dict[str, float], torch.Tensor | None]:
    """Train one variant from scratch (28x28, ngf = ndf = ``width``, Adam 2e-4, betas (0.5, 0.999)
    unless changed) for ``steps`` generator steps; return its metrics (:data:`KEYS`) and G(z_preview)
    on the CPU, or NaN metrics and ``None`` if training diverged."""
    seed_everything(seed)
    cfg = DCGANConfig(image_size=28, nz=nz, ngf=width, ndf=width, **model_changes)
    G, D = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    base: dict[str, Any] = {"steps": steps, "z_shape": (nz, 1, 1), "batch_size": batch_size, "lr_g": 2e-4,
                            "lr_d": 2e-4, "betas": (0.5, 0.999), "seed": seed}
    tc = TrainConfig(**(base | train_changes))
    try:
        h = train_gan(G, D, sample_real, tc, device, progress=False)
    except FloatingPointError:
        return dict.fromkeys(KEYS, float("nan")), None
    m = evaluate_generator_samples(generate(G, z_eval), classifier, reference=reference)
    assert m.frechet_distance is not None  # always measured when a reference is given
    last = slice(-max(1, steps // 10), None)
    d_gap = float(np.mean(h.d_real[last]) - np.mean(h.d_fake[last]))
    return ({"frechet_distance": m.frechet_distance, "class_kl": m.class_kl, "confidence": m.confidence,
             "d_gap": d_gap}, generate(G, z_preview).cpu())


def mean_sd(values: list[float], digits: int = 3) -> str:
    """'mean ± sd' over seeds (sd with ddof 1, NaNs of diverged runs left out); 'diverged' if all are NaN."""
    v = np.asarray(values, dtype=float)
    if np.isnan(v).all():
        return "diverged"
    sd = f" ± {np.nanstd(v, ddof=1):.{digits}f}" if np.isfinite(v).sum() > 1 else ""
    return f"{np.nanmean(v):.{digits}f}{sd}"
