"""Pixel-exact concept segmenters for MNIST-like digits (book chapter 10, GAN dissection).

GAN dissection (Bau et al. 2019) compares each unit of a generator with a *segmentation* s_c(x) of
the generated image x for every concept c (eq-ch10-iou). The paper segments scenes with a trained
network; for handwritten digits the concepts we need can be computed from the pixels exactly, with
no model in between, so every mask below is a rule you can check by hand:

* ``ink``: pixels brighter than mid-grey, x > 0 for images in [-1, 1] (``INK_THRESHOLD``).
* ``ink_top`` / ``ink_bottom`` / ``ink_left`` / ``ink_right``: the ink in one half of the 28 x 28
  frame (rows 0-13 / 14-27, columns 0-13 / 14-27); ``ink_tl``, ``ink_tr``, ``ink_bl``, ``ink_br``:
  the ink in one quadrant.
* ``loops``: the pixels enclosed by ink, i.e. the connected components of the background (4-connected,
  the dual of 8-connected ink) that touch no border of the frame, found with
  ``scipy.ndimage.label``. A drawn "0" has one such component, an "8" two.
* ``endpoints``: the free ends of the strokes. The ink is thinned to a one-pixel-wide skeleton by the
  Zhang-Suen algorithm (Zhang & Suen 1984, written here with array shifts over a whole batch,
  because scikit-image is not a dependency of the book); an endpoint is a skeleton pixel with exactly
  one 8-neighbour on the skeleton. Deviation for dissection: a single pixel is too small to overlap
  a bilinearly upsampled unit map, so the mask is the endpoints dilated by a (2r + 1) x (2r + 1)
  square (``radius`` r = 1 by default); ``count_endpoints`` counts the undilated points. Zhang-Suen
  can leave short spurs on ragged strokes, each of which adds an endpoint.

All functions take images of shape (N, 1, H, W), (N, H, W) or (H, W) (torch or numpy, values in
[-1, 1]) and return boolean numpy arrays of shape (N, H, W) (or integer counts of shape (N,)).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from scipy import ndimage

INK_THRESHOLD = 0.0  # mid-grey in [-1, 1]: pixels brighter than this are ink

_FOUR = ndimage.generate_binary_structure(2, 1)  # 4-connectivity (background components)
_EIGHT = ndimage.generate_binary_structure(2, 2)  # 8-connectivity (ink, skeleton neighbours)


def as_batch(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, 1, H, W), (N, H, W) or (H, W) images -> float array (N, H, W)."""
    x = images.detach().float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, dtype=float)
    if x.ndim == 2:
        x = x[None]
    elif x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"expected one channel, got images of shape {x.shape}")
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"expected images of shape (N, 1, H, W), (N, H, W) or (H, W); got {x.shape}")
    return x


