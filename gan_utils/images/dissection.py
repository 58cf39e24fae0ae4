"""GAN dissection on a generator we trained: which units draw what (book chapter 10).

Following Bau et al. (2019), a *unit* u is one channel of an intermediate layer of G; its
activation map r_u(z) (h x w) is upsampled bilinearly to the image size, r_u^up, and thresholded,
giving a binary mask {r_u^up > t_u,c}. Its agreement with a concept mask s_c(x) of the generated
image x = G(z) is the intersection over union accumulated over samples (eq-ch10-iou)::

    IoU(u, c) = sum_z |{r_u^up > t} AND s_c| / sum_z |{r_u^up > t} OR s_c|

(sums of intersections over sums of unions, not a mean of per-image IoUs).

Thresholds. Network Dissection (Bau et al. 2017) used one quantile per unit (the top 0.5% of its
values). GAN dissection picks t_u,c per unit *and concept* to maximise the information quality ratio
IQR = I(a; s) / H(a, s) of the binary unit mask a and the concept mask s (eq-ch10-iqr), on samples
separate from those that measure the IoU. We do the same with one deviation: t_u,c is searched over
a grid of per-unit quantiles (``QUANTILES``) rather than over all values. :func:`dissect` selects
the threshold on one set of codes and measures the IoU on another.

The hooks here (:func:`get_layer`, :func:`forward_hook`, :func:`record`) also serve the interventions
on units (eq-ch10-ablate), which are in :mod:`gan_utils.images.unit_interventions`.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from gan_utils.images.digit_shapes import segment
from gan_utils.models import generate

QUANTILES: tuple[float, ...] = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995)


# ------------------------------------------------------------------------------------------------
# hooks
# ------------------------------------------------------------------------------------------------
def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name`` (e.g. ``"net.5"``); ValueError listing the names otherwise."""
    names = dict(model.named_modules())
    if name not in names or name == "":
        raise ValueError(f"model has no layer {name!r}; layers: {[n for n in names if n]}")
    return names[name]


@contextmanager
def forward_hook(module: nn.Module, fn: Callable) -> Iterator[torch.utils.hooks.RemovableHandle]:
    """Register ``fn(module, inputs, output)`` as a forward hook for the block; always removed on exit."""
    handle = module.register_forward_hook(fn)
    try:
        yield handle
    finally:
        handle.remove()


@contextmanager
def record(model: nn.Module, layer: str) -> Iterator[list[torch.Tensor]]:
    """Collect the output of ``layer`` (detached copies on the CPU) of every forward pass in the block."""
    store: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        store.append(output.detach().float().cpu().clone())

    with forward_hook(get_layer(model, layer), hook):
        yield store


# ------------------------------------------------------------------------------------------------
# activations and thresholds
# ------------------------------------------------------------------------------------------------
@torch.no_grad()
def generate_with_activations(G: nn.Module, z: torch.Tensor, layer: str,
                              batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, C, S, S), activations of ``layer`` (N, U, h, w)), both on the CPU; the images come from
    :func:`gan_utils.models.generate` (eval mode, ``batch_size`` codes at a time)."""
    with record(G, layer) as store:
        images = generate(G, z, batch_size).cpu()
    return images, torch.cat(store)


def upsample(acts: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear upsampling of unit maps (N, U, h, w) -> (N, U, size, size) (align_corners=False)."""
    if acts.dim() != 4:
        raise ValueError(f"expected activations (N, U, h, w), got {tuple(acts.shape)}")
    return F.interpolate(acts.float(), size=(size, size), mode="bilinear", align_corners=False)


