"""The Wasserstein-1 distance and the ways to keep a critic Lipschitz (book chapter 11).

* W1 between 1-D distributions, exactly: from sorted samples (:func:`w1_sorted`; the optimal coupling
  of two equal-size samples on the line pairs them in sorted order) and from two CDFs,
  W1 = integral |F_p - F_q| dx (:func:`w1_from_cdfs`, book eq. ``eq-ch11-w1-1d``).
* The Kantorovich-Rubinstein dual W1 = sup_{||f||_L <= 1} E_p f - E_q f (eq. ``eq-ch11-kr-dual``)
  estimated by a trained critic (:func:`train_critic`, :func:`dual_estimate`).
* Chapter 4's disjoint pair, where dJSD/dtheta vanishes and dW1/dtheta = 1 (:func:`disjoint_gradients`).
* The three ways of bounding the critic's Lipschitz constant: weight clipping (WGAN; the clip itself is
  :func:`gan_utils.train.clip_weights_`, :func:`share_at_clip` measures its pathology), the gradient penalty
  (WGAN-GP; :func:`gan_utils.losses.gradient_penalty`) and spectral normalisation (SN-GAN;
  :func:`power_iteration`, :class:`BatchedSpectralNorm` for the batched layers of
  :mod:`gan_utils.ensemble`, :func:`sn_dcgan_discriminator` for chapter 7's DCGAN).
"""
from __future__ import annotations

from typing import Callable, Sequence, cast

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import ndtr
from scipy.stats import spearmanr
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator
from gan_utils.ensemble import BatchedLinear
from gan_utils.foundations.divergences import integrate_1d, jsd_shift_derivative, normal_pdf
from gan_utils.losses import critic_gradient_norms, gradient_penalty
from gan_utils.models import MLP, mlp_discriminator
from gan_utils.train import clip_weights_

Sampler = Callable[[int, torch.Generator], torch.Tensor]


# -------------------------------------------------------------------------------------------------
# W1 in one dimension, exactly
# -------------------------------------------------------------------------------------------------
def w1_sorted(x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray) -> float:
    """W1 between the empirical distributions of two equal-size 1-D samples: mean |x_(i) - y_(i)| over the
    sorted samples (book eq. ``eq-ch11-w1-1d``: on the line the monotone coupling is optimal)."""
    a, b = np.sort(np.asarray(x, dtype=np.float64).ravel()), np.sort(np.asarray(y, dtype=np.float64).ravel())
    if a.size != b.size or a.size == 0:
        raise ValueError(f"need two non-empty samples of one size, got {a.size} and {b.size}")
    return float(np.abs(a - b).mean())


def normal_cdf(mean: float, std: float) -> Callable[[np.ndarray], np.ndarray]:
    """The CDF of N(mean, std^2) as a vectorised function."""
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    return lambda x: ndtr((np.asarray(x, dtype=np.float64) - mean) / std)


def w1_from_cdfs(cdf_p: Callable[[np.ndarray], np.ndarray], cdf_q: Callable[[np.ndarray], np.ndarray],
                 support: tuple[float, float], points: Sequence[float] | None = None) -> float:
    """W1(p, q) = integral |F_p(x) - F_q(x)| dx over ``support`` (book eq. ``eq-ch11-w1-1d``), by the adaptive
    quadrature of :func:`gan_utils.foundations.divergences.integrate_1d` (``points``: breaks of the pieces)."""
    return integrate_1d(lambda x: np.abs(cdf_p(x) - cdf_q(x)), support, points)


def disjoint_gradients(sigma: float = 0.05, separation: float = 20.0, h: float | None = None) -> tuple[float, float]:
    """Chapter 4's pair p = N(0, sigma^2), q_theta = N(theta, sigma^2) at theta = separation * sigma: returns
    (dJSD/dtheta, dW1/dtheta). The first is eq. ``eq-ch04-djsd`` by quadrature
    (:func:`gan_utils.foundations.divergences.jsd_shift_derivative`), the second a central difference of
    :func:`w1_from_cdfs` with step h (default sigma / 100); W1 = |theta| here, so it should be 1."""
    theta = separation * sigma
    h = sigma / 100 if h is None else h
    support = (-20 * sigma, theta + 20 * sigma)
    breaks = [0.0, theta / 2, theta]
    q = normal_pdf(theta, sigma)
    djsd = jsd_shift_derivative(normal_pdf(0.0, sigma), q, lambda x: q(x) * (x - theta) / sigma ** 2, support, breaks)
    cdf_p = normal_cdf(0.0, sigma)
    w = [w1_from_cdfs(cdf_p, normal_cdf(theta + s * h, sigma), support, breaks) for s in (1, -1)]
    return djsd, (w[0] - w[1]) / (2 * h)


