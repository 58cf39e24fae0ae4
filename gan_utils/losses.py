"""GAN losses as pure functions of discriminator outputs (logits for the cross-entropy losses).

With D(x) = sigmoid(a(x)) and the value function of the book's equation (eq-value)

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],

the discriminator *maximises* V, i.e. minimises ``d_loss = -V``. Using log sigmoid(a) = -softplus(-a)
and log(1 - sigmoid(a)) = -softplus(a), every term is evaluated from logits without forming D,
which is what ``binary_cross_entropy_with_logits`` does.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss -V = -E[log D(x)] - E[log(1 - D(G(z)))] (book eq. eq-value).

    Equal to the binary cross-entropy with label 1 for real and 0 for fake samples, the two batch
    means added (not averaged), so that its minimum over D is -C(G) = log 4 - 2 JSD.
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The minimax generator loss E_z[log(1 - D(G(z)))], which G minimises (book eq. eq-ch05-g-sat).

    Its gradient with respect to the logit a is -sigmoid(a), which vanishes when D confidently
    rejects fakes (a -> -inf): the loss saturates early in training.
    """
    return -F.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss -E_z[log D(G(z))] (book eq. eq-ch05-ns-grad).

    Gradient with respect to the logit: -(1 - sigmoid(a)) -> -1 as a -> -inf. Equal to the binary
    cross-entropy of fakes against label 1. D's objective is unchanged: it still maximises V.
    """
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def lsgan_d_loss(real_out: torch.Tensor, fake_out: torch.Tensor, a: float = 0.0, b: float = 1.0) -> torch.Tensor:
    """LSGAN discriminator loss 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2] (Mao et al. 2017, eq. 2).

    ``real_out``/``fake_out`` are D's raw outputs (no sigmoid). a: target for fakes, b: for reals.
    """
    return 0.5 * ((real_out - b) ** 2).mean() + 0.5 * ((fake_out - a) ** 2).mean()


def lsgan_g_loss(fake_out: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    """LSGAN generator loss 1/2 E[(D(G(z)) - c)^2]; c is the value G wants D to believe for fakes.

    With a = -1, b = 1, c = 0 (so b - c = 1 and b - a = 2) minimising it minimises the Pearson
    chi^2 divergence between p_data + p_g and 2 p_g (Mao et al. 2017, section 3.2).
    """
    return 0.5 * ((fake_out - c) ** 2).mean()


GENERATOR_LOSSES = {
    "saturating": g_loss_saturating,
    "nonsaturating": g_loss_nonsaturating,
}
