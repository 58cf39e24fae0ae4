"""The minimax game of Goodfellow et al. (2014): the value function and the pictures of Figure 1.

* :func:`value_function` -- V(D, G) of book eq. (eq-value) from discriminator logits.
* :class:`NormalToUniform` -- turns the N(0, 1) noise that ``train_gan`` draws into a uniform
  prior p_z = U(0, 1), as in the paper's Figure 1 (probability integral transform u = Phi(eps)).
* :func:`take_snapshot`, :class:`Snapshot` -- what a Figure 1 panel shows: D on a grid, the map
  z -> G(z) for fixed z, and a kernel density estimate of p_g.
* :func:`snapshot_scores` -- the numbers each panel is judged by (JSD, distance of D to 1/2 and to
  D* = p_data / (p_data + p_g), from :func:`gan_utils.foundations.optimal_discriminator.optimal_discriminator`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import integrate
from torch import nn

from gan_utils.foundations.divergences import jsd_on_grid, kde_density
from gan_utils.foundations.optimal_discriminator import optimal_discriminator
from gan_utils.models import mlp_generator


def value_function(d_real_logits: torch.Tensor, d_fake_logits: torch.Tensor) -> torch.Tensor:
    """Monte Carlo estimate of V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))], book eq. (eq-value).

    ``d_real_logits`` are the logits a(x) of D on samples of p_data, ``d_fake_logits`` those on
    samples G(z). With D = sigmoid(a), log D = -softplus(-a) and log(1 - D) = -softplus(a); both are
    evaluated by ``binary_cross_entropy_with_logits`` (labels 1 for real, 0 for fake), so V is minus
    the sum of the two mean cross-entropies and stays finite for logits of any size. V <= 0 always.
    """
    if d_real_logits.numel() == 0 or d_fake_logits.numel() == 0:
        raise ValueError("need at least one real and one fake logit")
    real = F.binary_cross_entropy_with_logits(d_real_logits, torch.ones_like(d_real_logits))
    fake = F.binary_cross_entropy_with_logits(d_fake_logits, torch.zeros_like(d_fake_logits))
    return -(real + fake)


class NormalToUniform(nn.Module):
    """u = Phi(eps): maps eps ~ N(0, 1) to u ~ U(0, 1) exactly (Phi is the standard normal CDF).

    ``gan_utils.train.train_gan`` always draws Gaussian noise; putting this module first in G makes
    the prior that the rest of G reads uniform, as in Figure 1 of Goodfellow et al. (2014).
    """

    def forward(self, eps: torch.Tensor) -> torch.Tensor:
        return torch.special.ndtr(eps)


def uniform_prior_generator(hidden: tuple[int, ...] = (32, 32), activation: str = "leaky_relu") -> nn.Sequential:
    """G(eps) = MLP(Phi(eps)): a 1-D generator whose effective noise prior is p_z = U(0, 1).

    ``G[1]`` is the MLP itself, the map u -> x drawn in Figure 1.
    """
    return nn.Sequential(NormalToUniform(), mlp_generator(1, 1, hidden, activation))


@dataclass
class Snapshot:
    """Everything one Figure 1 panel shows, as NumPy arrays."""

    label: str
    step: int  # generator steps of Algorithm 1 completed so far
    x: np.ndarray  # grid of x values
    d: np.ndarray  # D(x) = sigmoid(a(x)) on the grid
    u: np.ndarray  # fixed noise values u in (0, 1) for the mapping arrows
    g_u: np.ndarray  # G(u) for those u
    samples: np.ndarray  # many samples G(z), z ~ p_z
    p_g: np.ndarray  # Gaussian KDE of ``samples`` on the grid


@torch.no_grad()
def take_snapshot(G: nn.Sequential, D: nn.Module, x: np.ndarray, u: np.ndarray, eps: torch.Tensor,
                  label: str = "", step: int = 0) -> Snapshot:
    """Record D on the grid ``x``, the map u -> G(u) (``G[1]`` of :func:`uniform_prior_generator`) at the
    noise values ``u``, and samples G(eps) for the noise batch ``eps`` (already on G's device), with a KDE."""
    u = np.asarray(u, dtype=np.float64)
    if u.ndim != 1 or (u <= 0).any() or (u >= 1).any():
        raise ValueError("u must be a 1-D array of values in the open interval (0, 1)")
    device = eps.device
    x_t = torch.as_tensor(np.asarray(x), dtype=torch.float32, device=device).reshape(-1, 1)
    d = torch.sigmoid(D(x_t)).double().cpu().numpy().ravel()
    u_t = torch.as_tensor(u, dtype=torch.float32, device=device).reshape(-1, 1)
    g_u = G[1](u_t).double().cpu().numpy().ravel()
    samples = G(eps).double().cpu().numpy().ravel()
    return Snapshot(label, step, np.asarray(x, dtype=np.float64), d, u, g_u, samples, kde_density(samples, x))


def snapshot_scores(snap: Snapshot, p_data: np.ndarray) -> dict[str, float]:
    """The numbers a Figure 1 panel is judged by, all on the snapshot's grid (trapezoidal rule):

    * ``jsd``: JSD(p_data || p_g) with the snapshot's p_g, the KDE of G's samples (nats; the value
      :func:`gan_utils.foundations.divergences.jsd_to_samples` gives for ``snap.samples``);
    * ``d_half``: E_{x ~ p_data} |D(x) - 1/2|, how far D is from the equilibrium value 1/2 where data lie;
    * ``d_star``: E_{x ~ m} |D(x) - D*(x)| with m = (p_data + p_g)/2 and D* = p_data / (p_data + p_g),
      how far D is from the optimal discriminator for this G where either distribution has mass (where
      both densities vanish D* is 1/2, the convention of ``optimal_discriminator``; m = 0 there anyway).
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    if p_data.shape != snap.x.shape:
        raise ValueError("p_data must be tabulated on the snapshot's grid")
    m = 0.5 * (p_data + snap.p_g)
    d_star = optimal_discriminator(p_data, snap.p_g)
    return {
        "jsd": jsd_on_grid(p_data, snap.p_g, snap.x),
        "d_half": float(integrate.trapezoid(p_data * np.abs(snap.d - 0.5), snap.x)),
        "d_star": float(integrate.trapezoid(m * np.abs(snap.d - d_star), snap.x)),
    }
