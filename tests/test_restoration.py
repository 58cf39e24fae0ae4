"""Tests of gan_utils.images.restoration: degradations, baselines against scipy/torch references, and that
GAN restoration's loss only sees observed pixels."""
import pytest
import torch
import torch.nn.functional as F

from gan_utils.dcgan import DCGANConfig, DCGANGenerator
from gan_utils.images.inversion import InversionConfig
from gan_utils.images.restoration import (
    Colorization,
    Denoising,
    Inpainting,
    SuperResolution,
    correct_up_to_channel_order,
    gan_restore,
    half_mask,
    map_weight,
)


def imgs(n=2, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_half_mask():
    m = half_mask("bottom")
    assert m.shape == (1, 1, 28, 28) and m.sum() == 14 * 28 and m[0, 0, :14].all() and not m[0, 0, 14:].any()
    assert half_mask("left")[0, 0, :, :14].sum() == 0
    with pytest.raises(ValueError):
        half_mask("middle")


def test_inpainting_baseline_keeps_observed_fills_missing():
    x = imgs()
    fill = torch.full((1, 1, 28, 28), -0.7)
    task = Inpainting(half_mask("bottom"), fill)
    y = task.degrade(x)
    b = task.baseline(y)
    assert torch.equal(b[..., :14, :], x[..., :14, :])
    assert torch.all(b[..., 14:, :] == -0.7)


def test_denoising_baseline_is_scipy_median_and_noise_scale():
    x = imgs(4)
    task = Denoising(sigma=0.5, size=3)
    y = task.degrade(x, torch.Generator().manual_seed(1))
    assert abs(float((y - x).std()) - 0.5) < 0.03
    b = task.baseline(y)
    # reference: a hand-rolled 3x3 median with reflected borders for one interior pixel
    patch = y[0, 0, 9:12, 4:7].flatten()
    assert torch.isclose(b[0, 0, 10, 5], patch.median().clamp(-1, 1))
    assert b.shape == y.shape and b.abs().max() <= 1


def test_super_resolution_degrade_and_bicubic():
    x = imgs()
    task = SuperResolution(4)
    y = task.degrade(x)
    assert y.shape == (2, 1, 7, 7)
    assert torch.isclose(y[0, 0, 0, 0], x[0, 0, :4, :4].mean())
    up = task.baseline(y)
    assert up.shape == x.shape
    ref = F.interpolate(y, size=(28, 28), mode="bicubic", align_corners=False).clamp(-1, 1)
    assert torch.equal(up, ref)
    # a constant image is restored exactly
    c = torch.full((1, 1, 7, 7), 0.3)
    assert torch.allclose(task.baseline(c), torch.full((1, 1, 28, 28), 0.3), atol=1e-6)
    with pytest.raises(ValueError):
        SuperResolution(5)


def test_gan_inpainting_ignores_missing_pixels():
    torch.manual_seed(0)
    G = DCGANGenerator(DCGANConfig(nz=8, ngf=4, ndf=4)).eval().requires_grad_(False)
    x = imgs(2)
    task = Inpainting(half_mask("bottom"), torch.zeros(1, 1, 28, 28))
    y = task.degrade(x)
    y_bad = y.clone()
    y_bad[..., 14:, :] = 5.0  # garbage where nothing is observed
    cfg = InversionConfig(steps=15, lr=0.05)
    z0 = torch.randn(2, 8, generator=torch.Generator().manual_seed(3))
    a = gan_restore(G, task, y, cfg, z_init=z0)
    b = gan_restore(G, task, y_bad, cfg, z_init=z0)
    assert torch.allclose(a.z, b.z) and torch.allclose(a.loss, b.loss)


def test_colorization_and_channel_order():
    x = torch.rand(2, 3, 28, 28) * 2 - 1
    task = Colorization()
    y = task.degrade(x)
    assert y.shape == (2, 1, 28, 28) and torch.allclose(y, x.mean(1, keepdim=True))
    assert torch.equal(task.baseline(y)[:, 2], y[:, 0])
    with pytest.raises(ValueError):
        task.degrade(x[:, :1])
    labels = torch.tensor([[1, 2, 3], [4, 5, 6]])
    pred = torch.tensor([[3, 1, 2], [4, 9, 9]])  # the first image: the right digits in another order
    ok = correct_up_to_channel_order(pred, labels)
    assert ok.tolist() == [[True, True, True], [True, False, False]]
    assert map_weight(0.25, 100, 784) == pytest.approx(0.25 * 100 / 784)
    with pytest.raises(ValueError):
        map_weight(-1.0, 100, 784)
