"""The DCGAN of Radford, Metz & Chintala (2016), book chapter 7: generator, discriminator, initialisation.

Both networks are built from one frozen :class:`DCGANConfig` (stored in every checkpoint) and are
registered with :func:`gan_utils.models.register_model`, so importing this module lets
:func:`gan_utils.checkpoints.load_checkpoint` rebuild them. The discriminator returns logits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from gan_utils.models import register_model

DCGAN_SIZES: dict[int, tuple[int, int]] = {28: (7, 2), 32: (4, 3), 64: (4, 4)}  # S -> (start size s0, stages)
RESAMPLING = ("strided", "pool_upsample")
POOLS = ("max", "avg")
D_ACTIVATIONS = ("leaky_relu", "relu")


@dataclass(frozen=True)
class DCGANConfig:
    """A DCGAN pair for S x S images (book chapter 7, section "The architecture").

    The generator starts from a ``s0 x s0`` map (s0 = 7 for S = 28, else 4) and doubles the size in
    ``stages`` steps; channels halve at each doubling, so the first map has ngf * 2**(stages-1)
    channels (for S = 64: ngf*8 at 4x4, the paper's Figure 1 with ngf = 128). The discriminator mirrors it.

    The default follows every guideline of the paper; the switches remove one guideline each, for the
    chapter's ablation:

    * ``resampling="pool_upsample"``: D resizes by 3x3 stride-1 conv + 2x2 ``pool`` ("max"/"avg"),
      G by nearest-neighbour 2x upsampling + 3x3 stride-1 conv, instead of learned strided convs.
    * ``batchnorm=False``: no BatchNorm anywhere (the convs get biases instead).
    * ``d_activation="relu"``: ReLU instead of LeakyReLU(0.2) in D.

    Two depth knobs go beyond the paper (default 0, the paper's depth): ``g_extra_layers`` /
    ``d_extra_layers`` add that many 3x3 stride-1 conv + BN + ReLU (G) / LeakyReLU (D) blocks at the
    coarsest resolution s0 x s0, right after G's projection and right before D's logit. At S = 28 the
    paper's layout leaves G with only two hidden layers, and each 7x7 feature under D's logit sees
    10 x 10 pixels, about a third of the image side; one extra block in each is what the shipped
    ``dcgan-mnist`` generator uses (like the ``n_extra_layers`` option of Arjovsky et al.'s WGAN code, but
    at the coarse end, where it is cheap).
    """

    image_size: int = 28
    nz: int = 100
    ngf: int = 64
    ndf: int = 64
    nc: int = 1
    resampling: str = "strided"
    pool: str = "max"
    batchnorm: bool = True
    d_activation: str = "leaky_relu"
    g_extra_layers: int = 0
    d_extra_layers: int = 0

    def __post_init__(self) -> None:
        if self.image_size not in DCGAN_SIZES:
            raise ValueError(f"image_size must be one of {sorted(DCGAN_SIZES)}, got {self.image_size}")
        if min(self.nz, self.ngf, self.ndf, self.nc) <= 0:
            raise ValueError(f"nz, ngf, ndf and nc must be positive: {self}")
        if self.resampling not in RESAMPLING:
            raise ValueError(f"resampling {self.resampling!r} unknown; use one of {RESAMPLING}")
        if self.pool not in POOLS:
            raise ValueError(f"pool {self.pool!r} unknown; use one of {POOLS}")
        if self.d_activation not in D_ACTIVATIONS:
            raise ValueError(f"d_activation {self.d_activation!r} unknown; use one of {D_ACTIVATIONS}")
        if min(self.g_extra_layers, self.d_extra_layers) < 0:
            raise ValueError(f"g_extra_layers and d_extra_layers must be >= 0: {self}")

    @property
    def start_size(self) -> int:
        return DCGAN_SIZES[self.image_size][0]

    @property
    def stages(self) -> int:
        return DCGAN_SIZES[self.image_size][1]


def _norm(channels: int, on: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if on else nn.Identity()


def _up(c_in: int, c_out: int, cfg: DCGANConfig, bias: bool) -> list[nn.Module]:
    """Double the spatial size: (N, c_in, s, s) -> (N, c_out, 2s, 2s)."""
    if cfg.resampling == "strided":  # fractional-strided (transposed) conv, kernel 4, stride 2, pad 1
        return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)]
    return [nn.Upsample(scale_factor=2, mode="nearest"),  # (N, c_in, 2s, 2s), fixed resampling
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias)]  # (N, c_out, 2s, 2s)


def _down(c_in: int, c_out: int, cfg: DCGANConfig, bias: bool) -> list[nn.Module]:
    """Halve the spatial size: (N, c_in, s, s) -> (N, c_out, s/2, s/2)."""
    if cfg.resampling == "strided":  # strided conv, kernel 4, stride 2, pad 1
        return [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias)]
    pool = nn.MaxPool2d(2) if cfg.pool == "max" else nn.AvgPool2d(2)
    return [nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias),  # (N, c_out, s, s)
            pool]  # (N, c_out, s/2, s/2), fixed resampling


class DCGANGenerator(nn.Module):
    """G: z (N, nz) or (N, nz, 1, 1) -> images (N, nc, S, S) in [-1, 1].

    Shapes for S = 28 (s0 = 7, 2 stages), written for the defaults; other sizes add stages:
        z                                   # (N, nz, 1, 1)
        ConvT(nz, ngf*2, 7, 1, 0) BN ReLU   # (N, ngf*2, 7, 7)   project: no fully connected layer
        ConvT(ngf*2, ngf, 4, 2, 1) BN ReLU  # (N, ngf, 14, 14)
        ConvT(ngf, nc, 4, 2, 1) Tanh        # (N, nc, 28, 28)    no BN on the output layer
    """

    def __init__(self, config: DCGANConfig):
        super().__init__()
        self.config = cfg = config
        bn, s, n = cfg.batchnorm, cfg.start_size, cfg.stages
        ch = [cfg.ngf * 2 ** (n - 1 - i) for i in range(n)]  # channels at sizes s0, 2 s0, ..., S/2
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(cfg.nz, ch[0], s, 1, 0, bias=not bn),  # (N, ch[0], s0, s0)
            _norm(ch[0], bn), nn.ReLU(True),
        ]
        for _ in range(cfg.g_extra_layers):  # optional extra depth at s0 (not in the paper)
            layers += [nn.Conv2d(ch[0], ch[0], 3, 1, 1, bias=not bn),  # (N, ch[0], s0, s0)
                       _norm(ch[0], bn), nn.ReLU(True)]
        for c_in, c_out in zip(ch[:-1], ch[1:]):
            layers += _up(c_in, c_out, cfg, bias=not bn)  # (N, c_out, 2s, 2s)
            layers += [_norm(c_out, bn), nn.ReLU(True)]
        layers += _up(ch[-1], cfg.nc, cfg, bias=True)  # (N, nc, S, S): output layer, no BN
        layers.append(nn.Tanh())  # in [-1, 1], the scale of the data
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        nz = self.config.nz
        if z.dim() == 2 and z.shape[1] == nz:
            z = z[:, :, None, None]  # (N, nz) -> (N, nz, 1, 1)
        if z.dim() != 4 or z.shape[1:] != (nz, 1, 1):
            raise ValueError(f"expected noise of shape (N, {nz}) or (N, {nz}, 1, 1), got {tuple(z.shape)}")
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """D: images (N, nc, S, S) -> logits (N,); D(x) = sigmoid(logit) is never formed here.

    Shapes for S = 28 with the defaults:
        x                                   # (N, nc, 28, 28)
        Conv(nc, ndf, 4, 2, 1) LReLU        # (N, ndf, 14, 14)   no BN on the input layer
        Conv(ndf, ndf*2, 4, 2, 1) BN LReLU  # (N, ndf*2, 7, 7)
        Conv(ndf*2, 1, 7, 1, 0)             # (N, 1, 1, 1) -> (N,)  one logit
    The last conv covers the whole 7x7 map, so it equals a linear layer on the flattened features,
    which is how the paper describes D's output ("flattened and fed into a single sigmoid output").
    """

    def __init__(self, config: DCGANConfig):
        super().__init__()
        self.config = cfg = config
        bn, s, n = cfg.batchnorm, cfg.start_size, cfg.stages
        act = (lambda: nn.LeakyReLU(0.2, True)) if cfg.d_activation == "leaky_relu" else (lambda: nn.ReLU(True))
        ch = [cfg.ndf * 2 ** i for i in range(n)]  # channels at sizes S/2, S/4, ..., s0
        layers: list[nn.Module] = _down(cfg.nc, ch[0], cfg, bias=True) + [act()]  # (N, ndf, S/2, S/2)
        for c_in, c_out in zip(ch[:-1], ch[1:]):
            layers += _down(c_in, c_out, cfg, bias=not bn)  # (N, c_out, s/2, s/2)
            layers += [_norm(c_out, bn), act()]
        for _ in range(cfg.d_extra_layers):  # optional extra depth at s0 (not in the paper)
            layers += [nn.Conv2d(ch[-1], ch[-1], 3, 1, 1, bias=not bn),  # (N, ch[-1], s0, s0)
                       _norm(ch[-1], bn), act()]
        layers.append(nn.Conv2d(ch[-1], 1, s, 1, 0))  # (N, 1, 1, 1): the logit
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        want = (cfg.nc, cfg.image_size, cfg.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(f"expected images of shape (N, {', '.join(map(str, want))}), got {tuple(x.shape)}")
        return self.net(x).view(-1)  # (N,)


def dcgan_init_(module: nn.Module) -> nn.Module:
    """The paper's initialisation, in place: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02),
    all biases 0. Applied to every submodule; returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def layer_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """(layer name, output shape) for each layer of ``model.net`` fed with ``x``: the shape table."""
    rows = []
    with torch.no_grad():
        if isinstance(model, DCGANGenerator) and x.dim() == 2:
            x = x[:, :, None, None]
        for layer in cast(nn.Sequential, model.net):  # every model here keeps its layers in nn.Sequential `net`
            x = layer(x)
            rows.append((type(layer).__name__, tuple(x.shape)))
    return rows


register_model("DCGANGenerator", DCGANGenerator, DCGANConfig)
register_model("DCGANDiscriminator", DCGANDiscriminator, DCGANConfig)
