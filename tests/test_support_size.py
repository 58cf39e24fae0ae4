"""Tests of the birthday-paradox support estimate against the exact uniform-collision formula."""
import math

import numpy as np
import pytest
import torch

from gan_utils.dynamics.support_size import (
    birthday_test,
    calibrate_threshold,
    closest_pair,
    nearest_neighbour_distances,
    uniform_collision_probability,
)


def test_closest_pair_and_nn_distances():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    d, i, j = closest_pair(x)
    assert d == 1.0 and (i, j) == (0, 2)
    dist, idx = nearest_neighbour_distances(x)
    np.testing.assert_allclose(dist, [1.0, math.sqrt(18), 1.0], rtol=1e-15)
    assert np.array_equal(idx, [2, 2, 0])


def _brute_force(q, ref):
    """Distances from the differences, in float64 (no matrix product anywhere)."""
    diff = q.reshape(len(q), 1, -1).double() - ref.reshape(1, len(ref), -1).double()
    return diff.pow(2).sum(-1).sqrt()


def test_nearest_neighbour_distances_against_brute_force():
    g = torch.Generator().manual_seed(0)
    ref, q = torch.rand(300, 1, 6, 6, generator=g), torch.rand(40, 1, 6, 6, generator=g)
    dist, idx = nearest_neighbour_distances(q, ref, batch_size=7)
    full = _brute_force(q, ref)
    np.testing.assert_allclose(dist, full.min(1).values.numpy(), rtol=1e-12, atol=0)
    assert np.array_equal(idx, full.argmin(1).numpy())
    assert dist.dtype == np.float64 and idx.dtype == np.int64
    # within one set: the nearest *other* row
    dist_w, idx_w = nearest_neighbour_distances(ref, batch_size=64)
    full_w = _brute_force(ref, ref).fill_diagonal_(float("inf"))
    np.testing.assert_allclose(dist_w, full_w.min(1).values.numpy(), rtol=1e-12, atol=0)
    assert np.array_equal(idx_w, full_w.argmin(1).numpy())


def test_identical_rows_are_exactly_zero_even_with_large_norms():
    # pixel values around 100: ||a||^2 ~ 4e5, where the float32 expansion ||a||^2 + ||b||^2 - 2ab is off by
    # far more than 1e-3; the exact recomputation must still give 0 for a row and itself, on any CPU
    g = torch.Generator().manual_seed(1)
    ref = 100 + torch.rand(200, 1, 28, 28, generator=g)
    dist, idx = nearest_neighbour_distances(ref[:5], ref)
    assert np.all(dist == 0.0) and np.array_equal(idx, np.arange(5))
    # a duplicated row: its nearest other row is the copy, at distance exactly 0; ties go to the lower index
    dup = torch.cat([ref[:10], ref[3:4]])
    d_w, i_w = nearest_neighbour_distances(dup)
    assert d_w[3] == 0.0 and i_w[3] == 10 and d_w[10] == 0.0 and i_w[10] == 3
    assert closest_pair(dup) == (0.0, 3, 10)
    twice = torch.cat([ref[:4], ref[:4]])
    assert np.array_equal(nearest_neighbour_distances(ref[:2], twice)[1], [0, 1])
    # a small offset is measured to the accuracy of float64 differences, not of the expansion
    q = ref[:3].clone()
    q[:, 0, 0, 0] += 1e-3
    np.testing.assert_allclose(nearest_neighbour_distances(q, ref)[0], 1e-3, rtol=1e-3)


def test_nearest_neighbour_distances_errors():
    with pytest.raises(ValueError):
        nearest_neighbour_distances(torch.rand(4, 1, 6, 6), torch.rand(3, 1, 5, 5))
    with pytest.raises(ValueError):
        nearest_neighbour_distances(torch.rand(1, 3))  # no other row
    with pytest.raises(ValueError):
        nearest_neighbour_distances(torch.rand(0, 3), torch.rand(4, 3))
    with pytest.raises(ValueError):
        nearest_neighbour_distances(torch.rand(4, 3), candidates=0)


def test_uniform_collision_formula():
    assert abs(uniform_collision_probability(2, 365) - 1 / 365) < 1e-15
    assert abs(uniform_collision_probability(23, 365) - 0.5073) < 1e-3  # the birthday paradox
    assert uniform_collision_probability(400, 365) == 1.0


def test_birthday_test_recovers_support_of_discrete_uniform():
    n_atoms = 400
    rng = torch.Generator().manual_seed(0)
    atoms = torch.randn(n_atoms, 10, generator=rng) * 10  # well separated points

    def sample(s):
        return atoms[torch.randint(n_atoms, (s,), generator=rng)] + 1e-3 * torch.randn(s, 10, generator=rng)

    sizes = [10, 20, 30, 60]
    res = birthday_test(sample, sizes, threshold=0.1, trials=60)
    exact = np.array([uniform_collision_probability(s, n_atoms) for s in sizes])
    assert np.max(np.abs(res.collision_prob - exact)) < 0.2  # Monte Carlo error of 60 trials (sd <= 0.065)
    assert n_atoms / 2 <= res.support <= 3 * n_atoms  # s^2 ~ 1.39 N


def test_calibrate_threshold_quantile():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])  # nn distances 1, 1, 2, 4
    assert calibrate_threshold(x, 0.5) == 1.5
