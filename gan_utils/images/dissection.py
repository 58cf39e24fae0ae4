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

Interventions (eq-ch10-ablate): :func:`intervene` replaces the activations of a set of units, in a
region of the layer or everywhere, by a constant (0 switches them off; a high quantile of each
unit's own activations forces them on), through a forward hook that is removed on exit.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from gan_utils.models import generate
from gan_utils.images.digit_shapes import segment

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


@contextmanager
def intervene(model: nn.Module, layer: str, units: Sequence[int], value: float | torch.Tensor = 0.0,
              region: torch.Tensor | np.ndarray | None = None) -> Iterator[None]:
    """Inside the block, the activations of ``units`` at ``layer`` are replaced by ``value``.

    ``value``: a number, or one number per unit (shape (len(units),)). ``region``: an (h, w) boolean
    mask at the layer's resolution where the replacement happens (None: everywhere). eq-ch10-ablate.
    """
    units = [int(u) for u in units]
    if not units:
        raise ValueError("need at least one unit")
    val = torch.as_tensor(value, dtype=torch.float32).reshape(-1)
    if val.numel() not in (1, len(units)):
        raise ValueError(f"value needs 1 or {len(units)} entries, got {val.numel()}")
    reg = None if region is None else torch.as_tensor(np.asarray(region), dtype=torch.bool)

    def hook(_module, _inputs, output):
        if max(units) >= output.shape[1] or min(units) < 0:
            raise ValueError(f"units {units} out of range for a layer with {output.shape[1]} channels")
        out = output.clone()
        v = val.to(out.device, out.dtype).reshape(-1, 1, 1).expand(len(units), *out.shape[2:])
        if reg is None:
            out[:, units] = v
        else:
            if tuple(reg.shape) != tuple(out.shape[2:]):
                raise ValueError(f"region has shape {tuple(reg.shape)}, the layer's maps {tuple(out.shape[2:])}")
            out[:, units] = torch.where(reg.to(out.device), v, out[:, units])
        return out

    with forward_hook(get_layer(model, layer), hook):
        yield


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
    best_k = sel.iqr().argmax(axis=1)  # (U, C)
    grid = ev.iou()
    iou = np.take_along_axis(grid, best_k[:, None, :], axis=1)[:, 0, :]
    names = list(masks_ev)
    frac = {n: float(masks_ev[n].mean()) for n in names}
    return Dissection(layer, names, quantiles, thresholds, best_k, iou, grid, frac)


# ------------------------------------------------------------------------------------------------
# interventions
# ------------------------------------------------------------------------------------------------
def concept_fraction(images: torch.Tensor, concept: str, pixel_region: np.ndarray | None = None) -> np.ndarray:
    """Per-image share of pixels (inside ``pixel_region`` if given) that belong to ``concept``, (N,)."""
    m = segment(images, [concept])[concept]
    if pixel_region is not None:
        r = np.asarray(pixel_region, dtype=bool)
        return m[:, r].mean(axis=1)
    return m.reshape(len(m), -1).mean(axis=1)


def intervention_effect(G: nn.Module, z: torch.Tensor, layer: str, units: Sequence[int], concept: str,
                        value: float | torch.Tensor = 0.0, region: np.ndarray | None = None,
                        pixel_region: np.ndarray | None = None, batch_size: int = 500,
                        baseline: np.ndarray | None = None) -> np.ndarray:
    """Per-sample change of ``concept``'s pixel share when ``units`` are set to ``value``, (N,).

    ``baseline``: the unmodified shares (computed when not given; pass them to save a forward pass).
    """
    if baseline is None:
        baseline = concept_fraction(generate(G, z, batch_size), concept, pixel_region)
    with intervene(G, layer, units, value, region):
        after = concept_fraction(generate(G, z, batch_size), concept, pixel_region)
    return after - baseline


def random_unit_sets(n_units: int, size: int, draws: int, seed: int = 0,
                     exclude: Sequence[int] = ()) -> list[list[int]]:
    """``draws`` random sets of ``size`` distinct units from range(n_units) minus ``exclude``."""
    pool = np.setdiff1d(np.arange(n_units), np.asarray(exclude, dtype=int))
    if size > len(pool):
        raise ValueError(f"cannot draw {size} units from {len(pool)}")
    rng = np.random.default_rng(seed)
    return [sorted(int(u) for u in rng.choice(pool, size=size, replace=False)) for _ in range(draws)]


def layer_region(shape: tuple[int, int], rows: slice, cols: slice) -> np.ndarray:
    """Boolean (h, w) mask of a rectangle at a layer's resolution."""
    r = np.zeros(shape, dtype=bool)
    r[rows, cols] = True
    return r


def region_to_pixels(region: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour upsampling of an (h, w) layer region to the (size, size) image."""
    h = region.shape[0]
    if size % h:
        raise ValueError(f"image size {size} is not a multiple of the layer size {h}")
    f = size // h
    return np.kron(region, np.ones((f, f), dtype=bool)).astype(bool)


def summarize(values: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation and a normal 95% interval half-width of the mean."""
    v = np.asarray(values, dtype=float)
    sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return {"mean": float(v.mean()), "sd": sd, "ci95": 1.96 * sd / math.sqrt(len(v)), "n": len(v)}
