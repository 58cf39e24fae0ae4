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


def test_run_variant_scores_over_training_and_repeats_itself(monkeypatch, tmp_path):
    clf = pretrained.load("mnist-classifier")
    proto = guideline_ablation.AblationProtocol(width=4, steps=4, batch_size=8, nz=8, seeds=(0, 1), eval_every=2,
                                                n_eval=40)
    kwargs = dict(sample_real=tensor_sampler(_real()), device="cpu", classifier=clf, reference=_real(40))
    run = guideline_ablation.run_variant("no BatchNorm", 0, proto, **kwargs)
    assert run.steps == [0, 2, 4] and all(len(v) == 3 and all(math.isfinite(x) for x in v) for v in run.curve.values())
    assert -1 <= run.d_gap <= 1 and run.preview.shape == (16, 1, 28, 28) and len(run.head_g_loss) == 4
    again = guideline_ablation.run_variant("no BatchNorm", 0, proto, **kwargs)
    assert again.curve == run.curve and again.head_d_loss == run.head_d_loss  # seeded
    short = guideline_ablation.run_variant("no BatchNorm", 0, proto, steps=3, **kwargs)
    assert short.steps == [0, 2, 3] and short.head_g_loss == run.head_g_loss[:3]  # the start of the same run
    # save, hash, load: the runs come back (previews to within one grey level)
    digest = guideline_ablation.save_reference(tmp_path / "a.json", proto, [run], {"command": "test"})
    back = guideline_ablation.load_reference(tmp_path / "a.json", expected_sha256=digest)
    assert back["protocol"] == proto and back["runs"][0].curve == run.curve
    assert float((back["runs"][0].preview - run.preview).abs().max()) <= 1 / 127.5
    with pytest.raises(ValueError, match="sha256"):
        guideline_ablation.load_reference(tmp_path / "a.json", expected_sha256="0" * 64)
    with pytest.raises(ValueError, match="unknown variant"):
        guideline_ablation.run_variant("no guidelines", 0, proto, **kwargs)

    def diverge(*args, **kw):
        raise FloatingPointError("loss is nan")
    monkeypatch.setattr(guideline_ablation, "train_gan", diverge)
    bad = guideline_ablation.run_variant("baseline (all guidelines)", 0, proto, **kwargs)
    assert bad.diverged and bad.preview is None and math.isnan(bad.final("class_kl"))
    assert guideline_ablation.escape_step(bad, 1.0) is None


def test_escape_step_late_sd_and_summary():
    run = guideline_ablation.VariantRun("baseline (all guidelines)", 0, steps=[0, 100, 200, 300],
                                        curve={"class_kl": [2.3, 2.3, 0.8, 0.2], "confidence": [0.5] * 4,
                                               "frechet_distance": [700.0, 600.0, 300.0, 200.0]}, d_gap=0.3)
    assert guideline_ablation.escape_step(run, 1.0) == 200
    assert guideline_ablation.escape_step(run, 0.1) is None
    # last third of 300 steps: scorings at 200 and 300
    assert guideline_ablation.late_sd(run) == pytest.approx(np.std([300.0, 200.0], ddof=1))
    with pytest.raises(ValueError):
        guideline_ablation.late_sd(run, fraction=0)
    summary = guideline_ablation.summarise([run], 1.0)
    assert list(summary) == ["baseline (all guidelines)"]
    row = summary["baseline (all guidelines)"]
    assert row["escape"] == [200.0] and row["class_kl"] == [0.2] and row["d_gap"] == [0.3]
    with pytest.raises(ValueError):
        guideline_ablation.AblationProtocol(steps=0)


def test_the_shipped_ablation_loads_and_meets_the_chapter_s_budget():
    ref = guideline_ablation.load_reference()
    proto = ref["protocol"]
    assert proto.steps >= 1500 and len(proto.seeds) >= 3
    assert len(ref["runs"]) == len(guideline_ablation.VARIANTS) * len(proto.seeds)
    assert {"command", "git_commit", "device", "torch", "wall_seconds"} <= set(ref["meta"])


def test_mean_sd_formats_seeds_and_divergence():
    assert guideline_ablation.mean_sd([1.0, 3.0]) == f"2.000 ± {np.std([1, 3], ddof=1):.3f}"
    assert guideline_ablation.mean_sd([2.5]) == "2.500"
    assert guideline_ablation.mean_sd([1.0, float("nan")]) == "1.000"
    assert guideline_ablation.mean_sd([float("nan")] * 3) == "diverged"
