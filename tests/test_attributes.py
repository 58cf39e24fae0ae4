"""Attribute measurements on synthetic images whose thickness and slant are known, and the
direction helpers against hand-computed means."""
import math

import numpy as np
import pytest
import torch

from gan_utils.images.attributes import (
    attribute_direction,
    exemplar_direction,
    measure_attributes,
    shift,
    skeleton_length,
    slant,
    stroke_thickness,
)
from gan_utils.images.digit_shapes import skeletonize

SIZE = 28


def ring(width: float, radius: float) -> np.ndarray:
    """An annulus of the given width around the image centre, ink +1 on background -1."""
    y, x = np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2
    return np.where(np.abs(np.hypot(x, y) - radius) < width / 2, 1.0, -1.0)


def sheared_ellipse(shear_deg: float, a: float = 2.5, b: float = 9.0) -> np.ndarray:
    """An axis-aligned ellipse (half-widths a across, b up) sheared by x -> x + tan(shear) y, y up."""
    rows, cols = np.mgrid[:SIZE, :SIZE].astype(float)
    y, x = (SIZE - 1) / 2 - rows, cols - (SIZE - 1) / 2
    u = x - math.tan(math.radians(shear_deg)) * y  # undo the shear
    return np.where((u / a) ** 2 + (y / b) ** 2 <= 1.0, 1.0, -1.0)


@pytest.mark.parametrize("radius", [6.0, 8.0, 10.0])
@pytest.mark.parametrize("width", [2.0, 3.0, 4.0, 5.0])
def test_thickness_of_rings_matches_area_over_centre_line(width, radius):
    img = ring(width, radius)
    reference = (img > 0).sum() / (2 * math.pi * radius)  # the ring's area over its centre-line length
    got = stroke_thickness(img)[0]
    assert abs(got - reference) <= 0.10 * reference, (width, radius, got, reference)


def test_thickness_is_increasing_in_width_and_batched():
    imgs = np.stack([ring(w, 8.0) for w in (2.0, 3.0, 4.0, 5.0)])[:, None]
    t = stroke_thickness(torch.tensor(imgs, dtype=torch.float32))
    assert t.shape == (4,) and np.all(np.diff(t) > 0.5), t
    assert np.allclose(t, [stroke_thickness(i)[0] for i in imgs[:, 0]])


def test_skeleton_is_thin_and_straight_line_length():
    bar = np.zeros((1, SIZE, SIZE), bool)
    bar[0, 12:15, 4:24] = True  # 3 rows x 20 columns
    sk = skeletonize(bar, remove_corners=True)
    assert sk.sum() <= 20 and sk[0].sum(axis=0).max() == 1  # one pixel per column
    assert skeleton_length(sk)[0] == pytest.approx(sk.sum())  # a horizontal chain: n - 1 links + 1
    diag = np.eye(SIZE, dtype=bool)[None]
    assert skeleton_length(diag)[0] == pytest.approx((SIZE - 1) * math.sqrt(2) + 1)


@pytest.mark.parametrize("shear", [-30.0, -12.0, 0.0, 7.0, 25.0])
def test_slant_recovers_the_shear_angle(shear):
    img = sheared_ellipse(shear)
    got = slant(img)[0]
    # the ellipse is symmetric, so its own mu_xy is 0 and theta = shear up to pixelisation
    assert abs(got - shear) < 1.5, (shear, got)


def test_slant_sign_and_empty_image():
    assert slant(sheared_ellipse(20.0))[0] > 0  # top to the right
    assert np.isnan(slant(-np.ones((SIZE, SIZE)))[0]) and np.isnan(stroke_thickness(-np.ones((SIZE, SIZE)))[0])
    with pytest.raises(ValueError):
        slant(np.zeros((2, 3, SIZE, SIZE)))
    out = measure_attributes(np.stack([ring(3.0, 8.0), sheared_ellipse(10.0)]))
    assert set(out) == {"thickness", "slant"} and out["slant"].shape == (2,)


def test_attribute_direction_is_difference_of_tail_means():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(100, 5, 1, 1, generator=g)
    values = z[:, 0, 0, 0].numpy() * 2 + 0.1 * torch.randn(100, generator=g).numpy()
    v = attribute_direction(z, values, fraction=0.2)
    order = np.argsort(values)
    want = z[order[-20:]].mean(0) - z[order[:20]].mean(0)
    assert v.shape == (5, 1, 1) and torch.allclose(v, want)
    assert v[0, 0, 0] > 2.0 and v[1:].abs().max() < 1.0  # the attribute lives on the first coordinate
    values[3] = np.nan
    assert torch.isfinite(attribute_direction(z, values, fraction=0.2)).all()
    with pytest.raises(ValueError):
        attribute_direction(z, values[:50])
    with pytest.raises(ValueError):
        attribute_direction(z, values, fraction=0.7)


def test_exemplar_direction_and_shift():
    zh, zl = torch.ones(3, 4), torch.zeros(3, 4)
    assert torch.equal(exemplar_direction(zh, zl), torch.ones(4))
    z = torch.zeros(2, 4)
    out = shift(z, torch.ones(4), [-1.0, 0.0, 2.0])
    assert out.shape == (3, 2, 4) and torch.equal(out[:, 0, 0], torch.tensor([-1.0, 0.0, 2.0]))
    with pytest.raises(ValueError):
        shift(z, torch.ones(5), [1.0])
    with pytest.raises(ValueError):
        exemplar_direction(torch.ones(3, 4), torch.ones(3, 5))
