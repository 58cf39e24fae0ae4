"""Tests of gan_utils.dynamics.mode_coverage: the PacGAN protocol on samples with known scores."""
import math

import numpy as np
import pytest
import torch

from gan_utils.data import grid, ring, ring_means
from gan_utils.dynamics.mode_coverage import (
    BENCHMARKS,
    METHODS,
    PROTOCOL,
    PUBLISHED,
    BenchmarkJob,
    BenchmarkProtocol,
    ModeCoverage,
    balanced_floor,
    distinct_points,
    make_ensemble_pair,
    mean_se,
    packing_degree,
    protocol_table,
    results_table,
    train_benchmark,
    train_benchmarks,
)
from gan_utils.ensemble import member_state, train_ensemble


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


# PyTorch's default initialisation: with the protocol's N(0, 0.02^2) the gradients start tiny, and Adam, which
# divides by their root mean square, turns float32 rounding into visible differences in the Unrolled GAN's
# look-ahead (in float64 a member and its lone run agree to 1e-8 there too)
SMALL = BenchmarkProtocol(hidden_g=(8, 8), hidden_d=(8,), packs_per_batch=12, steps=6, seeds=3, n_eval=50, lr=1e-3,
                          init_std=None)


def test_ensemble_pair_shapes_and_packing():
    for m in METHODS:
        G, D = make_ensemble_pair(m, SMALL, [0, 1])
        assert G(torch.randn(2, 12, 2)).shape == (2, 12, 2)
        assert D(torch.randn(2, 12, 2)).shape == (2, 12 // packing_degree(m), 1)
        assert SMALL.batch_size(m) == 12 * packing_degree(m)  # packs per batch constant across PacGANm
    with pytest.raises(ValueError, match="unknown method"):
        packing_degree("PacGAN9")


def test_the_protocol_defaults_are_the_released_code():
    p = PROTOCOL
    assert (p.hidden_g, p.hidden_d, p.d_activation, p.maxout_pieces) == ((400,) * 4, (200,) * 3, "maxout", 5)
    assert (p.g_batchnorm, p.g_hidden_bias, p.init_std, p.lr, p.betas) == (True, False, 0.02, 1e-4, (0.8, 0.999))
    assert (p.packs_per_batch, p.steps, p.seeds, p.z_dim, p.n_eval) == (100, 400_000, 10, 2, 2500)
    G, D = make_ensemble_pair("PacGAN2", p, [0])
    assert sum(t.numel() for t in G.parameters()) == 2 * 400 + 3 * 400 * 400 + 4 * 2 * 400 + 400 * 2 + 2
    assert D(torch.randn(1, 400, 2)).shape == (1, 200, 1)


@pytest.mark.parametrize("method", METHODS)
def test_each_method_trains_a_member_like_the_same_seed_alone(method):
    """Seed 5 in an ensemble of three ends with the weights it reaches alone (float tolerance)."""
    many, alone = (train_benchmark(method, BENCHMARKS["ring"], SMALL, seeds, snapshot_steps=[0, SMALL.steps])
                   for seeds in ([2, 5, 9], [5]))
    assert len(many.scores) == 3 and len(alone.scores) == 1
    assert [s for s, _ in many.curve] == [0, SMALL.steps]
    for (_, x_many), (_, x_alone) in zip(many.snapshots, alone.snapshots):
        np.testing.assert_allclose(x_many[1], x_alone[0], rtol=1e-4, atol=1e-5)
    assert not np.allclose(many.snapshots[-1][1][1], many.snapshots[0][1][1])  # training moved the samples


def test_benchmark_steps_override_the_steps_of_a_named_benchmark():
    p = BenchmarkProtocol(steps=100, benchmark_steps=[("grid", 300)])
    assert p.for_benchmark("grid").steps == 300 and p.for_benchmark("ring").steps == 100
    assert p.for_benchmark("grid").benchmark_steps == () and p.for_benchmark("ring") != p
    assert BenchmarkProtocol(steps=100).for_benchmark("grid").steps == 100
    with pytest.raises(ValueError, match="benchmark_steps"):
        BenchmarkProtocol(benchmark_steps=(("grid", 0),))
    _, rows = protocol_table({"here": p})
    assert ["generator steps per benchmark", "the same on both", "grid 300"] in rows


def test_parallel_workers_give_the_runs_of_one_process():
    """Two spawned workers, costliest job first, return the same runs in the jobs' order as one process."""
    jobs = [BenchmarkJob("GAN", "ring", SMALL, (1, 2), (0, SMALL.steps)),
            BenchmarkJob("PacGAN2", "grid", SMALL, (3,)), BenchmarkJob("MBStd", "ring", SMALL, (4,))]
    here, pooled = train_benchmarks(jobs, workers=1), train_benchmarks(jobs, workers=2)
    for a, b in zip(here, pooled):
        np.testing.assert_array_equal(np.stack([s.counts for s in a.scores]), np.stack([s.counts for s in b.scores]))
        for (sa, xa), (sb, xb) in zip(a.snapshots, b.snapshots):
            assert sa == sb
            np.testing.assert_allclose(xa, xb, rtol=1e-5, atol=1e-6)
    assert [len(r.scores) for r in pooled] == [2, 1, 1]
    with pytest.raises(ValueError, match="unknown benchmark"):
        train_benchmarks([BenchmarkJob("GAN", "spiral", SMALL, (0,))])
    with pytest.raises(ValueError, match="workers"):
        train_benchmarks(jobs, workers=0)


def test_member_weights_after_training_match_alone():
    cfg = SMALL.train_config("MBStd")
    nets = []
    for seeds in ([2, 5, 9], [5]):
        G, D = make_ensemble_pair("MBStd", SMALL, seeds)
        train_ensemble(G, D, BENCHMARKS["grid"].sampler(), cfg, "cpu", progress=False)
        nets.append((G, D))
    for a, b in zip(nets[0], nets[1]):
        sa, sb = member_state(a, 1), member_state(b, 0)
        for k in sa:
            torch.testing.assert_close(sa[k], sb[k], rtol=1e-4, atol=1e-5, msg=k)


def test_balanced_floor_matches_the_occupancy_formula():
    modes, kl = balanced_floor(42, 25, trials=4000)
    assert abs(modes - 25 * (1 - (1 - 1 / 25) ** 42)) < 0.1
    assert 0.2 < kl < 0.45  # about (K - 1) / (2 n) = 0.29, larger for so few samples
    modes, kl = balanced_floor(2500, 8)
    assert modes == 8 and kl < 0.005
    assert balanced_floor(0, 8) == (0.0, float("inf"))
