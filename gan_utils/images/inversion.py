"""GAN inversion by optimisation: find a latent code z with G(z) close to an image x (book chapter 9).

Batched: many images are inverted at once as one (N, nz) parameter tensor, and every image's code
gets its own gradient, because the batch loss is a *sum* of per-image losses.

* **Optimisation** (:func:`invert`), eq-ch09-objective::

      z_hat = argmin_z  L(z) = (1/|O|) sum_{p in O} (A(G(z)) - y)_p^2  +  lambda R(z)

  with Adam and a cosine-decayed learning rate. ``A`` is the degradation (identity for plain
  inversion; see :mod:`gan_utils.images.restoration`), ``O`` the observed entries of y (all of them
  unless a mask is given). The prior term R is one of

  - ``"none"``: R = 0;
  - ``"gauss"``: R(z) = ||z||^2 / nz, the negative log-density of p_z = N(0, I) up to constants and a
    scale (MAP estimation), eq-ch09-prior-gauss;
  - ``"chi"``: R(z) = (||z|| / sqrt(nz) - 1)^2, which pulls ||z|| to the shell where N(0, I) puts its
    mass (||z|| concentrates at sqrt(nz)) without pulling z to 0, eq-ch09-prior-chi.

  ``restarts`` > 1 runs that many random initialisations per image and keeps, per image, the one
  with the lowest final data term (best-of-n).

* **Stochastic clipping** (Lipton & Tripathi 2017): after every Adam step, each component of z that
  left [-a, a] is replaced by a fresh draw from Uniform[-a, a] (:func:`stochastic_clip_`). The paper
  uses a uniform prior on [-1, 1] and a = 1; our generator was trained with p_z = N(0, I), whose
  support is unbounded, so we clip at a = 4 (a standard normal component exceeds 4 in absolute value
  with probability 6.3e-5). This is the deviation from the paper.

* **Hybrid**: the code E(x) of an encoder (:mod:`gan_utils.images.encoder_inversion`) as the initial code
  of :func:`invert` (``z_init``).

Also here: how good an inversion is (:func:`relative_latent_error`, :func:`psnr`) and where it must fail
(:func:`out_of_distribution_inputs`, :func:`jacobian_singular_values`).
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

import torch
from torch.func import jacfwd
from tqdm.auto import tqdm

from gan_utils.checkpoints import load_pinned_json
from gan_utils.dcgan import DCGANGenerator

PRIORS = ("none", "gauss", "chi")

#: The converged inversion runs of chapter 9 (made by ``scripts/converged_inversion.py``) and their pinned sha256.
REFERENCE_PATH = Path(__file__).resolve().parents[1] / "assets" / "converged-inversion.json"
REFERENCE_SHA256 = "de8af1b9524e3492a8579ded428a95ef22190b701b921630a54ef56a73e65883"


def load_reference(path: str | Path | None = None, expected_sha256: str | None = None) -> dict[str, Any]:
    """The shipped converged inversion runs (JSON of ``scripts/converged_inversion.py``) after checking the
    file's sha256 against :data:`REFERENCE_SHA256` (or ``expected_sha256``). Raises ``ValueError`` on a mismatch."""
    path = Path(path) if path is not None else REFERENCE_PATH
    expected = REFERENCE_SHA256 if expected_sha256 is None else expected_sha256
    return load_pinned_json(path, expected)


@dataclass(frozen=True)
class InversionConfig:
    """Everything that defines an optimisation-based inversion run."""

    steps: int = 300
    lr: float = 0.1  # Adam's initial step size; cosine-decayed to lr * final_lr_fraction
    final_lr_fraction: float = 0.01
    prior: str = "none"
    prior_weight: float = 0.0  # lambda of eq-ch09-objective
    restarts: int = 1  # random initialisations per image (best-of-n)
    clip: float | None = None  # stochastic clipping bound a; None = no clipping
    init_scale: float = 1.0  # random initial codes ~ N(0, init_scale^2 I)
    stop_after: int | None = None  # stop after this many steps; the schedule still spans ``steps``

    def __post_init__(self) -> None:
        if self.steps < 1 or self.restarts < 1:
            raise ValueError(f"steps and restarts must be positive: {self}")
        if self.lr <= 0 or not 0 < self.final_lr_fraction <= 1:
            raise ValueError(f"need lr > 0 and 0 < final_lr_fraction <= 1: {self}")
        if self.prior not in PRIORS:
            raise ValueError(f"prior {self.prior!r} unknown; use one of {PRIORS}")
        if self.prior_weight < 0:
            raise ValueError(f"prior_weight must be >= 0, got {self.prior_weight}")
        if self.clip is not None and self.clip <= 0:
            raise ValueError(f"clip bound must be positive, got {self.clip}")
        if self.stop_after is not None and not 1 <= self.stop_after <= self.steps:
            raise ValueError(f"stop_after must be None or in [1, steps], got {self.stop_after}")


