"""GAN inversion by an encoder: one forward pass per image instead of an optimisation (book chapter 9).

A small CNN E (:class:`Encoder`) is trained by regression on pairs (G(z), z) with z ~ p_z = N(0, I)
(:func:`train_encoder`), minimising the mean of ||E(G(z)) - z||^2 / nz (eq-ch09-encoder); it never sees a
real image. :func:`encode` then maps images to codes in one pass. **Hybrid** inversion uses E(x) as the
initial code of the optimisation (``z_init`` of :func:`gan_utils.images.inversion.invert`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from gan_utils.dcgan import DCGANGenerator


class Encoder(nn.Module):
    """E: images (N, 1, 28, 28) in [-1, 1] -> codes (N, nz).

        Conv(1, c, 4, 2, 1) LReLU          # (N, c, 14, 14)
        Conv(c, 2c, 4, 2, 1) BN LReLU      # (N, 2c, 7, 7)
        Flatten, Linear(2c*49, 256) LReLU, Linear(256, nz)
    """

    def __init__(self, nz: int = 100, width: int = 32):
        super().__init__()
        if nz < 1 or width < 1:
            raise ValueError(f"nz and width must be positive, got {nz}, {width}")
        self.nz = nz
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 49, 256), nn.LeakyReLU(0.2), nn.Linear(256, nz),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"expected images of shape (N, 1, 28, 28), got {tuple(x.shape)}")
        return self.net(x)



@dataclass(frozen=True)
class EncoderTrainConfig:
    steps: int = 1000
    batch_size: int = 128
    lr: float = 1e-3
    width: int = 32



def train_encoder(
    G: DCGANGenerator,
    config: EncoderTrainConfig,
    device: torch.device | str,
    generator: torch.Generator | None = None,
    callbacks: Sequence[Callable[[int, dict], None]] = (),
    progress: bool = True,
) -> tuple[Encoder, dict[str, list[float]]]:
    """Train E on fresh pairs (G(z), z), z ~ N(0, I), by minimising the mean of ||E(G(z)) - z||^2 / nz
    (eq-ch09-encoder) with Adam and a cosine-decayed learning rate. Returns (E in eval mode, history
    with key "loss"); each callback gets (step, {"loss": value}).

    A loop of its own, not :func:`gan_utils.step.gan_step` or :mod:`gan_utils.fixed_opponent`: it minimises
    a supervised regression loss (E's output against the known z), not a two-player game."""
    if config.steps < 1 or config.batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive: {config}")
    nz = G.config.nz
    E = Encoder(nz, config.width).to(device)
    opt = torch.optim.Adam(E.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.steps, eta_min=config.lr * 0.01)
    gen_dev = generator.device if generator is not None else torch.device("cpu")
    history: dict[str, list[float]] = {"loss": []}
    steps = range(config.steps)
    if progress:
        steps = tqdm(steps, desc="encoder", leave=False)
    E.train()
    for step in steps:
        z = torch.randn((config.batch_size, nz), generator=generator, device=gen_dev).to(device)
        with torch.no_grad():
            x = G(z)
        loss = ((E(x) - z) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        history["loss"].append(float(loss.detach()))
        for cb in callbacks:
            cb(step, {"loss": history["loss"][-1]})
    return E.eval(), history



@torch.no_grad()
def encode(E: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """E(x) in eval mode, in batches: (N, nz)."""
    E.eval()
    return torch.cat([E(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
