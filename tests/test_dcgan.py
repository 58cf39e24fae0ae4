"""Tests for the DCGAN of gan_utils.models (book chapter 7): shapes for 28/32/64 and every ablation
switch, the output range, closed-form parameter counts, the initialisation, rebuilding from a checkpoint."""
import dataclasses
import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from gan_utils import pretrained
from gan_utils.checkpoints import load_checkpoint, save_checkpoint
from gan_utils.data import DataNotFoundError, load_mnist
from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator, dcgan_init_, layer_shapes
from gan_utils.digit_metrics import evaluate_generator_samples
from gan_utils.models import count_parameters, generate

SWITCHES = [
    {},
    {"resampling": "pool_upsample"},
    {"resampling": "pool_upsample", "pool": "avg"},
    {"batchnorm": False},
    {"d_activation": "relu"},
]


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("switch", SWITCHES, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()) or "paper")
def test_shapes_for_every_size_and_switch(size, switch):
    torch.manual_seed(0)
    cfg = DCGANConfig(image_size=size, nz=8, ngf=4, ndf=4, **switch)
    G, D = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 1, size, size)
    assert G(torch.randn(3, 8, 1, 1)).shape == (3, 1, size, size)  # both noise layouts
    assert D(x).shape == (3,)


@pytest.mark.parametrize("size", [28, 32, 64])
def test_shape_table_doubles_in_g_and_halves_in_d(size):
    cfg = DCGANConfig(image_size=size, nz=8, ngf=4, ndf=4)
    g_rows = [s for name, s in layer_shapes(DCGANGenerator(cfg), torch.randn(2, 8)) if "Conv" in name]
    d_rows = [s for name, s in layer_shapes(DCGANDiscriminator(cfg), torch.zeros(2, 1, size, size)) if "Conv" in name]
    s0 = 7 if size == 28 else 4
    assert [r[-1] for r in g_rows] == [s0 * 2**i for i in range(len(g_rows))] and g_rows[-1][-1] == size
    assert [r[-1] for r in d_rows] == [size // 2**(i + 1) for i in range(len(d_rows) - 1)] + [1]
    assert [r[1] for r in g_rows[:-1]] == [4 * 2**i for i in reversed(range(len(g_rows) - 1))]


def test_generator_output_in_tanh_range_even_for_huge_noise():
    torch.manual_seed(0)
    G = DCGANGenerator(DCGANConfig(nz=8, ngf=4))
    x = G(1e3 * torch.randn(16, 8))
    assert x.min() >= -1 and x.max() <= 1
    assert isinstance(G.net[-1], nn.Tanh)


def test_discriminator_returns_logits_not_probabilities():
    D = DCGANDiscriminator(DCGANConfig(ndf=4))
    with torch.no_grad():
        D.net[-1].bias.fill_(7.0)
        D.net[-1].weight.zero_()
    assert torch.allclose(D(torch.zeros(2, 1, 28, 28)), torch.full((2,), 7.0))


def test_parameter_counts_closed_form():
    # 28x28, nz=100, ngf=ndf=64: weights k*k*c_in*c_out, BN 2 per channel, biases only where no BN follows
    g = 100 * 128 * 7 * 7 + 2 * 128 + 128 * 64 * 16 + 2 * 64 + 64 * 1 * 16 + 1
    d = (1 * 64 * 16 + 64) + 64 * 128 * 16 + 2 * 128 + (128 * 1 * 7 * 7 + 1)
    cfg = DCGANConfig()
    assert count_parameters(DCGANGenerator(cfg)) == g == 759_681
    assert count_parameters(DCGANDiscriminator(cfg)) == d == 138_689
    # without BatchNorm each conv gets a bias instead of BN's two parameters per channel
    nobn = dataclasses.replace(cfg, batchnorm=False)
    assert count_parameters(DCGANGenerator(nobn)) == g - 128 - 64
    assert count_parameters(DCGANDiscriminator(nobn)) == d - 128


def test_batchnorm_placement_follows_the_paper():
    cfg = DCGANConfig(ngf=4, ndf=4, image_size=64)
    G, D = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    g_layers, d_layers = list(G.net), list(D.net)
    # G: a BN after every conv except the output conv; D: none after the input conv or the logit conv
    g_convs = [i for i, m in enumerate(g_layers) if isinstance(m, nn.ConvTranspose2d)]
    assert all(isinstance(g_layers[i + 1], nn.BatchNorm2d) for i in g_convs[:-1])
    assert isinstance(g_layers[g_convs[-1] + 1], nn.Tanh)
    d_convs = [i for i, m in enumerate(d_layers) if isinstance(m, nn.Conv2d)]
    assert isinstance(d_layers[d_convs[0] + 1], nn.LeakyReLU)
    assert all(isinstance(d_layers[i + 1], nn.BatchNorm2d) for i in d_convs[1:-1])
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d_layers) == len(d_convs) - 2
    assert all(m.negative_slope == 0.2 for m in d_layers if isinstance(m, nn.LeakyReLU))
    assert not any(isinstance(m, nn.Linear) for m in [*g_layers, *d_layers])  # no fully connected layer


