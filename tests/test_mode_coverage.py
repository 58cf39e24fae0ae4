"""Tests of gan_utils.dynamics.mode_coverage: the PacGAN protocol on samples with known scores."""
import math

import numpy as np
import torch

from gan_utils.data import grid, ring, ring_means
from gan_utils.dynamics.mode_coverage import (
    BENCHMARKS,
    METHODS,
    PUBLISHED,
    ModeCoverage,
    distinct_points,
    make_pair,
    mean_se,
    results_table,
)


def test_ring_has_eight_distinct_modes_and_linspace_bug_has_seven():
    assert distinct_points(BENCHMARKS["ring"].means) == 8
    angles = torch.linspace(0, 2 * math.pi, 8)
    buggy = torch.stack([torch.cos(angles), torch.sin(angles)], 1)
    assert distinct_points(buggy, 1e-4) == 7
    assert torch.allclose(BENCHMARKS["ring"].means.norm(dim=1), torch.ones(8), atol=1e-6)
    assert torch.allclose(ring_means(8), BENCHMARKS["ring"].means)


def test_grid_means_and_stds_match_the_protocol():
    g = BENCHMARKS["grid"]
    assert g.modes == 25 and g.std == 0.05 and BENCHMARKS["ring"].std == 0.01
    assert sorted(set(g.means[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_true_samples_score_as_expected():
    rng = torch.Generator().manual_seed(0)
    for b in BENCHMARKS.values():
        s = b.score(b.sample(20000, rng).samples)
        assert s.modes_captured == b.modes
        assert abs(s.high_quality_fraction - (1 - math.exp(-4.5))) < 0.005  # P(chi2_2 < 9)
        assert s.reverse_kl < 0.01


def test_benchmarks_sample_like_the_core_ring_and_grid():
    for b, core in ((BENCHMARKS["ring"], ring), (BENCHMARKS["grid"], grid)):
        mine = b.sample(500, torch.Generator().manual_seed(3))
        theirs = core(500, generator=torch.Generator().manual_seed(3))
        assert torch.equal(mine.samples, theirs.samples) and torch.equal(mine.labels, theirs.labels)
        assert torch.equal(b.sampler()(500, torch.Generator().manual_seed(3)), theirs.samples)


def test_known_histogram_and_outliers():
    b = BENCHMARKS["ring"]
    # 300 samples exactly on mode 0, 100 on mode 1, 100 far away (not high quality)
    x = torch.cat([b.means[0].repeat(300, 1), b.means[1].repeat(100, 1), torch.full((100, 2), 5.0)])
    s = b.score(x)
    q = np.array([0.75, 0.25])
    assert s.modes_captured == 2 and abs(s.high_quality_fraction - 0.8) < 1e-12
    assert abs(s.reverse_kl - float(np.sum(q * np.log(q * 8)))) < 1e-12
    # a sample at 2.9 std counts, one at 3.1 std does not
    near = b.means[2] + torch.tensor([[2.9 * b.std, 0.0]])
    far = b.means[3] + torch.tensor([[3.1 * b.std, 0.0]])
    assert b.score(torch.cat([near, far])).modes_captured == 1


def test_mean_se_and_table():
    assert mean_se([1.0, 3.0]) == (2.0, 1.0)
    assert mean_se([2.0]) == (2.0, 0.0)
    assert mean_se([1.0, float("inf")])[0] == float("inf")
    run = ModeCoverage(3, 0.5, 0.2, np.zeros(8))
    text = results_table({"GAN": [run, run]}, PUBLISHED["ring"], title="t")
    assert "GAN (published)" in text and "3.0 ± 0.0" in text


def test_make_pair_shapes():
    for m in METHODS:
        G, D = make_pair(m, 2, (8,), (8,))
        assert G(torch.randn(12, 2)).shape == (12, 2)
        out = D(torch.randn(12, 2))
        assert out.shape[0] in (12, 6, 4, 3) and out.shape[1] == 1
