"""Mode collapse: three remedies (book chapter 6, section 6.4).

Why the objective allows collapse (section 6.1: the best response to a fixed D, forward vs reverse KL)
is in :mod:`gan_utils.collapse_mechanisms`.

Remedies, all with the generator and discriminator of the vanilla GAN (only D's input layer or one
extra feature changes):

* :func:`train_unrolled_gan` -- Unrolled GAN (Metz et al. 2017): G's loss is evaluated at the
  discriminator obtained after K *differentiable* Adam steps from the current D (eq. ``eq-ch06-unrolled``),
  computed with ``torch.func.functional_call``; G's gradient flows back through the K steps.
  Deviations: the unrolled steps start from the optimizer's current Adam moments (as the paper's code
  does) but use the bias correction of the next step; D's real update is a separate ordinary step.
* :class:`PackedDiscriminator` -- PacGAN (Lin et al. 2018): D sees m samples concatenated
  (eq. ``eq-ch06-packing``); works with :func:`gan_utils.train.train_gan` as long as the batch size is
  a multiple of m. Vectors are concatenated along features, images along channels.
* :class:`MinibatchStdDiscriminator` -- the minibatch standard-deviation feature of Karras et al.
  (2018): the mean over features of the per-feature standard deviation within groups of ``group_size``
  samples is appended to D's last hidden layer (eq. ``eq-ch06-mbstd``).
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from gan_utils import losses
from gan_utils.models import ACTIVATIONS, MLP, MLPConfig
from gan_utils.train import Callback, History, RealSampler, TrainConfig, TrainState, sample_noise

# -------------------------------------------------------------------------------------------------
# PacGAN packing and the minibatch standard deviation
# -------------------------------------------------------------------------------------------------


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """Concatenate groups of m consecutive samples: (B, d) -> (B/m, m d), (B, C, H, W) -> (B/m, m C, H, W)."""
    if m < 1:
        raise ValueError(f"packing degree m must be >= 1, got {m}")
    if x.shape[0] % m != 0:
        raise ValueError(f"batch of {x.shape[0]} samples is not a multiple of the packing degree {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


class PackedDiscriminator(nn.Module):
    """D_pac(x_1, ..., x_m) = inner(concat(x_1, ..., x_m)) (book eq. ``eq-ch06-packing``).

    ``inner`` must accept the packed input (m times the features or channels). The output has one logit
    per pack, so a batch of B samples gives B/m logits; the GAN losses average over packs.
    """

    def __init__(self, inner: nn.Module, m: int):
        super().__init__()
        if m < 1:
            raise ValueError(f"packing degree m must be >= 1, got {m}")
        self.inner, self.m = inner, m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(pack(x, self.m))


def minibatch_std(h: torch.Tensor, group_size: int) -> torch.Tensor:
    """For each group of ``group_size`` consecutive rows of h (B, F): the mean over features of the
    within-group standard deviation, repeated for every row of the group -> (B, 1)."""
    b = h.shape[0]
    g = min(group_size, b)
    if b % g != 0:
        raise ValueError(f"batch of {b} is not a multiple of the group size {g}")
    grouped = h.reshape(b // g, g, -1)
    sd = torch.sqrt(grouped.var(dim=1, unbiased=False) + 1e-8).mean(dim=1)  # (B/g,)
    return sd.repeat_interleave(g).unsqueeze(1)


class MinibatchStdDiscriminator(nn.Module):
    """An MLP discriminator whose last hidden layer gets one more feature, the minibatch standard
    deviation of that layer (Karras et al. 2018; book eq. ``eq-ch06-mbstd``): x -> body -> [h, s(h)] -> logit.

    With ``hidden`` equal to the vanilla D's widths it has exactly one more weight than that D.
    """

    def __init__(self, data_dim: int, hidden: tuple[int, ...] = (128, 128), activation: str = "leaky_relu",
                 group_size: int = 4):
        super().__init__()
        if len(hidden) < 1 or group_size < 2:
            raise ValueError("need at least one hidden layer and group_size >= 2")
        self.group_size = group_size
        self.body = nn.Sequential(MLP(MLPConfig(data_dim, hidden[-1], tuple(hidden[:-1]), activation)),
                                  ACTIVATIONS[activation]())
        self.head = nn.Linear(hidden[-1] + 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        return self.head(torch.cat([h, minibatch_std(h, self.group_size)], dim=1))


# -------------------------------------------------------------------------------------------------
# Unrolled GAN
# -------------------------------------------------------------------------------------------------


def unrolled_d_params(D: nn.Module, opt_d: torch.optim.Adam, G: nn.Module, sample_real: RealSampler,
                      config: TrainConfig, steps: int, rng: torch.Generator, device: torch.device
                      ) -> dict[str, torch.Tensor]:
    """theta_D^K: K differentiable Adam steps on D's loss from the current parameters (eq. ``eq-ch06-unrolled``).

    The fakes of every step are G(z) with G's graph kept, and each step's gradient is taken with
    ``create_graph=True``, so the returned parameters are differentiable functions of G's parameters.
    """
    lr = opt_d.param_groups[0]["lr"]
    b1, b2 = opt_d.param_groups[0]["betas"]
    eps = opt_d.param_groups[0]["eps"]
    names = [n for n, _ in D.named_parameters()]
    params = {n: p.detach().clone().requires_grad_(True) for n, p in D.named_parameters()}
    moments = {}
    for n, p in D.named_parameters():
        st = opt_d.state.get(p, {})
        moments[n] = (st["exp_avg"].detach(), st["exp_avg_sq"].detach(), float(st["step"])) if st else \
            (torch.zeros_like(p), torch.zeros_like(p), 0.0)
    buffers = dict(D.named_buffers())
    for _ in range(steps):
        real = sample_real(config.batch_size, rng)
        fake = G(sample_noise(config.batch_size, config.z_shape, device, rng))
        state = {**params, **buffers}
        loss = losses.d_loss(functional_call(D, state, (real,)), functional_call(D, state, (fake,)))
        grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=True, allow_unused=True)
        new_params, new_moments = {}, {}
        for n, g in zip(names, grads):
            m, v, t = moments[n]
            if g is None:
                new_params[n], new_moments[n] = params[n], moments[n]
                continue
            t = t + 1
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            new_params[n] = params[n] - lr * m_hat / (torch.sqrt(v_hat + 1e-16) + eps)
            new_moments[n] = (m, v, t)
        params, moments = new_params, new_moments
    return params


def train_unrolled_gan(G: nn.Module, D: nn.Module, sample_real: RealSampler, config: TrainConfig,
                       device: torch.device | str, unroll_steps: int, *, callbacks: Iterable[Callback] = (),
                       progress: bool = True) -> History:
    """Unrolled GAN (Metz et al. 2017): Algorithm 1 with the generator loss taken at the unrolled D.

    Per generator step: ``config.k`` ordinary Adam steps of D on -V; then G minimises the
    non-saturating loss -E_z[log D_{theta_D^K}(G(z))] where theta_D^K comes from
    :func:`unrolled_d_params` (K = ``unroll_steps``; K = 0 is the vanilla GAN). Returns a
    :class:`gan_utils.train.History`; callbacks get a :class:`gan_utils.train.TrainState` after each step.
    """
    if unroll_steps < 0:
        raise ValueError(f"unroll_steps must be >= 0, got {unroll_steps}")
    if config.loss != "nonsaturating":
        raise ValueError("train_unrolled_gan implements the non-saturating generator loss only")
    device = torch.device(device)
    G.to(device).train()
    D.to(device).train()
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=config.betas, foreach=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas, foreach=True)
    rng = torch.Generator(device=device).manual_seed(config.seed)
    state = TrainState(G, D, opt_g, opt_d, config, History(), rng, device)
    m = config.batch_size
    for _ in tqdm(range(config.steps), desc=f"unrolled GAN (K={unroll_steps})", disable=not progress):
        for _ in range(config.k):
            real = sample_real(m, rng)
            with torch.no_grad():
                fake = G(sample_noise(m, config.z_shape, device, rng))
            real_out, fake_out = D(real), D(fake)
            loss_d = losses.d_loss(real_out, fake_out)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        params = unrolled_d_params(D, opt_d, G, sample_real, config, unroll_steps, rng, device)
        fake_out_g = functional_call(D, {**params, **dict(D.named_buffers())},
                                     (G(sample_noise(m, config.z_shape, device, rng)),))
        loss_g = losses.g_loss_nonsaturating(fake_out_g)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        D.zero_grad(set_to_none=True)  # D's leaves were detached; nothing should have reached them
        opt_g.step()
        state.step += 1
        d_val, g_val = float(loss_d.detach()), float(loss_g.detach())
        if not (math.isfinite(d_val) and math.isfinite(g_val)):
            raise FloatingPointError(f"loss became non-finite at generator step {state.step}")
        state.history.append(step=state.step, d_loss=d_val, g_loss=g_val,
                             d_real=float(torch.sigmoid(real_out.detach()).mean()),
                             d_fake=float(torch.sigmoid(fake_out.detach()).mean()),
                             grad_norm_d=0.0, grad_norm_g=0.0)
        for callback in callbacks:
            callback(state)
    return state.history
