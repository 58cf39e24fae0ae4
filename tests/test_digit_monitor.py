"""Tests for gan_utils.models.generate, gan_utils.images.digit_monitor.DigitMonitor and
gan_utils.images.guideline_ablation (book chapter 7): eval-mode batched sampling, what the monitor records and
that it does not change the run it watches, and the ablation runner's outputs."""
import math

import numpy as np
import pytest
import torch

from gan_utils import pretrained
from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from gan_utils.images import guideline_ablation
from gan_utils.images.digit_monitor import CURVE_KEYS, DigitMonitor
from gan_utils.models import generate
from gan_utils.train import TrainConfig, tensor_sampler, train_gan

CFG = DCGANConfig(image_size=28, nz=8, ngf=4, ndf=4)


def _real(n=64):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2 - 1


def test_generate_is_eval_mode_batched_and_restores_the_mode():
    torch.manual_seed(0)
    G = DCGANGenerator(CFG).train()
    z = torch.randn(13, 8, 1, 1)
    out = generate(G, z, batch_size=5)  # 13 = 5 + 5 + 3
    assert G.training and not out.requires_grad and out.shape == (13, 1, 28, 28)
    with torch.no_grad():
        expected = G.eval()(z)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    G.eval()
    generate(G, z)
    assert not G.training
    with pytest.raises(ValueError):
        generate(G, z, batch_size=0)


def _train(callbacks, steps=6):
    torch.manual_seed(0)
    G, D = DCGANGenerator(CFG), DCGANDiscriminator(CFG)
    cfg = TrainConfig(steps=steps, z_shape=(8, 1, 1), batch_size=8, seed=0)
    train_gan(G, D, tensor_sampler(_real()), cfg, "cpu", callbacks=callbacks, progress=False)
    return G


def test_monitor_records_the_chosen_steps_and_does_not_change_the_run():
    clf = pretrained.load("mnist-classifier")
    z_fixed, z_eval = torch.randn(4, 8, 1, 1), torch.randn(50, 8, 1, 1)
    monitor = DigitMonitor(clf, _real(50), z_fixed, z_eval, snapshot_steps=(2, 6), eval_every=4, last_step=6)
    watched = _train([monitor])
    assert sorted(monitor.snapshots) == [2, 6]
    assert all(s.shape == (4, 1, 28, 28) for s in monitor.snapshots.values())
    assert monitor.curve["step"] == [4, 6]  # every 4 steps, and the last step
    assert all(len(monitor.curve[k]) == 2 and all(math.isfinite(v) for v in monitor.curve[k]) for k in CURVE_KEYS)
    torch.testing.assert_close(monitor.snapshots[6], generate(watched, z_fixed))  # the final G
    unwatched = _train([])
    for a, b in zip(watched.state_dict().values(), unwatched.state_dict().values()):
        assert torch.equal(a, b)  # the monitor draws no random numbers
    with pytest.raises(ValueError):
        DigitMonitor(clf, _real(50), z_fixed, z_eval, snapshot_steps=(), eval_every=0, last_step=1)


def test_run_variant_returns_metrics_and_previews(monkeypatch):
    clf = pretrained.load("mnist-classifier")
    kwargs = dict(width=4, steps=3, batch_size=8, nz=8, sample_real=tensor_sampler(_real()), device="cpu",
                  classifier=clf, reference=_real(40), z_eval=torch.randn(40, 8, 1, 1),
                  z_preview=torch.randn(4, 8, 1, 1))
    metrics, samples = guideline_ablation.run_variant({"batchnorm": False}, {"lr_g": 1e-3}, 0, **kwargs)
    assert set(metrics) == set(guideline_ablation.KEYS) and all(math.isfinite(v) for v in metrics.values())
    assert -1 <= metrics["d_gap"] <= 1 and samples.shape == (4, 1, 28, 28)
    again, _ = guideline_ablation.run_variant({"batchnorm": False}, {"lr_g": 1e-3}, 0, **kwargs)
    assert again == metrics  # seeded

    def diverge(*args, **kw):
        raise FloatingPointError("loss is nan")
    monkeypatch.setattr(guideline_ablation, "train_gan", diverge)
    metrics, samples = guideline_ablation.run_variant({}, {}, 0, **kwargs)
    assert samples is None and all(math.isnan(v) for v in metrics.values())


def test_mean_sd_formats_seeds_and_divergence():
    assert guideline_ablation.mean_sd([1.0, 3.0]) == f"2.000 ± {np.std([1, 3], ddof=1):.3f}"
    assert guideline_ablation.mean_sd([2.5]) == "2.500"
    assert guideline_ablation.mean_sd([1.0, float("nan")]) == "1.000"
    assert guideline_ablation.mean_sd([float("nan")] * 3) == "diverged"
