"""Image restoration with a GAN prior, and the simple baselines it is measured against (book chapter 9).

A degradation A maps a clean digit x (N, 1, 28, 28) in [-1, 1] to an observation y = A(x) (+ noise).
With a pretrained generator G, the GAN-prior estimate is x_hat = G(z_hat), where z_hat minimises the
data term on the observed entries only (eq-ch09-restore):

    z_hat = argmin_z (1/|O|) sum_{p in O} (A(G(z)) - y)_p^2  (+ lambda R(z))

(:func:`gan_restore`, which calls :func:`gan_utils.images.inversion.invert`). Three tasks, each with its baseline:

* **inpainting** (:class:`Inpainting`): A keeps the pixels where a mask is 1 (the top half by
  default, :func:`half_mask`); the baseline fills the missing pixels with the per-pixel mean of the
  training images (``fill``) and keeps the observed ones (:meth:`Inpainting.baseline`).
* **denoising** (:class:`Denoising`): y = x + sigma * eps, eps ~ N(0, I), A = identity; the baseline
  is a median filter (``scipy.ndimage.median_filter``, ``size`` x ``size`` window).
* **super-resolution** (:class:`SuperResolution`): A = ``factor`` x ``factor`` average pooling (28 -> 7
  for factor 4); the baseline is bicubic upsampling (``torch.nn.functional.interpolate``, mode
  "bicubic", align_corners=False), clipped to [-1, 1].
* **colorization** (:class:`Colorization`), on Stacked MNIST (3 x 28 x 28, one digit per channel): A = the
  mean over the three channels; the baseline copies that grey image into every channel (the best guess that
  treats the channels alike). The GAN prior here is a generator of colour images (``stacked-dcgan``). The mean
  does not change when the channels are permuted, so digits are scored up to the channel order
  (:func:`correct_up_to_channel_order`).

The prior's weight (:func:`map_weight`): for Gaussian noise of variance sigma^2 on the observed entries the
MAP estimate under p_z = N(0, I) is eq-ch09-objective with R_gauss and lambda = sigma^2 nz / |O|.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import median_filter

from gan_utils.dcgan import DCGANGenerator
from gan_utils.images.inversion import InversionConfig, InversionResult, invert

IMAGE = (1, 28, 28)


def _check_images(x: torch.Tensor, name: str = "images") -> None:
    if x.dim() != 4 or tuple(x.shape[1:]) != IMAGE:
        raise ValueError(f"expected {name} of shape (N, 1, 28, 28), got {tuple(x.shape)}")


def map_weight(sigma2: float, nz: int, n_observed: int) -> float:
    """lambda = sigma^2 nz / |O|: the weight of R_gauss(z) = ||z||^2 / nz that makes eq-ch09-objective the
    negative log-posterior (divided by |O| / (2 sigma^2)) for Gaussian noise of variance ``sigma2`` on ``n_observed``
    entries and the prior p_z = N(0, I_nz)."""
    if sigma2 < 0 or nz < 1 or n_observed < 1:
        raise ValueError(f"need sigma2 >= 0, nz >= 1 and n_observed >= 1, got {sigma2}, {nz}, {n_observed}")
    return sigma2 * nz / n_observed


def half_mask(side: str = "bottom", size: int = 28) -> torch.Tensor:
    """A (1, 1, size, size) float mask, 1 = observed: ``side`` ("bottom", "top", "left", "right") is missing."""
    m = torch.ones(1, 1, size, size)
    h = size // 2
    if side == "bottom":
        m[..., h:, :] = 0
    elif side == "top":
        m[..., :h, :] = 0
    elif side == "left":
        m[..., :, :h] = 0
    elif side == "right":
        m[..., :, h:] = 0
    else:
        raise ValueError(f"side must be bottom, top, left or right, got {side!r}")
    return m


@dataclass
class Inpainting:
    """A(x) = x on the observed pixels (mask = 1); the missing ones are not observed at all."""

    mask: torch.Tensor  # (1, 1, 28, 28) or (N, 1, 28, 28), 1 = observed
    fill: torch.Tensor  # (1, 1, 28, 28) the per-pixel training mean, for the baseline

    name = "inpainting"

    def degrade(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The observation: observed pixels kept, missing ones set to 0 (a placeholder the loss ignores)."""
        _check_images(x)
        return x * self.mask.to(x.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask.to(x.device)

    def loss_mask(self) -> torch.Tensor:
        return self.mask

    def baseline(self, y: torch.Tensor) -> torch.Tensor:
        """Mean fill: observed pixels from y, missing ones from the training mean image."""
        m = self.mask.to(y.device)
        return m * y + (1 - m) * self.fill.to(y.device)


@dataclass
class Denoising:
    """y = x + sigma * eps; A = identity; baseline: a size x size median filter."""

    sigma: float = 0.5
    size: int = 3

    name = "denoising"

    def __post_init__(self) -> None:
        if self.sigma < 0 or self.size < 1:
            raise ValueError(f"need sigma >= 0 and size >= 1, got {self.sigma}, {self.size}")

    def degrade(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check_images(x)
        dev = generator.device if generator is not None else torch.device("cpu")
        eps = torch.randn(x.shape, generator=generator, device=dev).to(x.device)
        return x + self.sigma * eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def loss_mask(self) -> None:
        return None

    def baseline(self, y: torch.Tensor) -> torch.Tensor:
        """Median filter over each image's size x size neighbourhoods (reflecting borders), clipped to [-1, 1]."""
        out = median_filter(y.detach().cpu().numpy(), size=(1, 1, self.size, self.size), mode="reflect")
        return torch.from_numpy(np.clip(out, -1, 1)).to(y.device, y.dtype)


@dataclass
class SuperResolution:
    """A = factor x factor average pooling (28 -> 28/factor); baseline: bicubic upsampling back to 28."""

    factor: int = 4

    name = "super-resolution"

    def __post_init__(self) -> None:
        if self.factor < 1 or 28 % self.factor:
            raise ValueError(f"factor must divide 28, got {self.factor}")

    def degrade(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check_images(x)
        return F.avg_pool2d(x, self.factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, self.factor)

    def loss_mask(self) -> None:
        return None

    def baseline(self, y: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(y, size=IMAGE[1:], mode="bicubic", align_corners=False)
        return up.clamp(-1, 1)


@dataclass
class Colorization:
    """A(x) = the mean of the three channels of a Stacked MNIST image (N, 3, 28, 28) -> (N, 1, 28, 28);
    baseline: that grey image copied into every channel."""

    name = "colorization"

    def degrade(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != (3, 28, 28):
            raise ValueError(f"expected stacked images of shape (N, 3, 28, 28), got {tuple(x.shape)}")
        return x.mean(1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(1, keepdim=True)

    def loss_mask(self) -> None:
        return None

    def baseline(self, y: torch.Tensor) -> torch.Tensor:
        return y.expand(-1, 3, -1, -1).clone()


def correct_up_to_channel_order(pred: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per digit of stacked images, whether it is read correctly under the channel order that suits the image
    best: ``pred`` and ``labels`` (N, 3) -> bool (N, 3). The channel mean is the same for every order of the
    channels, so colorization from it can recover which three digits are present, not which colour each has."""
    if pred.shape != labels.shape or pred.dim() != 2 or pred.shape[1] != 3:
        raise ValueError(f"need two (N, 3) tensors, got {tuple(pred.shape)} and {tuple(labels.shape)}")
    perms = list(itertools.permutations(range(3)))
    hits = torch.stack([pred[:, list(p)] == labels for p in perms])  # (6, N, 3)
    best = hits.sum(2).argmax(0)  # (N,)
    return hits[best, torch.arange(len(pred))]


def gan_restore(G: DCGANGenerator, task, y: torch.Tensor, config: InversionConfig,
                generator: torch.Generator | None = None, z_init: torch.Tensor | None = None) -> InversionResult:
    """x_hat = G(z_hat) with z_hat from eq-ch09-restore: invert ``task.forward`` on the observation
    ``y``, with the loss on the task's observed entries only."""
    mask = task.loss_mask()
    return invert(G, y, config, degrade=task.forward, mask=None if mask is None else mask.to(y.device),
                  z_init=z_init, generator=generator)