def unit_quantiles(acts: torch.Tensor, quantiles: Sequence[float], size: int | None = None) -> torch.Tensor:
    """Per-unit quantiles (U, K) of the activations over all samples and positions.

    With ``size`` the maps are upsampled first (the values the dissection thresholds); without it the
    quantiles are of the layer's own values (what an intervention sets a unit to).
    """
    q = np.asarray(quantiles, dtype=float)
    if q.ndim != 1 or (q <= 0).any() or (q >= 1).any():
        raise ValueError(f"quantiles must lie in (0, 1), got {quantiles}")
    out = np.empty((acts.shape[1], len(q)))
    for u in range(acts.shape[1]):
        vals = acts[:, u:u + 1]
        if size is not None:
            vals = upsample(vals, size)
        out[u] = np.quantile(vals.numpy().ravel(), q)
    return torch.from_numpy(out).float()


# ------------------------------------------------------------------------------------------------
# IoU and the information quality ratio
# ------------------------------------------------------------------------------------------------
@dataclass
class Confusion:
    """Pixel counts summed over samples, for every unit u, threshold k and concept c."""

    inter: np.ndarray  # (U, K, C) |a AND s|
    unit_area: np.ndarray  # (U, K) |a|
    concept_area: np.ndarray  # (C,) |s|
    total: int  # pixels seen (samples x S x S)

    def iou(self) -> np.ndarray:
        """(U, K, C): sum of intersections / sum of unions (0 where the union is empty)."""
        union = self.unit_area[:, :, None] + self.concept_area[None, None, :] - self.inter
        return np.divide(self.inter, union, out=np.zeros_like(self.inter), where=union > 0)

    def iqr(self) -> np.ndarray:
        """(U, K, C): I(a; s) / H(a, s) from the 2 x 2 table of pixel counts (eq-ch10-iqr)."""
        n = float(self.total)
        p11 = self.inter / n
        pa = self.unit_area[:, :, None] / n
        ps = self.concept_area[None, None, :] / n
        p10, p01 = pa - p11, ps - p11
        p00 = 1.0 - p11 - p10 - p01
        cells = [(p11, pa, ps), (p10, pa, 1 - ps), (p01, 1 - pa, ps), (p00, 1 - pa, 1 - ps)]
        mi = np.zeros_like(p11)
        h = np.zeros_like(p11)
        for p, qa, qs in cells:
            p = np.clip(p, 0.0, 1.0)
            pos = p > 0
            logp = np.log(np.where(pos, p, 1.0))
            mi += np.where(pos, p * (logp - np.log(np.where(pos, qa * qs, 1.0))), 0.0)
            h -= np.where(pos, p * logp, 0.0)
        return np.divide(mi, h, out=np.zeros_like(mi), where=h > 0)


def confusion_counts(acts: torch.Tensor, masks: dict[str, np.ndarray], thresholds: torch.Tensor,
                     batch_size: int = 100) -> Confusion:
    """Accumulate the pixel counts of {upsample(r_u) > t_uk} against every concept mask.

    acts (N, U, h, w); masks {name: bool (N, S, S)}; thresholds (U, K). Intersections come from one
    matrix product per batch: (U K, B S S) @ (B S S, C).
    """
    names = list(masks)
    m_all = np.stack([masks[n] for n in names], axis=1)  # (N, C, S, S)
    n, n_units = acts.shape[:2]
    if m_all.shape[0] != n:
        raise ValueError(f"{n} activation maps but {m_all.shape[0]} masks")
    size = m_all.shape[-1]
    thr = thresholds.float()
    if thr.shape[0] != n_units:
        raise ValueError(f"thresholds have {thr.shape[0]} rows for {n_units} units")
    k = thr.shape[1]
    inter = torch.zeros(n_units * k, len(names), dtype=torch.float64)
    unit_area = torch.zeros(n_units * k, dtype=torch.float64)
    for i in range(0, n, batch_size):
        up = upsample(acts[i:i + batch_size], size)  # (B, U, S, S)
        b = up.shape[0]
        a = (up[:, :, None] > thr[None, :, :, None, None]).float()  # (B, U, K, S, S)
        a = a.permute(1, 2, 0, 3, 4).reshape(n_units * k, -1)  # (U K, B S S)
        m = torch.from_numpy(m_all[i:i + b]).float().permute(0, 2, 3, 1).reshape(-1, len(names))  # (B S S, C)
        inter += (a @ m).double()
        unit_area += a.sum(dim=1).double()
    return Confusion(inter=inter.reshape(n_units, k, len(names)).numpy(),
                     unit_area=unit_area.reshape(n_units, k).numpy(),
                     concept_area=m_all.sum(axis=(0, 2, 3)).astype(np.float64),
                     total=int(n * size * size))


