"""Interpolation, norm statistics and concept arithmetic against closed forms (the nearest-neighbour
distances of chapter 8 are tested in test_support_size.py, where they live)."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from gan_utils.classifier import MNISTClassifier
from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from gan_utils.images.latent import (
    chi_stats,
    concept_arithmetic,
    interpolate,
    jitter,
    lerp,
    lerp_norm_scale,
    norms,
    path_profiles,
    slerp,
)
from gan_utils.models import generate


def codes(n, d=16, seed=0, shape=()):
    return torch.randn(n, d, *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_lerp_endpoints_and_shape():
    z0, z1 = codes(5, shape=(1, 1)), codes(5, seed=1, shape=(1, 1))
    path = lerp(z0, z1, [0.0, 0.25, 1.0])
    assert path.shape == (3, 5, 16, 1, 1)
    assert torch.allclose(path[0], z0) and torch.allclose(path[2], z1)
    assert torch.allclose(path[1], 0.75 * z0 + 0.25 * z1)


def test_slerp_keeps_the_norm_on_a_sphere_and_follows_the_angle():
    z0, z1 = codes(50), codes(50, seed=1)
    z1 = z1 * (z0.norm(dim=1, keepdim=True) / z1.norm(dim=1, keepdim=True))  # equal norms
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    path = slerp(z0, z1, t)
    assert torch.allclose(path[0], z0) and torch.allclose(path[-1], z1)
    assert np.allclose(norms(path, 2), norms(z0)[None], rtol=1e-10)
    # the angle to z0 grows linearly in t: angle(z0, z_t) = t * Omega
    cos = lambda a, b: (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))  # noqa: E731
    omega = torch.arccos(cos(z0, z1))
    for k, tk in enumerate(t):
        assert torch.allclose(torch.arccos(cos(z0, path[k]).clamp(-1, 1)), tk * omega, atol=1e-6)


def test_slerp_of_parallel_codes_is_lerp():
    z0 = codes(3)
    path = slerp(z0, 2 * z0, [0.0, 0.5, 1.0])
    assert torch.isfinite(path).all() and torch.allclose(path, lerp(z0, 2 * z0, [0.0, 0.5, 1.0]))
    with pytest.raises(ValueError):
        interpolate(z0, z0, [0.5], method="cubic")
    with pytest.raises(ValueError):
        lerp(z0, codes(3, d=8), [0.5])


def test_chi_stats_against_quadrature_and_samples():
    for d in (1, 2, 100):
        mean, sd = chi_stats(d)
        m_quad = integrate.quad(lambda r: r * stats.chi.pdf(r, d), 0, np.inf)[0]
        assert mean == pytest.approx(m_quad, rel=1e-8)
        assert mean == pytest.approx(math.sqrt(2) * math.exp(math.lgamma((d + 1) / 2) - math.lgamma(d / 2)), rel=1e-10)
        assert mean**2 + sd**2 == pytest.approx(d, rel=1e-10)  # E|z|^2 = d
    z = torch.randn(20000, 100, generator=torch.Generator().manual_seed(0))
    mean, sd = chi_stats(100)
    n = norms(z)
    assert abs(n.mean() - mean) < 4 * sd / math.sqrt(len(n))


def test_lerp_midpoint_norm_scale():
    assert lerp_norm_scale(0.5) == pytest.approx(1 / math.sqrt(2))
    assert np.allclose(lerp_norm_scale(np.array([0.0, 1.0])), 1.0)
    z0 = torch.randn(20000, 100, generator=torch.Generator().manual_seed(1))
    z1 = torch.randn(20000, 100, generator=torch.Generator().manual_seed(2))
    mid = norms(lerp(z0, z1, [0.5])[0])
    mean, sd = chi_stats(100)
    assert abs(mid.mean() - mean / math.sqrt(2)) < 4 * sd / math.sqrt(2) / math.sqrt(len(mid))


def test_concept_arithmetic_and_jitter():
    a, b, c = torch.ones(3, 4), 2 * torch.ones(3, 4), 5 * torch.ones(3, 4)
    y = concept_arithmetic([a, b, c], [1, -1, 1])
    assert torch.equal(y, torch.full((4,), 4.0))
    with pytest.raises(ValueError):
        concept_arithmetic([a, b], [1, 2])
    out = jitter(y, n=8, scale=0.25, generator=torch.Generator().manual_seed(0))
    assert out.shape == (9, 4) and torch.equal(out[0], y)
    assert (out[1:] - y).abs().max() <= 0.25 and (out[1:] - y).abs().max() > 0.1


def test_generate_keeps_leading_axes_and_path_profiles_shapes():
    torch.manual_seed(0)
    cfg = DCGANConfig(ngf=8, ndf=8, nz=10)
    G, D, clf = DCGANGenerator(cfg).eval(), DCGANDiscriminator(cfg).eval(), MNISTClassifier().eval()
    z0, z1 = torch.randn(4, 10, 1, 1), torch.randn(4, 10, 1, 1)
    path = lerp(z0, z1, [0.0, 1.0])  # (2, 4, 10, 1, 1)
    images = generate(G, path, batch_size=3)
    assert images.shape == (2, 4, 1, 28, 28)
    with torch.no_grad():
        # the leading axes are the codes' own, in order (batches of 3 vs 4: equal up to rounding)
        torch.testing.assert_close(images[1], G(z1), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(generate(G, z0[:, :, 0, 0]), generate(G, z0), rtol=1e-5, atol=1e-6)
    assert generate(G, path[:, :, :, 0, 0], batch_size=None).shape == (2, 4, 1, 28, 28)
    with pytest.raises(ValueError):
        generate(G, torch.randn(4, 9))  # not nz = 10
    with pytest.raises(ValueError):
        generate(G, torch.randn(0, 10))
    prof = path_profiles(G, D, clf, z0, z1, [0.0, 0.5, 1.0], method="lerp")
    assert prof["realness"].shape == (3, 4) and np.all((prof["realness"] > 0) & (prof["realness"] < 1))
    assert np.allclose(prof["norm"][0], norms(z0) / math.sqrt(10))
    assert np.all(prof["confidence"] >= 0.1 - 1e-6)