def test_ablation_switches_change_the_layers():
    pool = DCGANDiscriminator(DCGANConfig(ndf=4, resampling="pool_upsample"))
    assert any(isinstance(m, nn.MaxPool2d) for m in pool.modules())
    avg = DCGANDiscriminator(DCGANConfig(ndf=4, resampling="pool_upsample", pool="avg"))
    assert any(isinstance(m, nn.AvgPool2d) for m in avg.modules())
    up = DCGANGenerator(DCGANConfig(ngf=4, resampling="pool_upsample"))
    assert sum(isinstance(m, nn.Upsample) for m in up.modules()) == 2
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in up.modules()) == 1  # only the projection
    assert not any(isinstance(m, nn.BatchNorm2d) for m in DCGANGenerator(DCGANConfig(ngf=4, batchnorm=False)).modules())
    relu = DCGANDiscriminator(DCGANConfig(ndf=4, d_activation="relu"))
    assert not any(isinstance(m, nn.LeakyReLU) for m in relu.modules())


@pytest.mark.parametrize("size", [28, 64])
def test_extra_layers_add_stride_one_blocks_at_the_coarsest_size(size):
    torch.manual_seed(0)
    base = DCGANConfig(image_size=size, nz=8, ngf=4, ndf=4)
    deep = dataclasses.replace(base, g_extra_layers=2, d_extra_layers=1)
    s0, c_g, c_d = base.start_size, 4 * 2 ** (base.stages - 1), 4 * 2 ** (base.stages - 1)
    G, D = DCGANGenerator(deep), DCGANDiscriminator(deep)
    assert G(torch.randn(3, 8)).shape == (3, 1, size, size) and D(torch.zeros(3, 1, size, size)).shape == (3,)
    # each block: 3x3 conv c -> c without bias (BN follows) + BN's 2 parameters per channel
    def block(c):
        return 9 * c * c + 2 * c
    assert count_parameters(G) == count_parameters(DCGANGenerator(base)) + 2 * block(c_g)
    assert count_parameters(D) == count_parameters(DCGANDiscriminator(base)) + block(c_d)
    g_rows = layer_shapes(G, torch.randn(2, 8))
    extra = [shape for name, shape in g_rows if name.startswith("Conv2d")]  # the stride-1 blocks
    assert extra == [(2, c_g, s0, s0)] * 2
    d_rows = layer_shapes(D, torch.zeros(2, 1, size, size))
    assert [shape for name, shape in d_rows if name.startswith("Conv2d")][-2] == (2, c_d, s0, s0)


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G = DCGANGenerator(DCGANConfig())
    w = torch.cat([m.weight.detach().flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    bn = torch.cat([m.weight.detach().flatten() for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(float(w.mean())) < 1e-3 and abs(float(w.std()) - 0.02) < 5e-4  # 760 000 draws
    assert abs(float(bn.mean()) - 1) < 5e-3 and abs(float(bn.std()) - 0.02) < 3e-3
    lin = nn.Conv2d(3, 3, 3)
    nn.init.constant_(lin.bias, 1.0)
    dcgan_init_(lin)
    assert torch.all(lin.bias == 0)


@pytest.mark.parametrize("bad", [dict(image_size=30), dict(ngf=0), dict(resampling="bilinear"),
                                 dict(pool="min"), dict(d_activation="tanh"), dict(g_extra_layers=-1),
                                 dict(d_extra_layers=-1)])
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        DCGANConfig(**bad)


def test_bad_input_shapes_raise():
    cfg = DCGANConfig(nz=8, ngf=4, ndf=4)
    with pytest.raises(ValueError, match="noise"):
        DCGANGenerator(cfg)(torch.randn(2, 9))
    with pytest.raises(ValueError, match="images"):
        DCGANDiscriminator(cfg)(torch.randn(2, 1, 32, 32))


def test_rebuilds_from_checkpoint(tmp_path):
    torch.manual_seed(0)
    cfg = DCGANConfig(nz=8, ngf=4, ndf=4, batchnorm=False)
    G, D = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    save_checkpoint(tmp_path / "g", models={"G": G, "D": D})
    ckpt = load_checkpoint(tmp_path / "g")
    G2, D2 = ckpt.models["G"], ckpt.models["D"]
    assert isinstance(G2, DCGANGenerator) and G2.config == cfg
    z = torch.randn(2, 8)
    assert torch.equal(G2(z), G(z)) and torch.equal(D2(G(z)), D(G(z)))


def _shipped_entry():
    if "dcgan-mnist" not in pretrained.REGISTRY:
        pytest.skip("no shipped DCGAN in the registry")
    return pretrained


def test_shipped_generator_loads_and_samples_in_range():
    pretrained = _shipped_entry()
    G, D = pretrained.load("dcgan-mnist")
    assert isinstance(G, DCGANGenerator) and isinstance(D, DCGANDiscriminator)
    assert not G.training and G.config.image_size == 28
    with torch.no_grad():
        x = G(torch.randn(8, G.config.nz, generator=torch.Generator().manual_seed(0)))
        logits = D(x)
    assert x.shape == (8, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert logits.shape == (8,) and torch.isfinite(logits).all()


def test_shipped_file_matches_the_script_defaults():
    """The committed command (the script with no arguments) is the one recorded in the shipped file."""
    pretrained = _shipped_entry()
    script_path = Path(__file__).resolve().parents[1] / "scripts" / "train_dcgan.py"
    spec = importlib.util.spec_from_file_location("train_dcgan", script_path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    defaults = {k: v for k, v in vars(script.parse_args([])).items() if k not in ("out", "checkpoint")}
    info = pretrained.info("dcgan-mnist")
    assert info["extra"]["args"] == defaults
    assert info["config"]["steps"] == defaults["steps"] and info["config"]["batch_size"] == defaults["batch_size"]
    G = pretrained.load("dcgan-mnist").G
    assert (G.config.ngf, G.config.ndf, G.config.nz) == (defaults["ngf"], defaults["ndf"], defaults["nz"])
    size = (pretrained.ASSETS / "dcgan-mnist.safetensors").stat().st_size
    assert size <= 5 * 2**20, size


@pytest.mark.slow
def test_shipped_generator_meets_the_chapter_targets():
    """Issue targets for the shipped G, on the protocol of chapter 7, section 7.5: 10 000 samples
    (noise seed 1234, eval mode) scored by the shipped classifier against the 10 000 test digits.
    Class KL to uniform <= 0.05 nats; mean confidence within 5% of the real digits' (>= 0.95 x real)."""
    pretrained = _shipped_entry()
    try:
        mnist_test = load_mnist(train=False)
    except DataNotFoundError as exc:
        pytest.skip(str(exc))
    G = pretrained.load("dcgan-mnist").G
    classifier = pretrained.load("mnist-classifier")
    z = torch.randn(10_000, G.config.nz, 1, 1, generator=torch.Generator().manual_seed(1234))
    fake = evaluate_generator_samples(generate(G, z), classifier)
    real = evaluate_generator_samples(mnist_test.images, classifier)
    assert fake.class_kl <= 0.05, fake.class_kl
    assert fake.confidence >= 0.95 * real.confidence, (fake.confidence, real.confidence)
