"""Tests of the birthday-paradox support estimate against the exact uniform-collision formula."""
import math

import numpy as np
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
    assert d == 1.0 and {i, j} == {0, 2}
    assert torch.allclose(nearest_neighbour_distances(x), torch.tensor([1.0, math.sqrt(18), 1.0], dtype=torch.float64))


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
