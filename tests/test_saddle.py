"""Tests for gan_utils.dynamics.saddle (book chapter 5): the iterations against their one-step matrices and
eigenvalues."""
import math

import numpy as np
import pytest

from gan_utils.dynamics.saddle import (
    METHODS,
    alternating_band,
    alternating_invariant,
    bilinear_grad,
    distance,
    run,
    spectral_radius,
    step_matrix,
)


@pytest.mark.parametrize("method", ["simultaneous", "alternating", "extragradient"])
@pytest.mark.parametrize("eta", [0.05, 0.3])
def test_gradient_steps_are_the_linear_map(method, eta):
    path = run(method, eta, 50, start=(0.7, -0.4))
    M = step_matrix(method, eta)
    expected = [np.array([0.7, -0.4])]
    for _ in range(50):
        expected.append(M @ expected[-1])
    np.testing.assert_allclose(path, np.array(expected), rtol=0, atol=1e-12)


def test_optimistic_steps_are_the_4x4_linear_map():
    eta = 0.2
    path = run("optimistic", eta, 40, start=(1.0, 0.5))
    M = step_matrix("optimistic", eta)
    state = np.array([1.0, 0.5, 1.0, 0.5])  # previous gradient = current gradient at the start
    for t in range(1, 41):
        state = M @ state
        np.testing.assert_allclose(path[t], state[:2], rtol=0, atol=1e-12)


@pytest.mark.parametrize("eta", [0.01, 0.1, 0.5])
def test_closed_form_eigenvalue_moduli(eta):
    assert spectral_radius("simultaneous", eta) == pytest.approx(math.sqrt(1 + eta**2), abs=1e-14)
    assert spectral_radius("alternating", eta) == pytest.approx(1.0, abs=1e-12)
    assert spectral_radius("extragradient", eta) == pytest.approx(math.sqrt(1 - eta**2 + eta**4), abs=1e-14)
    assert spectral_radius("optimistic", eta) < 1.0


def test_growth_matches_eigenvalue_modulus_and_alternating_is_bounded():
    eta, n = 0.1, 300
    for method in ("simultaneous", "extragradient"):
        d = distance(run(method, eta, n))
        assert d[-1] / d[0] == pytest.approx(spectral_radius(method, eta) ** n, rel=1e-9)
    path = run("alternating", eta, n)
    q = alternating_invariant(path, eta)
    np.testing.assert_allclose(q, q[0], rtol=1e-12)
    lo, hi = alternating_band(q[0], eta)
    d = distance(path)
    assert lo - 1e-12 <= d.min() and d.max() <= hi + 1e-12


def test_bad_input():
    assert bilinear_grad(2.0, 3.0) == (3.0, 2.0)
    with pytest.raises(ValueError):
        run("gradient", 0.1, 10)
    with pytest.raises(ValueError):
        step_matrix(METHODS[0], 0.0)
    with pytest.raises(ValueError):
        alternating_band(1.0, 2.5)
