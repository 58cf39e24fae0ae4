"""Hooks, thresholds and IoU of gan_utils.images.dissection and the interventions of
gan_utils.images.unit_interventions on a small random DCGAN."""
import numpy as np
import pytest
import torch

from gan_utils.dcgan import DCGANConfig, DCGANGenerator
from gan_utils.images import dissection as dis
from gan_utils.images import unit_interventions as ui
from gan_utils.images.digit_shapes import segment
from gan_utils.models import generate


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    return DCGANGenerator(DCGANConfig(nz=16, ngf=8)).eval()


@pytest.fixture(scope="module")
def z():
    return torch.randn(40, 16, generator=torch.Generator().manual_seed(1))


def test_hooks_are_removed_and_output_unchanged(G, z):
    # same batches with and without the hooks: bitwise equal on any CPU (batches of another size may
    # take other convolution kernels, whose rounding differs between CPUs)
    ref = generate(G, z, batch_size=15)
    layer = dis.get_layer(G, "net.5")
    with dis.record(G, "net.5") as store:
        out = generate(G, z, batch_size=15)
        assert len(layer._forward_hooks) == 1
    assert len(layer._forward_hooks) == 0
    assert [s.shape[0] for s in store] == [15, 15, 10] and store[0].shape[1:] == (8, 14, 14)
    assert torch.equal(out, ref)
    with pytest.raises(RuntimeError):
        with ui.intervene(G, "net.5", [0, 1]):
            raise RuntimeError("boom")
    assert len(layer._forward_hooks) == 0
    assert torch.equal(generate(G, z, batch_size=15), ref)


def test_intervention_sets_the_units(G, z):
    region = ui.layer_region((14, 14), slice(2, 5), slice(3, 7))
    with ui.intervene(G, "net.5", [1, 4], value=torch.tensor([2.0, 3.0]), region=region):
        with dis.record(G, "net.5") as store:  # registered later, so it sees the edited output
            generate(G, z)
    acts = store[0]
    assert torch.all(acts[:, 1][:, torch.from_numpy(region)] == 2.0)
    assert torch.all(acts[:, 4][:, torch.from_numpy(region)] == 3.0)
    _, plain = dis.generate_with_activations(G, z, "net.5")
    assert torch.equal(acts[:, 0], plain[:, 0])
    assert torch.equal(acts[:, 1][:, ~torch.from_numpy(region)], plain[:, 1][:, ~torch.from_numpy(region)])
    with pytest.raises(ValueError):
        with ui.intervene(G, "net.5", [1], value=[1.0, 2.0]):
            pass


def test_confusion_counts_match_direct_boolean_algebra(G, z):
    images, acts = dis.generate_with_activations(G, z, "net.2")
    masks = segment(images, ["ink", "loops", "ink_tl"])
    thr = dis.unit_quantiles(acts, (0.5, 0.9), size=28)
    conf = dis.confusion_counts(acts, masks, thr, batch_size=7)
    iou = conf.iou()
    up = dis.upsample(acts, 28)
    for u, k, c in [(0, 0, "ink"), (3, 1, "loops"), (15, 1, "ink_tl")]:
        ref = dis.iou_direct(up[:, u], float(thr[u, k]), masks[c])
        assert iou[u, k, list(masks).index(c)] == pytest.approx(ref, abs=1e-12)
    assert ((iou >= 0) & (iou <= 1)).all()
    # quantile thresholds leave about the stated share of upsampled values above them
    share = (up > thr[:, 1][None, :, None, None]).float().mean(dim=(0, 2, 3))
    assert torch.all((share - 0.1).abs() < 0.01)


def test_iqr_is_one_for_identical_masks_and_zero_for_independent():
    n = 10_000
    conf_same = dis.Confusion(np.array([[[2500.0]]]), np.array([[2500.0]]), np.array([2500.0]), n)
    conf_indep = dis.Confusion(np.array([[[625.0]]]), np.array([[2500.0]]), np.array([2500.0]), n)
    assert conf_same.iqr()[0, 0, 0] == pytest.approx(1.0)
    assert conf_indep.iqr()[0, 0, 0] == pytest.approx(0.0, abs=1e-12)
    assert conf_same.iou()[0, 0, 0] == 1.0 and conf_indep.iou()[0, 0, 0] == pytest.approx(625 / 4375)


def test_dissect_and_random_sets(G, z):
    d = dis.dissect(G, z[:20], z[20:], "net.5", concepts=["ink", "loops"], quantiles=(0.8, 0.95), progress=False)
    assert d.iou.shape == (8, 2) and ((d.iou >= 0) & (d.iou <= 1)).all()
    top = d.top_units("ink", 3)
    assert [t[1] for t in top] == sorted([t[1] for t in top], reverse=True)
    sets = ui.random_unit_sets(8, 3, 5, seed=0, exclude=[0, 1])
    assert all(len(set(s)) == 3 and not {0, 1} & set(s) for s in sets)
    assert sets == ui.random_unit_sets(8, 3, 5, seed=0, exclude=[0, 1])
    assert ui.region_to_pixels(ui.layer_region((14, 14), slice(0, 2), slice(0, 1)), 28).sum() == 2 * 1 * 4
    with pytest.raises(ValueError):
        dis.get_layer(G, "net.99")