def iou_direct(unit_map: torch.Tensor | np.ndarray, threshold: float, mask: np.ndarray) -> float:
    """IoU of one upsampled unit map (N, S, S) thresholded at ``threshold`` with a mask (N, S, S),
    by plain boolean algebra (the reference for :func:`confusion_counts`)."""
    a = np.asarray(unit_map) > threshold
    union = np.logical_or(a, mask).sum()
    return float(np.logical_and(a, mask).sum() / union) if union else 0.0


@dataclass
class Dissection:
    """Result of :func:`dissect` for one layer."""

    layer: str
    concepts: list[str]
    quantiles: tuple[float, ...]
    thresholds: torch.Tensor  # (U, K) per-unit quantiles of the upsampled maps (selection set)
    best_k: np.ndarray  # (U, C) index of the threshold chosen by the IQR on the selection set
    iou: np.ndarray  # (U, C) IoU on the evaluation set at the chosen threshold
    iou_grid: np.ndarray  # (U, K, C) IoU on the evaluation set at every threshold
    concept_fraction: dict[str, float]  # share of evaluation pixels in each concept

    def threshold(self, unit: int, concept: str) -> float:
        return float(self.thresholds[unit, self.best_k[unit, self.concepts.index(concept)]])

    def top_units(self, concept: str, n: int = 5) -> list[tuple[int, float]]:
        """The n units with the highest IoU for ``concept``: [(unit, IoU), ...], best first."""
        if concept not in self.concepts:
            raise ValueError(f"concept {concept!r} not dissected; have {self.concepts}")
        col = self.iou[:, self.concepts.index(concept)]
        order = np.argsort(-col, kind="stable")[:n]
        return [(int(u), float(col[u])) for u in order]

    def fixed_quantile_iou(self, q: float) -> np.ndarray:
        """(U, C) IoU with the single per-unit threshold at quantile q (Network Dissection style)."""
        if q not in self.quantiles:
            raise ValueError(f"q={q} not in the grid {self.quantiles}")
        return self.iou_grid[:, self.quantiles.index(q), :]


def dissect(G: nn.Module, z_select: torch.Tensor, z_eval: torch.Tensor, layer: str,
            concepts: Sequence[str] | None = None, quantiles: Sequence[float] = QUANTILES,
            batch_size: int = 250, progress: bool = True) -> Dissection:
    """Dissect ``layer`` of G: thresholds and their IQR choice on ``z_select``, IoUs on ``z_eval``."""
    quantiles = tuple(float(q) for q in quantiles)
    counts = []
    thresholds = None
    for z in tqdm([z_select, z_eval], desc=f"dissect {layer}", disable=not progress):
        images, acts = generate_with_activations(G, z, layer, batch_size)
        masks = segment(images, concepts)
        if thresholds is None:
            thresholds = unit_quantiles(acts, quantiles, size=images.shape[-1])
        counts.append((confusion_counts(acts, masks, thresholds, batch_size=min(batch_size, 100)), masks))
    (sel, _), (ev, masks_ev) = counts
    assert thresholds is not None  # set by the first pass
    best_k = sel.iqr().argmax(axis=1)  # (U, C)
    grid = ev.iou()
    iou = np.take_along_axis(grid, best_k[:, None, :], axis=1)[:, 0, :]
    names = list(masks_ev)
    frac = {n: float(masks_ev[n].mean()) for n in names}
    return Dissection(layer, names, quantiles, thresholds, best_k, iou, grid, frac)