def ink(images, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """Stroke pixels: x > threshold (mid-grey for images in [-1, 1])."""
    return as_batch(images) > threshold


def region_mask(shape: tuple[int, int], region: str) -> np.ndarray:
    """Boolean (H, W) mask of a half ("top", "bottom", "left", "right") or quadrant ("tl", ...)."""
    h, w = shape
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    top, left = rows < h // 2, cols < w // 2
    parts = {"top": top, "bottom": ~top, "left": left, "right": ~left}
    if region in parts:
        return np.broadcast_to(parts[region], (h, w)).copy()
    if len(region) == 2 and region[0] in "tb" and region[1] in "lr":
        vert = parts["top" if region[0] == "t" else "bottom"]
        horiz = parts["left" if region[1] == "l" else "right"]
        return vert & horiz
    raise ValueError(f"unknown region {region!r}; use top, bottom, left, right, tl, tr, bl or br")


def loops(images, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """Pixels enclosed by ink: background components (4-connected) touching no border."""
    ink_mask = ink(images, threshold)
    out = np.zeros_like(ink_mask)
    for i, m in enumerate(ink_mask):
        labels, n = ndimage.label(~m, structure=_FOUR)
        if n == 0:
            continue
        border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        enclosed = np.setdiff1d(np.arange(1, n + 1), border)
        out[i] = np.isin(labels, enclosed)
    return out


def count_loops(images, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """Number of enclosed background components per image, shape (N,)."""
    return np.array([ndimage.label(m, structure=_FOUR)[1] for m in loops(images, threshold)], dtype=int)


def neighbours(b: np.ndarray) -> list[np.ndarray]:
    """P2..P9 of Zhang & Suen (N, NE, E, SE, S, SW, W, NW) for a batch b (N, H, W), zero outside."""
    p = np.pad(b, ((0, 0), (1, 1), (1, 1)))
    h, w = b.shape[1:]
    at = lambda dr, dc: p[:, 1 + dr:1 + dr + h, 1 + dc:1 + dc + w]  # noqa: E731
    return [at(-1, 0), at(-1, 1), at(0, 1), at(1, 1), at(1, 0), at(1, -1), at(0, -1), at(-1, -1)]


def skeletonize(mask: np.ndarray, max_iter: int = 200, *, remove_corners: bool = False) -> np.ndarray:
    """Zhang-Suen thinning of a batch of boolean masks (N, H, W) to one-pixel-wide skeletons.

    Each iteration has two sub-steps; a pixel is deleted when it has 2 to 6 ink neighbours, exactly
    one 0 -> 1 transition in the cyclic sequence P2, ..., P9, P2, and (sub-step 1) P2 P4 P6 = 0 and
    P4 P6 P8 = 0, or (sub-step 2) P2 P4 P8 = 0 and P2 P6 P8 = 0. Stops when nothing changes.

    ``remove_corners=True`` adds one last pass (:func:`_remove_corners`) that deletes the redundant
    corner pixels of the 4-connected staircases Zhang-Suen leaves on diagonals, so that a diagonal
    stroke is one 8-connected chain: what a length measurement needs (chapter 8's stroke thickness,
    :func:`gan_utils.images.attributes.stroke_thickness`). The endpoints of chapter 10 use plain Zhang-Suen.
    """
    b = np.asarray(mask, dtype=bool)
    if b.ndim == 2:
        b = b[None]
    if b.ndim != 3:
        raise ValueError(f"expected masks of shape (N, H, W) or (H, W), got {b.shape}")
    b = b.astype(np.uint8).copy()
    for _ in range(max_iter):
        changed = False
        for step in (0, 1):
            p = neighbours(b)
            count = sum(p)
            seq = p + [p[0]]
            transitions = sum(((seq[k] == 0) & (seq[k + 1] == 1)).astype(np.uint8) for k in range(8))
            p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
            if step == 0:
                cond = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                cond = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            delete = (b == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & cond
            if delete.any():
                b[delete] = 0
                changed = True
        if not changed:
            break
    if remove_corners:
        b = _remove_corners(b)
    return b.astype(bool)


def _remove_corners(b: np.ndarray) -> np.ndarray:
    """Delete the redundant pixels of 4-connected staircases that Zhang-Suen leaves (a pixel with two
    axial neighbours at a right angle whose removal keeps the skeleton 8-connected, i.e. whose
    8-connectivity number (Yokoi) is 1), one corner orientation at a time; end points stay."""
    b = b.copy()
    for k in range(4):
        n = neighbours(b)
        p2, p3, p4, p5, p6, p7, p8, p9 = n
        xb = [1 - v for v in (p4, p3, p2, p9, p8, p7, p6, p5, p4)]  # complements, E then counter-clockwise
        connectivity = sum(xb[i] - xb[i] * xb[i + 1] * xb[i + 2] for i in (0, 2, 4, 6))
        corner = (p2 * p4, p4 * p6, p6 * p8, p8 * p2)[k]
        b[(b == 1) & (connectivity == 1) & (sum(n) >= 2) & (corner == 1)] = 0
    return b


def endpoint_pixels(images, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """Skeleton pixels with exactly one 8-neighbour on the skeleton, (N, H, W) bool."""
    skel = skeletonize(ink(images, threshold))
    count = sum(n.astype(np.uint8) for n in neighbours(skel.astype(np.uint8)))
    return skel & (count == 1)


def count_endpoints(images, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """Number of stroke endpoints per image, shape (N,)."""
    return endpoint_pixels(images, threshold).sum(axis=(1, 2))


def endpoints(images, threshold: float = INK_THRESHOLD, radius: int = 1) -> np.ndarray:
    """Endpoint pixels dilated by a (2 radius + 1)-wide square (radius 0: the bare points)."""
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    pts = endpoint_pixels(images, threshold)
    if radius == 0:
        return pts
    foot = np.zeros((1, 2 * radius + 1, 2 * radius + 1), dtype=bool)
    foot[0] = True
    return ndimage.binary_dilation(pts, structure=foot)


def _ink_in(region: str) -> Callable[[np.ndarray], np.ndarray]:
    def seg(images) -> np.ndarray:
        m = ink(images)
        return m & region_mask(m.shape[1:], region)[None]
    seg.__doc__ = f"ink in the {region} part of the frame"
    return seg


CONCEPTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "ink": ink,
    **{f"ink_{r}": _ink_in(r) for r in ("top", "bottom", "left", "right", "tl", "tr", "bl", "br")},
    "loops": loops,
    "endpoints": endpoints,
}


def segment(images, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """All (or the named) concept masks of a batch: {name: bool array (N, H, W)}."""
    names = list(CONCEPTS) if names is None else list(names)
    unknown = [n for n in names if n not in CONCEPTS]
    if unknown:
        raise ValueError(f"unknown concept(s) {unknown}; known: {list(CONCEPTS)}")
    x = as_batch(images)
    return {n: CONCEPTS[n](x) for n in names}
