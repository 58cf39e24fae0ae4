"""GAN losses as pure functions of discriminator outputs (logits for the cross-entropy losses).

With D(x) = sigmoid(a(x)) and the value function of the book's equation (eq-value)

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],

the discriminator *maximises* V, i.e. minimises ``d_loss = -V``. Using log sigmoid(a) = -softplus(-a)
and log(1 - sigmoid(a)) = -softplus(a), every term is evaluated from logits without forming D,
which is what ``binary_cross_entropy_with_logits`` does.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

#: added under the square root of a gradient's squared norm: d sqrt(s)/ds = 1 / (2 sqrt(s)) is infinite at
#: s = 0, and 0 * inf = NaN reaches every weight the first time a critic is flat on an interpolate (book FAQ).
NORM_EPS = 1e-12


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


# -------------------------------------------------------------------------------------------------
# Losses of chapter 11 (beyond the JSD). The network's output is a *critic* value f(x) in R, not a logit.
# -------------------------------------------------------------------------------------------------
def wasserstein_d_loss(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """Critic loss E[f(G(z))] - E[f(x)] (book eq. eq-ch11-wgan; Arjovsky, Chintala & Bottou 2017, Algorithm 1).

    The critic f *maximises* E[f(x)] - E[f(G(z))], the Kantorovich-Rubinstein dual of W1 (eq.
    eq-ch11-kr-dual) when f is 1-Lipschitz, so it minimises the negative. The loss is not bounded below
    by 0: it goes negative as soon as the critic separates real from fake (book FAQ).
    """
    return fake_out.mean() - real_out.mean()


def wasserstein_g_loss(fake_out: torch.Tensor) -> torch.Tensor:
    """Generator loss -E[f(G(z))] (book eq. eq-ch11-wgan): G moves its samples up the critic."""
    return -fake_out.mean()


def hinge_d_loss(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """Hinge discriminator loss E[max(0, 1 - f(x))] + E[max(0, 1 + f(G(z)))] (book eq. eq-ch11-hinge;
    Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1 - real_out).mean() + F.relu(1 + fake_out).mean()


#: The hinge generator loss -E[f(G(z))] (book eq. eq-ch11-hinge) is the Wasserstein one.
hinge_g_loss = wasserstein_g_loss


def interpolates(real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per sample (book eq. eq-ch11-gp; Gulrajani et al. 2017,
    Algorithm 1). ``eps`` has the leading (batch) shape of ``real`` followed by ones, e.g. (B, 1, 1, 1)
    for images or (S, B, 1) for the batched members of an ensemble. Raises ``ValueError`` for weights outside
    [0, 1] (a normal draw, ``randn``, instead of ``rand``, is the bug this catches)."""
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must have one shape")
    if eps.dim() != real.dim() or any(e not in (1, r) for e, r in zip(eps.shape, real.shape)):
        raise ValueError(f"eps of shape {tuple(eps.shape)} does not broadcast per sample over {tuple(real.shape)}")
    if bool((eps < 0).any()) or bool((eps > 1).any()):
        raise ValueError("interpolation weights must lie in [0, 1]: draw them with torch.rand, not torch.randn")
    return eps * real + (1 - eps) * fake


def critic_gradient_norms(critic: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_dims: int = 1,
                          create_graph: bool = False) -> torch.Tensor:
    """||grad_x f(x)||_2 per sample, shape ``x.shape[:batch_dims]``: the gradient of the *summed* critic outputs
    with respect to x gives every sample (and every ensemble member) its own gradient, because sample i's
    output depends only on x_i. The norm is sqrt(sum g^2 + NORM_EPS) (book eq. eq-ch11-gp), finite with a
    finite derivative where g = 0."""
    if not 1 <= batch_dims < x.dim():
        raise ValueError(f"batch_dims must be in [1, {x.dim() - 1}], got {batch_dims}")
    x = x if x.requires_grad else x.detach().requires_grad_(True)
    out = critic(x)
    (grad,) = torch.autograd.grad(out.float().sum(), x, create_graph=create_graph)
    return torch.sqrt(grad.flatten(batch_dims).pow(2).sum(-1) + NORM_EPS)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     eps: torch.Tensor, weight: float = 10.0, batch_dims: int | None = None,
                     one_sided: bool = False) -> torch.Tensor:
    """The two-sided penalty weight * E[(||grad f(x_hat)||_2 - 1)^2] on interpolates x_hat (book eq.
    eq-ch11-gp; Gulrajani et al. 2017, lambda = 10 in their Algorithm 1); ``one_sided``:
    weight * E[max(0, ||grad f|| - 1)^2], which penalises only slopes above 1 (no barrier at slope 0 for a
    critic that must change its sign; book chapter 11, experiment b).
    ``eps``: see :func:`interpolates`; the mean runs over every sample of every member (an ensemble multiplies
    by its member count, as for its losses).
    ``batch_dims``: the leading sample axes (default: those before ``eps``'s trailing run of ones)."""
    x_hat = interpolates(real.detach(), fake.detach(), eps)
    if batch_dims is None:
        batch_dims = eps.dim()
        while batch_dims > 1 and eps.shape[batch_dims - 1] == 1:
            batch_dims -= 1
    norms = critic_gradient_norms(critic, x_hat, batch_dims, create_graph=True)
    excess = (norms - 1).clamp(min=0) if one_sided else norms - 1
    return weight * excess.pow(2).mean()