class InversionResult(NamedTuple):
    z: torch.Tensor  # (N, nz) best code per image
    images: torch.Tensor  # (N, 1, H, W) G(z)
    loss: torch.Tensor  # (N,) final data term of the kept code
    all_z: torch.Tensor  # (R, N, nz) final codes of every restart
    all_loss: torch.Tensor  # (R, N) final data term of every restart
    history: list[float]  # mean data term over all codes, per step
    seconds: float  # wall-clock time of the optimisation
    grad_history: list[float] = []  # median over codes of ||d objective / dz||, per step (the plateau test)


def prior_term(z: torch.Tensor, prior: str) -> torch.Tensor:
    """R(z) per code (eq-ch09-prior-gauss / eq-ch09-prior-chi): shape (N,) for codes (N, nz)."""
    if prior not in PRIORS:
        raise ValueError(f"prior {prior!r} unknown; use one of {PRIORS}")
    nz = z.shape[1]
    if prior == "none":
        return z.new_zeros(len(z))
    if prior == "gauss":
        return (z * z).sum(1) / nz
    return (z.norm(dim=1) / math.sqrt(nz) - 1.0) ** 2


def data_term(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image mean squared error over the observed entries: shape (N,).

    ``mask`` (broadcastable to ``target``; 1 = observed, 0 = missing) restricts the sum to observed
    entries and divides by their number, so missing pixels never enter the loss or its gradient.
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    sq = (pred - target) ** 2
    if mask is None:
        return sq.flatten(1).mean(1)
    m = mask.to(sq.dtype).expand_as(sq)
    count = m.flatten(1).sum(1)
    if (count == 0).any():
        raise ValueError("every image needs at least one observed entry")
    return (sq * m).flatten(1).sum(1) / count


@torch.no_grad()
def stochastic_clip_(z: torch.Tensor, bound: float, generator: torch.Generator | None = None) -> int:
    """In place: components with |z_i| > bound are redrawn from Uniform[-bound, bound] (Lipton &
    Tripathi 2017). Returns how many were redrawn."""
    out = z.abs() > bound
    n = int(out.sum())
    if n:
        fresh = (torch.rand(n, generator=generator, device=z.device if generator is None else generator.device)
                 .to(z.device, z.dtype) * 2 - 1) * bound
        z[out] = fresh
    return n


def invert(
    G: DCGANGenerator,
    target: torch.Tensor,
    config: InversionConfig = InversionConfig(),
    *,
    degrade: Callable[[torch.Tensor], torch.Tensor] | None = None,
    mask: torch.Tensor | None = None,
    z_init: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> InversionResult:
    """Minimise eq-ch09-objective over z for every image of ``target`` at once.

    ``target`` is y = A(x) (N, ...) with ``degrade`` = A applied to G(z) (identity when None);
    ``mask`` marks observed entries of y. ``z_init`` (N, nz) replaces the random start of the first
    restart (the hybrid method); further restarts start from N(0, init_scale^2 I) draws made with
    ``generator`` (on its device; default the CPU stream). G must be in eval mode (BatchNorm uses
    its running statistics, so each image's code is independent of the others in the batch).
    """
    if G.training:
        raise ValueError("put G in eval mode before inverting (BatchNorm must use running statistics)")
    cfg = config
    nz = G.config.nz
    n = len(target)
    device = target.device
    R = cfg.restarts
    gen_dev = generator.device if generator is not None else torch.device("cpu")
    z0 = torch.randn((R, n, nz), generator=generator, device=gen_dev).to(device) * cfg.init_scale
    if z_init is not None:
        if z_init.shape != (n, nz):
            raise ValueError(f"z_init must have shape ({n}, {nz}), got {tuple(z_init.shape)}")
        z0[0] = z_init.detach().to(device)
    z = z0.reshape(R * n, nz).clone().requires_grad_(True)
    y = target.repeat(R, *([1] * (target.dim() - 1)))
    m = mask
    if mask is not None and mask.shape[0] == n and n > 1:  # one mask per image: repeat per restart
        m = mask.repeat(R, *([1] * (mask.dim() - 1)))
    forward = degrade if degrade is not None else (lambda img: img)
    opt = torch.optim.Adam([z], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps, eta_min=cfg.lr * cfg.final_lr_fraction)
    history: list[float] = []
    grad_history: list[float] = []
    steps = range(cfg.steps if cfg.stop_after is None else cfg.stop_after)
    if progress:
        steps = tqdm(steps, desc="invert", leave=False)
    start = time.perf_counter()
    for _ in steps:
        opt.zero_grad(set_to_none=True)
        d = data_term(forward(G(z)), y, m)
        loss = d + cfg.prior_weight * prior_term(z, cfg.prior) if cfg.prior_weight > 0 else d
        loss.sum().backward()  # a sum: each code's gradient is that of its own image's loss
        assert z.grad is not None
        grad_history.append(float(z.grad.norm(dim=1).median()))
        opt.step()
        sched.step()
        if cfg.clip is not None:
            stochastic_clip_(z, cfg.clip, generator)
        history.append(float(d.detach().mean()))
    with torch.no_grad():
        images = G(z)
        final = data_term(forward(images), y, m).reshape(R, n)
    seconds = time.perf_counter() - start
    all_z = z.detach().reshape(R, n, nz)
    best = final.argmin(0)  # (n,)
    idx = torch.arange(n, device=device)
    images = images.reshape(R, n, *images.shape[1:])[best, idx]
    return InversionResult(all_z[best, idx], images, final[best, idx], all_z, final, history, seconds, grad_history)


#: Lipton & Tripathi's (2017) success levels: a code counts as recovered at level eps when the mean squared
#: error per component, ||z_hat - z||^2 / nz, is below eps (their released code, ``reverse_GAN_batch_all_prec``).
LT_LEVELS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)


def component_mse(z_hat: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """||z_hat - z||^2 / nz per code, shape (N,): the error Lipton & Tripathi threshold."""
    if z_hat.shape != z.shape or z.dim() != 2:
        raise ValueError(f"need two (N, nz) tensors of one shape, got {tuple(z_hat.shape)} and {tuple(z.shape)}")
    return ((z_hat - z) ** 2).mean(1)


def recovery_rates(z_hat: torch.Tensor, z: torch.Tensor, levels: tuple[float, ...] = LT_LEVELS) -> dict[float, float]:
    """Share of codes whose :func:`component_mse` is below each level."""
    err = component_mse(z_hat, z)
    return {eps: float((err < eps).double().mean()) for eps in levels}


def jacobian_svd(G: DCGANGenerator, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Singular values (N, nz), descending, and right singular vectors (N, nz, nz) (columns) of dG(z)/dz at
    each code of ``z`` (N, nz)."""
    if z.dim() != 2 or z.shape[1] != G.config.nz:
        raise ValueError(f"expected codes of shape (N, {G.config.nz}), got {tuple(z.shape)}")
    svals, vecs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for zi in z.detach():
            J = jacfwd(lambda v: G(v[None]).flatten())(zi)  # (pixels, nz)
            _, S, Vh = torch.linalg.svd(J, full_matrices=False)
            svals.append(S)
            vecs.append(Vh.T)
    return torch.stack(svals), torch.stack(vecs)


def subspace_error(z_hat: torch.Tensor, z: torch.Tensor, svals: torch.Tensor, vecs: torch.Tensor,
                   fraction: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The latent error split by how well the image determines each direction.

    With the SVD of dG/dz at the true code z (:func:`jacobian_svd`), the *well-conditioned* directions are the
    right singular vectors whose singular value is at least ``fraction`` times the largest. Returns per code:
    the relative error inside that subspace ||P (z_hat - z)|| / ||P z||, the relative error in its complement
    ||(I - P)(z_hat - z)|| / ||(I - P) z||, and the subspace's dimension k."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if z_hat.shape != z.shape or svals.shape != z.shape or vecs.shape != (*z.shape, z.shape[1]):
        raise ValueError("need z_hat, z (N, nz), svals (N, nz) and vecs (N, nz, nz)")
    keep = svals >= fraction * svals[:, :1]  # (N, nz)
    err = torch.einsum("nij,ni->nj", vecs, z_hat - z)  # coordinates in the singular basis
    ref = torch.einsum("nij,ni->nj", vecs, z)
    inside = (err * keep).norm(dim=1) / (ref * keep).norm(dim=1).clamp_min(1e-12)
    outside = (err * ~keep).norm(dim=1) / (ref * ~keep).norm(dim=1).clamp_min(1e-12)
    return inside, outside, keep.sum(1)


def relative_latent_error(z_hat: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """||z_hat - z|| / ||z|| per code, shape (N,) (eq-ch09-recovery)."""
    if z_hat.shape != z.shape:
        raise ValueError(f"shapes differ: {tuple(z_hat.shape)} vs {tuple(z.shape)}")
    z_hat, z = z_hat.reshape(len(z), -1), z.reshape(len(z), -1)
    return (z_hat - z).norm(dim=1) / z.norm(dim=1)


def psnr(x: torch.Tensor, ref: torch.Tensor, peak_to_peak: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB, 10 log10(peak_to_peak^2 / MSE) (eq-ch09-psnr).

    ``peak_to_peak`` is the range of the pixel values: 2 for images in [-1, 1].
    """
    if x.shape != ref.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(ref.shape)}")
    mse = ((x - ref) ** 2).flatten(1).mean(1)
    return 10.0 * torch.log10(peak_to_peak ** 2 / mse.clamp_min(1e-12))


def out_of_distribution_inputs(digit: torch.Tensor,
                               generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Three inputs far from MNIST, each (1, 1, 28, 28) in [-1, 1], for the limits of inversion:

    * ``"rotated digit"``: ``digit`` (1, 1, 28, 28) turned by 90 degrees;
    * ``"letter H"``: a letter drawn from three strokes (two vertical bars and a cross bar, 3 px wide);
    * ``"noise"``: i.i.d. Uniform[-1, 1] pixels drawn with ``generator``.
    """
    if digit.shape != (1, 1, 28, 28):
        raise ValueError(f"expected one digit of shape (1, 1, 28, 28), got {tuple(digit.shape)}")
    letter = -torch.ones(1, 1, 28, 28)
    letter[..., 5:23, 7:10] = 1.0  # left bar
    letter[..., 5:23, 18:21] = 1.0  # right bar
    letter[..., 13:16, 7:21] = 1.0  # cross bar
    dev = generator.device if generator is not None else torch.device("cpu")
    noise = torch.rand((1, 1, 28, 28), generator=generator, device=dev) * 2 - 1
    return {"rotated digit": torch.rot90(digit, 1, dims=(2, 3)),
            "letter H": letter.to(digit.device), "noise": noise.to(digit.device)}


def jacobian_singular_values(G: DCGANGenerator, z: torch.Tensor) -> torch.Tensor:
    """Singular values (N, nz), descending, of the Jacobian dG(z)/dz (pixels x nz) at each code of
    ``z`` (N, nz). Small singular values are directions of z along which G(z) barely moves: there the
    pixel loss cannot pin the code down (eq-ch09-local)."""
    if z.dim() != 2 or z.shape[1] != G.config.nz:
        raise ValueError(f"expected codes of shape (N, {G.config.nz}), got {tuple(z.shape)}")
    out = []
    with warnings.catch_warnings():  # torch.func emits a FutureWarning about torch.jit.script on first use
        warnings.simplefilter("ignore", FutureWarning)
        for zi in z.detach():
            # forward mode: nz tangents in one batched pass
            J = jacfwd(lambda v: G(v[None]).flatten())(zi)  # (pixels, nz)
            out.append(torch.linalg.svdvals(J))
    return torch.stack(out)
