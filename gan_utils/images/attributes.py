"""Digit attributes measured from pixels, and attribute directions in the latent space (book chapter 8).

Two attributes of a handwritten digit can be read off its pixels without any labels:

* **stroke thickness** (:func:`stroke_thickness`), in pixels: the ink area divided by the length of
  the ink's skeleton, ``T = A / L`` (eq-ch08-thickness). The ink is the set of pixels brighter than
  mid-grey (``x > 0`` for images in [-1, 1]); the skeleton is the ink thinned to one-pixel-wide
  lines by the Zhang-Suen algorithm (Zhang & Suen 1984, implemented here over a whole batch with
  array shifts, since scikit-image is not a dependency, followed by one pass that removes the
  redundant corner pixels of staircases: :func:`gan_utils.images.digit_shapes.skeletonize` with
  ``remove_corners=True``); its length counts each horizontal or
  vertical link between skeleton pixels as 1 and each diagonal link as sqrt(2) (diagonal links that
  bridge an L-shaped corner, whose two pixels already connect through an axial neighbour, are not
  counted), plus 1 for the extent of the end pixels. For a closed ring the estimate is within 10%
  of the ring's area over its centre-line length 2 pi R (tests/test_attributes.py); a free stroke end
  adds about half a width of area that the skeleton does not reach, so short strokes read thicker than
  they are. The estimate ranks images by thickness, which is all an attribute direction needs.
* **slant** (:func:`slant`), in degrees: the shear of the intensity-weighted second-order moments,
  ``theta = atan(mu_xy / mu_yy)`` (eq-ch08-slant), with x to the right and y up, so a digit leaning
  to the right has theta > 0. For any shape sheared as x -> x + s y whose own mu_xy is zero, theta =
  atan(s) exactly; this is the skew that MNIST "deskewing" removes.

An **attribute direction** in z (eq-ch08-direction) is the difference of the mean latent codes of
samples with a high and a low value of an attribute, :func:`attribute_direction`; the DCGAN paper's
exemplar version (Radford et al. 2016, section 6.3.2) averages three codes per concept,
:func:`exemplar_direction`. :func:`attribute_sweep` moves codes along a direction, z + alpha * v,
and measures the attribute and the class of the decoded images for each alpha.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from gan_utils.classifier import MNISTClassifier, classify
from gan_utils.images.digit_shapes import INK_THRESHOLD, as_batch, ink, skeletonize
from gan_utils.models import generate


def skeleton_length(skeleton: np.ndarray) -> np.ndarray:
    """Length (N,) in pixels of one-pixel-wide skeletons (N, H, W): axial links count 1, diagonal
    links sqrt(2) unless their two pixels share an axial neighbour in the skeleton; plus 1."""
    s = np.asarray(skeleton, dtype=bool)
    if s.ndim == 2:
        s = s[None]
    p = np.pad(s, ((0, 0), (1, 1), (1, 1)))
    h, w = s.shape[1:]

    def at(dy: int, dx: int) -> np.ndarray:
        return p[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]

    axial = (s & at(0, 1)).sum(axis=(1, 2)) + (s & at(1, 0)).sum(axis=(1, 2))
    diagonal = np.zeros(len(s))
    for dx in (1, -1):  # links to the lower-right and the lower-left neighbour, each counted once
        bridged = at(0, dx) | at(1, 0)  # the L-corner through an axial neighbour
        diagonal += (s & at(1, dx) & ~bridged).sum(axis=(1, 2))
    n_pixels = s.sum(axis=(1, 2))
    return np.where(n_pixels > 0, axial + np.sqrt(2.0) * diagonal + 1.0, 0.0)


def stroke_thickness(images: torch.Tensor | np.ndarray, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """Stroke thickness T = A / L (eq-ch08-thickness) in pixels, per image: ink area over skeleton length.

    Images in [-1, 1]; an image without ink gets NaN.
    """
    mask = ink(images, threshold)
    area = mask.sum(axis=(1, 2)).astype(float)
    length = skeleton_length(skeletonize(mask, remove_corners=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(length > 0, area / np.maximum(length, 1e-12), np.nan)


def slant(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """Slant theta = atan(mu_xy / mu_yy) (eq-ch08-slant) in degrees, per image; > 0 leans right.

    Weights are the ink intensities (x + 1) / 2 of images in [-1, 1]; x points right, y up; mu are
    the central second moments. An image without ink gets NaN.
    """
    x = as_batch(images).astype(np.float64)
    wgt = np.clip((x + 1.0) / 2.0, 0.0, 1.0)
    h, w = x.shape[1:]
    ys, xs = np.meshgrid(-np.arange(h, dtype=float), np.arange(w, dtype=float), indexing="ij")  # y up
    mass = wgt.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = (wgt * xs).sum(axis=(1, 2)) / mass
        cy = (wgt * ys).sum(axis=(1, 2)) / mass
        dx = xs[None] - cx[:, None, None]
        dy = ys[None] - cy[:, None, None]
        mu_xy = (wgt * dx * dy).sum(axis=(1, 2)) / mass
        mu_yy = (wgt * dy * dy).sum(axis=(1, 2)) / mass
        return np.degrees(np.arctan(mu_xy / mu_yy))


ATTRIBUTES: dict[str, Callable[[torch.Tensor | np.ndarray], np.ndarray]] = {
    "thickness": stroke_thickness, "slant": slant,
}
UNITS = {"thickness": "pixels", "slant": "degrees"}


def measure_attributes(images: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
    """Every attribute of :data:`ATTRIBUTES` for a batch: ``{"thickness": (N,), "slant": (N,)}``."""
    return {name: fn(images) for name, fn in ATTRIBUTES.items()}


def _flat(z: torch.Tensor) -> torch.Tensor:
    if z.dim() < 2:
        raise ValueError(f"expected latent codes of shape (N, nz) or (N, nz, 1, 1), got {tuple(z.shape)}")
    return z.reshape(len(z), -1)


def attribute_direction(z: torch.Tensor, values: np.ndarray | torch.Tensor, fraction: float = 0.1) -> torch.Tensor:
    """v = mean(z | value in the top fraction) - mean(z | value in the bottom fraction) (eq-ch08-direction).

    ``z`` (N, nz) or (N, nz, 1, 1) codes, ``values`` (N,) the attribute of G(z); NaN values are
    ignored. Returns v with the shape of one code (nz,) or (nz, 1, 1), on z's device.
    """
    vals = torch.as_tensor(np.asarray(values, dtype=float))
    if vals.shape != (len(z),):
        raise ValueError(f"need one value per code: z has {len(z)}, values have shape {tuple(vals.shape)}")
    if not 0 < fraction <= 0.5:
        raise ValueError(f"fraction must be in (0, 0.5], got {fraction}")
    ok = torch.nonzero(~torch.isnan(vals)).ravel()
    k = int(fraction * len(ok))
    if k < 1:
        raise ValueError(f"fraction {fraction} of {len(ok)} valid values selects no sample")
    order = ok[torch.argsort(vals[ok])]
    zf = _flat(z)
    low, high = order[:k].to(z.device), order[-k:].to(z.device)
    return (zf[high].mean(0) - zf[low].mean(0)).reshape(z.shape[1:])


def exemplar_direction(z_high: torch.Tensor, z_low: torch.Tensor) -> torch.Tensor:
    """The DCGAN paper's exemplar version: mean of the high exemplars' codes minus mean of the low ones'
    (three each in Radford et al. 2016, section 6.3.2)."""
    if z_high.shape[1:] != z_low.shape[1:] or len(z_high) == 0 or len(z_low) == 0:
        raise ValueError(f"need non-empty code sets of one shape, got {tuple(z_high.shape)} and {tuple(z_low.shape)}")
    return z_high.mean(0) - z_low.mean(0)


def shift(z: torch.Tensor, direction: torch.Tensor, alphas: Sequence[float]) -> torch.Tensor:
    """z + alpha * v for every alpha: (A, N, *code) from codes (N, *code) and v (*code)."""
    if direction.shape != z.shape[1:]:
        raise ValueError(f"direction of shape {tuple(direction.shape)} does not fit codes {tuple(z.shape)}")
    a = torch.as_tensor(list(alphas), dtype=z.dtype, device=z.device)
    return z[None] + a.reshape(-1, *([1] * z.dim())) * direction[None, None]


@dataclass
class Sweep:
    """Measurements of :func:`attribute_sweep`, arrays of shape (A, N) over alphas x codes."""

    alphas: np.ndarray  # (A,)
    values: np.ndarray  # (A, N) the attribute of G(z + alpha v)
    labels: np.ndarray  # (A, N) classifier arg-max
    confidence: np.ndarray  # (A, N) classifier max probability

    def table(self) -> list[dict[str, float]]:
        """One row per alpha: mean and SE of the attribute, its change from alpha = 0 (paired), the
        share of images whose class equals the class at alpha = 0, and the mean confidence."""
        i0 = int(np.argmin(np.abs(self.alphas)))
        rows = []
        for a, v, lab, conf in zip(self.alphas, self.values, self.labels, self.confidence):
            d = v - self.values[i0]
            ok = ~np.isnan(d)
            rows.append({
                "alpha": float(a), "mean": float(np.nanmean(v)),
                "change": float(d[ok].mean()), "change_se": float(d[ok].std(ddof=1) / np.sqrt(ok.sum())),
                "class_kept": float((lab == self.labels[i0]).mean()), "confidence": float(conf.mean()),
            })
        return rows


@torch.no_grad()
def attribute_sweep(G: torch.nn.Module, classifier: MNISTClassifier, z: torch.Tensor, direction: torch.Tensor,
                    alphas: Sequence[float], attribute: str | Callable = "thickness", batch_size: int = 1000) -> Sweep:
    """Decode G(z + alpha v) for every alpha (:func:`gan_utils.models.generate`, eval mode, ``batch_size`` codes
    at a time) and measure ``attribute`` and the classifier's verdict."""
    fn = ATTRIBUTES[attribute] if isinstance(attribute, str) else attribute
    codes = shift(z, direction, alphas)  # (A, N, *code)
    values, labels, conf = [], [], []
    for zs in codes:
        images = generate(G, zs, batch_size)
        probs = classify(classifier, images).probs
        values.append(fn(images))
        conf_i, lab_i = probs.max(dim=1)
        labels.append(lab_i.numpy())
        conf.append(conf_i.numpy())
    return Sweep(np.asarray(list(alphas), dtype=float), np.stack(values), np.stack(labels), np.stack(conf))
