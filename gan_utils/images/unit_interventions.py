"""Interventions on the units of a generator: switch them off or force them on, and measure what changes
(book chapter 10, eq-ch10-ablate).

:func:`intervene` replaces the activations of a set of units, in a region of the layer or everywhere, by
a constant (0 switches them off; a high quantile of each unit's own activations,
:func:`gan_utils.images.dissection.unit_quantiles`, forces them on), through a forward hook that is
removed on exit. :func:`intervention_effect` measures the per-sample change of a concept's pixel share
(:func:`concept_fraction`); :func:`random_unit_sets` draws the control sets of as many random units;
:func:`layer_region` and :func:`region_to_pixels` place a patch at a layer's resolution and in the image;
:func:`summarize` gives mean, standard deviation and a 95% interval. Which units to pick comes from the
dissection (:mod:`gan_utils.images.dissection`).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from gan_utils.images.digit_shapes import segment
from gan_utils.images.dissection import forward_hook, get_layer
from gan_utils.models import generate


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