# -------------------------------------------------------------------------------------------------
# The dual: a trained critic
# -------------------------------------------------------------------------------------------------
def critic_mlp(dim: int = 1, hidden: tuple[int, ...] = (64, 64), seed: int = 0) -> MLP:
    """A small critic f: R^dim -> R, :func:`gan_utils.models.mlp_discriminator` (LeakyReLU(0.2) hidden layers,
    a linear output read as a critic value, not a logit), its weights drawn from ``seed`` without touching the
    global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return mlp_discriminator(dim, hidden, "leaky_relu")


@torch.no_grad()
def dual_estimate(critic: nn.Module, x_p: torch.Tensor, x_q: torch.Tensor) -> float:
    """E_p f - E_q f on two samples (n, d): the critic's estimate of W1(p, q) (book eq. ``eq-ch11-kr-dual``),
    a lower bound when f is 1-Lipschitz."""
    return float(critic(x_p).mean() - critic(x_q).mean())


def train_critic(critic: nn.Module, sample_p: Sampler, sample_q: Sampler, steps: int, batch_size: int = 256,
                 lr: float = 1e-3, betas: tuple[float, float] = (0.5, 0.9), gp_weight: float = 10.0,
                 clip: float | None = None, seed: int = 0, one_sided: bool = False) -> list[float]:
    """Ascend E_p f - E_q f over the critic (the inner sup of eq. ``eq-ch11-kr-dual``), with the gradient penalty
    (``gp_weight`` > 0, eq. ``eq-ch11-gp``) and/or weight clipping (``clip``, eq. ``eq-ch11-clip``) keeping f
    near 1-Lipschitz (``one_sided``: :func:`gan_utils.losses.gradient_penalty`'s one-sided form). Returns the batch
    dual estimate E_p f - E_q f after every step."""
    if steps < 1 or batch_size < 2:
        raise ValueError(f"need steps >= 1 and batch_size >= 2, got {steps}, {batch_size}")
    rng = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(critic.parameters(), lr=lr, betas=betas)
    trace = []
    for _ in range(steps):
        xp, xq = sample_p(batch_size, rng), sample_q(batch_size, rng)
        gap = critic(xp).mean() - critic(xq).mean()
        loss = -gap
        if gp_weight > 0:
            eps = torch.rand((batch_size, *[1] * (xp.dim() - 1)), generator=rng)
            loss = loss + gradient_penalty(critic, xp, xq, eps, gp_weight, one_sided=one_sided)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if clip is not None:
            clip_weights_(critic, clip)
        trace.append(float(gap.detach()))
    return trace


def lipschitz_lower_bound(critic: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> float:
    """max_i ||grad f(x_i)||: a lower bound on the critic's Lipschitz constant from the points x (n, d)."""
    return float(critic_gradient_norms(critic, x).max())


def share_at_clip(module: nn.Module, clip: float, rel_tol: float = 0.01) -> float:
    """Share of the weights of ``module``'s weight matrices (not biases) with |w| >= (1 - rel_tol) clip: how many a
    clipped critic has pushed to the bounds (Gulrajani et al. 2017, Figure 1b)."""
    ws = [p.detach().abs().ravel() for name, p in module.named_parameters() if "weight" in name]
    if not ws:
        raise ValueError("module has no weight parameters")
    w = torch.cat(ws)
    return float((w >= (1 - rel_tol) * clip).float().mean())


# -------------------------------------------------------------------------------------------------
# Spectral normalisation
# -------------------------------------------------------------------------------------------------
def power_iteration(W: torch.Tensor, u: torch.Tensor, iters: int = 1,
                    eps: float = 1e-12) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The largest singular value of each matrix of W (..., m, n) by power iteration (book eq. ``eq-ch11-power``;
    Miyato et al. 2018): v <- W^T u / ||W^T u||, u <- W v / ||W v||, sigma = u^T W v.
    ``u`` (..., m): the left vector carried from the last call. Returns (sigma (...), u, v)."""
    if W.dim() < 2 or u.shape != W.shape[:-1]:
        raise ValueError(f"W (..., m, n) and u (..., m) disagree: {tuple(W.shape)}, {tuple(u.shape)}")
    if iters < 1:
        raise ValueError(f"iters must be >= 1, got {iters}")
    v = u
    for _ in range(iters):
        v = F.normalize((u.unsqueeze(-2) @ W).squeeze(-2), dim=-1, eps=eps)  # W^T u, (..., n)
        u = F.normalize((W @ v.unsqueeze(-1)).squeeze(-1), dim=-1, eps=eps)  # W v, (..., m)
    sigma = (u.unsqueeze(-2) @ W @ v.unsqueeze(-1)).squeeze(-1).squeeze(-1)
    return sigma, u, v


class BatchedSpectralNorm(nn.Module):
    """Parametrization W_s -> W_s / sigma(W_s) of a :class:`gan_utils.ensemble.BatchedLinear` weight (S, in, out),
    one power iteration per member and forward pass in training mode (book eq. ``eq-ch11-sn``), the vectors
    u_s carried between calls as buffers, as ``torch.nn.utils.parametrizations.spectral_norm`` does for one
    matrix. In eval mode the stored vectors are used without an update."""

    def __init__(self, weight: torch.Tensor, iters: int = 1, eps: float = 1e-12, seed: int = 0):
        super().__init__()
        if weight.dim() != 3:
            raise ValueError(f"expected a batched weight (S, in, out), got {tuple(weight.shape)}")
        self.iters, self.eps = iters, eps
        g = torch.Generator().manual_seed(seed)
        u = F.normalize(torch.randn(weight.shape[:-1], generator=g), dim=-1).to(weight)  # (S, in)
        self.register_buffer("u", u)
        with torch.no_grad():  # warm the vector up, as torch does (15 iterations)
            _, u, _ = power_iteration(weight.detach(), u, 15, eps)
        self.vector.copy_(u)

    @property
    def vector(self) -> torch.Tensor:
        """The stored left vectors u, (S, in)."""
        return cast(torch.Tensor, self.u)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        u = self.vector
        if self.training:
            with torch.no_grad():
                _, u, _ = power_iteration(weight.detach(), u, self.iters, self.eps)
                self.vector.copy_(u)
        with torch.no_grad():
            v = F.normalize((u.unsqueeze(-2) @ weight).squeeze(-2), dim=-1, eps=self.eps)  # (S, out)
        sigma = (u.unsqueeze(-2) @ weight @ v.unsqueeze(-1)).squeeze(-1)  # (S, 1), differentiable in W
        return weight / sigma.unsqueeze(-1)


def batched_spectral_norm_(module: nn.Module, iters: int = 1) -> nn.Module:
    """Register :class:`BatchedSpectralNorm` on the weight of every :class:`BatchedLinear` of ``module``."""
    layers = [m for m in module.modules() if isinstance(m, BatchedLinear)]
    if not layers:
        raise ValueError(f"{type(module).__name__} holds no BatchedLinear layer")
    for i, layer in enumerate(layers):
        parametrize.register_parametrization(layer, "weight", BatchedSpectralNorm(layer.weight, iters, seed=i))
    return module


def sn_dcgan_discriminator(config: DCGANConfig) -> DCGANDiscriminator:
    """Chapter 7's discriminator without BatchNorm, with ``torch.nn.utils.parametrizations.spectral_norm`` on every
    convolution (Miyato et al. 2018: SN replaces BN in D; book eq. ``eq-ch11-sn``). Its output is a critic value
    for the hinge loss (eq. ``eq-ch11-hinge``)."""
    D = DCGANDiscriminator(DCGANConfig(**{**config.__dict__, "batchnorm": False}))
    for m in list(D.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            spectral_norm(m)
    return D


def layer_sigmas(module: nn.Module) -> list[torch.Tensor]:
    """The exact largest singular value of every (effective) weight: conv kernels reshaped to (out, in k k) as
    ``spectral_norm`` does, batched weights per member, by ``torch.linalg.svdvals``."""
    out = []
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            out.append(torch.linalg.svdvals(m.weight.detach().flatten(1))[0])
        elif isinstance(m, BatchedLinear):
            out.append(torch.linalg.svdvals(m.weight.detach())[:, 0])
    return out


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation of two equal-length sequences (``scipy.stats.spearmanr``)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.size < 3:
        raise ValueError(f"need two sequences of one length >= 3, got {x.size} and {y.size}")
    return float(spearmanr(x, y).statistic)
