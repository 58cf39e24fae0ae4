"""Concept segmenters on drawn digits with known answers (gan_utils.images.digit_shapes)."""
import numpy as np
import pytest
import torch
from scipy import ndimage

from gan_utils.images import digit_shapes as C

YY, XX = np.mgrid[0:28, 0:28]


def blank():
    return -np.ones((28, 28))


def ring(cy, cx, r, w=1.5):
    return np.abs(np.hypot(YY - cy, XX - cx) - r) <= w


def zero():
    x = blank()
    x[ring(14, 14, 7)] = 1
    return x


def eight():
    x = blank()
    x[ring(8.5, 14, 5) | ring(19.5, 14, 5.5)] = 1
    return x


def stroke():
    x = blank()
    x[5:23, 13:16] = 1
    return x


def tee():
    x = blank()
    x[5:8, 6:23] = 1
    x[5:23, 13:16] = 1
    return x


def plus():
    x = blank()
    x[13:16, 5:23] = 1
    x[5:23, 13:16] = 1
    return x


DIGITS = np.stack([zero(), eight(), stroke(), tee(), plus(), blank()])


def test_loop_and_endpoint_counts():
    assert C.count_loops(DIGITS).tolist() == [1, 2, 0, 0, 0, 0]
    assert C.count_endpoints(DIGITS).tolist() == [0, 0, 2, 3, 4, 0]


def test_loop_mask_is_the_enclosed_disc():
    inside = np.hypot(YY - 14, XX - 14) < 7 - 1.5  # strictly inside the ring's inner edge
    got = C.loops(zero())[0]
    assert np.array_equal(got, inside & ~C.ink(zero())[0])
    assert not (got & C.ink(zero())[0]).any()


def test_ink_threshold_and_regions():
    x = blank()
    x[3, 4] = 0.0
    x[20, 20] = 0.01
    assert C.ink(x)[0].sum() == 1  # mid-grey (0) is not ink, anything brighter is
    masks = C.segment(torch.from_numpy(plus()).float()[None, None])
    ink = masks["ink"][0]
    quadrants = [masks[f"ink_{q}"][0].sum() for q in ("tl", "tr", "bl", "br")]
    assert sum(quadrants) == ink.sum()
    assert masks["ink_top"][0].sum() + masks["ink_bottom"][0].sum() == ink.sum()
    assert not masks["ink_tl"][0][14:, :].any() and not masks["ink_tl"][0][:, 14:].any()


def test_skeleton_is_thin_and_inside_the_ink():
    sk = C.skeletonize(C.ink(DIGITS))
    assert (sk <= C.ink(DIGITS)).all()
    # one pixel wide: no 2 x 2 block of skeleton pixels
    blocks = sk[:, :-1, :-1] & sk[:, 1:, :-1] & sk[:, :-1, 1:] & sk[:, 1:, 1:]
    assert not blocks.any()
    assert sk[2].sum() >= 14  # the 18-pixel stroke keeps most of its length


def test_remove_corners_deletes_the_staircase_corners_and_keeps_one_chain():
    band = np.zeros((1, 28, 28), bool)
    for r in range(2, 12):  # a 2-pixel-high band of slope 1/2: Zhang-Suen leaves a 4-connected staircase
        band[0, r:r + 2, 2 * r - 1:2 * r + 3] = True
    plain = C.skeletonize(band)
    thin = C.skeletonize(band, remove_corners=True)
    assert (thin <= plain).all() and thin.sum() < plain.sum()
    s = np.pad(thin[0], 1)
    horizontal = s[1:-1, :-2] | s[1:-1, 2:]
    vertical = s[:-2, 1:-1] | s[2:, 1:-1]
    assert not (thin[0] & horizontal & vertical).any()  # no pixel joins a horizontal and a vertical link
    eight = np.ones((3, 3), int)
    assert ndimage.label(thin[0], eight)[1] == ndimage.label(plain[0], eight)[1] == 1
    # on a straight bar there is nothing to remove
    bar = np.zeros((1, 28, 28), bool)
    bar[0, 12:15, 4:24] = True
    assert (C.skeletonize(bar, remove_corners=True) == C.skeletonize(bar)).all()


def test_endpoint_mask_dilation():
    pts = C.endpoints(stroke(), radius=0)
    assert pts.sum() == 2
    assert C.endpoints(stroke(), radius=1).sum() <= 18 and C.endpoints(stroke(), radius=1).sum() >= 12


def test_bad_input():
    with pytest.raises(ValueError):
        C.as_batch(np.zeros((2, 3, 28, 28)))
    with pytest.raises(ValueError):
        C.segment(DIGITS, ["nose"])
    with pytest.raises(ValueError):
        C.region_mask((28, 28), "middle")
