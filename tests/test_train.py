"""Tests for gan_utils.train: Algorithm 1, determinism, k, NaN guard, callbacks, kill-and-resume."""
import dataclasses
import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from gan_utils import losses
from gan_utils.checkpoints import load_checkpoint, sha256_of
from gan_utils.data import GaussianMixture1D
from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from gan_utils.models import mlp_discriminator, mlp_generator
from gan_utils.runtime import torch_threads
from gan_utils.step import gan_step
from gan_utils.train import (
    History,
    TrainConfig,
    TrainState,
    _make_optimizers,
    every,
    grad_norm,
    learning_rate_factor,
    sample_noise,
    tensor_sampler,
    train_gan,
)

TARGET = GaussianMixture1D(weights=(1.0,), means=(3.0,), stds=(0.5,))
HISTORY_KEYS = {"step", "d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The networks here are tiny: intra-op threads only add synchronisation, which gets very slow
    when the CPU is shared. One thread keeps the module fast everywhere (results do not change)."""
    with torch_threads(1):
        yield


def target_sampler(n, generator):
    return TARGET.sample(n, generator=generator)


def make_models(init_seed=0, hidden=(16, 16)):
    torch.manual_seed(init_seed)
    return mlp_generator(1, 1, hidden), mlp_discriminator(1, hidden)


def run(steps=10, init_seed=0, sampler=target_sampler, **kwargs):
    train_kwargs = {k: kwargs.pop(k) for k in list(kwargs)
                    if k in ("callbacks", "checkpoint_path", "checkpoint_every", "resume")}
    config = TrainConfig(steps=steps, **{"batch_size": 32, "lr_g": 1e-3, "lr_d": 1e-3, **kwargs})
    G, D = make_models(init_seed)
    history = train_gan(G, D, sampler, config, "cpu", progress=False, **train_kwargs)
    return G, D, history


def assert_same_weights(m1, m2):
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert s1.keys() == s2.keys()
    for key in s1:
        assert torch.equal(s1[key], s2[key]), key


# ----------------------------------------------------------------------------------------- config
@pytest.mark.parametrize("kwargs", [dict(steps=-1), dict(steps=5, k=0), dict(steps=5, batch_size=0),
                                    dict(steps=5, loss="wgan"), dict(steps=5, lr_decay_from=5),
                                    dict(steps=5, lr_decay_from=-1)])
def test_train_config_validation(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs)


def test_train_config_turns_lists_into_tuples():
    cfg = TrainConfig(steps=1, z_shape=[2], betas=[0.5, 0.9], lsgan_abc=[-1, 1, 0])
    assert cfg.z_shape == (2,) and cfg.betas == (0.5, 0.9) and cfg.lsgan_abc == (-1, 1, 0)


# ---------------------------------------------------------------------------------------- history
@pytest.mark.parametrize("loss", ["nonsaturating", "saturating", "lsgan"])
def test_history_has_one_entry_per_generator_step(loss):
    _, _, h = run(steps=7, loss=loss)
    assert isinstance(h, History) and len(h) == 7
    d = h.as_dict()
    assert set(d) == HISTORY_KEYS
    assert all(len(v) == 7 for v in d.values())
    assert d["step"] == list(range(1, 8))
    for key in HISTORY_KEYS - {"step"}:
        assert all(isinstance(v, float) and math.isfinite(v) for v in d[key]), key
    assert all(v > 0 for v in d["grad_norm_d"] + d["grad_norm_g"])
    if loss != "lsgan":
        assert all(0 < v < 1 for v in d["d_real"] + d["d_fake"])
        assert all(v > 0 for v in d["d_loss"])
    if loss == "saturating":
        assert all(v < 0 for v in d["g_loss"])  # E log(1 - D) < 0


def test_zero_steps_returns_empty_history_and_untouched_models():
    G0, D0 = make_models(0)
    G, D, h = run(steps=0)
    assert len(h) == 0
    assert_same_weights(G, G0)
    assert_same_weights(D, D0)


@pytest.mark.parametrize("loss", ["nonsaturating", "saturating", "lsgan"])
def test_first_step_values_equal_an_independent_recomputation(loss):
    """With learning rates 0 the weights never move, so the first step's recorded numbers can be
    recomputed in float64 from the documented random stream: real batch, then noise for D, then
    noise for G, all from one generator seeded with config.seed."""
    seed, m = 3, 16
    G, D, h = run(steps=1, loss=loss, lr_g=0.0, lr_d=0.0, batch_size=m, seed=seed, lsgan_abc=(-1.0, 1.0, 0.0))
    rng = torch.Generator().manual_seed(seed)
    real = target_sampler(m, rng)
    z_d = torch.randn((m, 1), generator=rng)
    z_g = torch.randn((m, 1), generator=rng)
    G64, D64 = G.double(), D.double()
    with torch.no_grad():
        a_real = D64(real.double()).numpy()
        a_fake = D64(G64(z_d.double())).numpy()
        a_gen = D64(G64(z_g.double())).numpy()
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    if loss == "lsgan":
        exp_d = 0.5 * np.mean((a_real - 1) ** 2) + 0.5 * np.mean((a_fake + 1) ** 2)
        exp_g = 0.5 * np.mean(a_gen**2)
        exp_real, exp_fake = a_real.mean(), a_fake.mean()
    else:
        exp_d = -np.mean(np.log(sig(a_real))) - np.mean(np.log(1 - sig(a_fake)))
        exp_g = np.mean(np.log(1 - sig(a_gen))) if loss == "saturating" else -np.mean(np.log(sig(a_gen)))
        exp_real, exp_fake = sig(a_real).mean(), sig(a_fake).mean()
    assert h.d_loss[0] == pytest.approx(exp_d, rel=1e-5, abs=1e-6)
    assert h.g_loss[0] == pytest.approx(exp_g, rel=1e-5, abs=1e-6)
    assert h.d_real[0] == pytest.approx(exp_real, rel=1e-5, abs=1e-6)
    assert h.d_fake[0] == pytest.approx(exp_fake, rel=1e-5, abs=1e-6)

    # gradient norms: D's from its loss on (real, G(z_d)), G's from its loss on D(G(z_g)), in float64
    def loss_d_of(ar, af):
        if loss == "lsgan":
            return 0.5 * ((ar - 1) ** 2).mean() + 0.5 * ((af + 1) ** 2).mean()
        return -torch.log(torch.sigmoid(ar)).mean() - torch.log(1 - torch.sigmoid(af)).mean()

    def loss_g_of(ag):
        if loss == "lsgan":
            return 0.5 * (ag**2).mean()
        if loss == "saturating":
            return torch.log(1 - torch.sigmoid(ag)).mean()
        return -torch.log(torch.sigmoid(ag)).mean()

    def norm_of(grads):
        return math.sqrt(sum(float((g**2).sum()) for g in grads))

    with torch.no_grad():
        fake = G64(z_d.double())
    gd = torch.autograd.grad(loss_d_of(D64(real.double()), D64(fake)), list(D64.parameters()))
    gg = torch.autograd.grad(loss_g_of(D64(G64(z_g.double()))), list(G64.parameters()))
    assert h.grad_norm_d[0] == pytest.approx(norm_of(gd), rel=1e-5)
    assert h.grad_norm_g[0] == pytest.approx(norm_of(gg), rel=1e-5)


def test_grad_norm_is_the_l2_norm_of_all_gradients():
    net = mlp_discriminator(2, hidden=(4,))
    assert grad_norm(net) == 0.0  # no gradients yet
    net(torch.randn(3, 2)).sum().backward()
    expected = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in net.parameters()))
    assert grad_norm(net) == pytest.approx(expected, rel=1e-6)


def test_sample_noise_and_tensor_sampler():
    z = sample_noise(5, (3, 1, 1), "cpu", torch.Generator().manual_seed(0))
    assert z.shape == (5, 3, 1, 1)
    data = torch.arange(10.0).unsqueeze(1)
    batch = tensor_sampler(data)(1000, torch.Generator().manual_seed(0))
    assert batch.shape == (1000, 1)
    assert set(batch.squeeze(1).tolist()) == set(range(10))  # with replacement, all rows reachable


# ----------------------------------------------------------------------------------- determinism
def test_two_runs_with_the_same_seed_are_identical():
    G1, D1, h1 = run(steps=15, seed=4)
    torch.manual_seed(12345)  # the global stream must not matter
    G2, D2, h2 = run(steps=15, seed=4)
    assert h1.as_dict() == h2.as_dict()
    assert_same_weights(G1, G2)
    assert_same_weights(D1, D2)


def test_a_different_seed_gives_a_different_run():
    _, _, h1 = run(steps=5, seed=4)
    _, _, h2 = run(steps=5, seed=5)
    assert h1.d_loss != h2.d_loss


# ------------------------------------------------------------------------------------ k D-steps
@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_steps_per_generator_step(k):
    seen = []
    sampler_calls = []

    def counting_sampler(n, generator):
        sampler_calls.append(n)
        return target_sampler(n, generator)

    def record(state: TrainState):
        # Adam counts its own updates: per parameter, state["step"]
        d_steps = {int(s["step"]) for s in state.opt_d.state.values()}
        g_steps = {int(s["step"]) for s in state.opt_g.state.values()}
        seen.append((state.step, d_steps, g_steps))

    run(steps=4, k=k, sampler=counting_sampler, callbacks=[record], batch_size=8)
    assert seen == [(s, {k * s}, {s}) for s in range(1, 5)]
    assert sampler_calls == [8] * (4 * k)


# -------------------------------------------------------------------------------------- NaN guard
@pytest.mark.parametrize("bad,k", [(float("nan"), 1), (float("inf"), 1), (float("nan"), 3)])
def test_non_finite_loss_raises_naming_the_step(bad, k):
    calls = []

    def poisoned(n, generator):
        calls.append(n)
        x = target_sampler(n, generator)
        if len(calls) == 2 * k + 1:  # the first real batch of generator step 3 (k batches per step)
            x[0, 0] = bad
        return x

    completed = []
    with pytest.raises(FloatingPointError) as info:
        run(steps=10, k=k, sampler=poisoned, callbacks=[lambda s: completed.append(s.step)])
    message = str(info.value)
    assert "step 3" in message
    assert "discriminator loss" in message
    assert completed == [1, 2]  # steps 1 and 2 finished, step 3 failed


def test_non_finite_generator_loss_is_caught():
    # a G whose output overflows only when gradients are enabled (the G step, not the D step)
    class Exploding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(1, 1)

        def forward(self, z):
            out = self.lin(z)
            return out * float("inf") if torch.is_grad_enabled() else out

    D = mlp_discriminator(1, (8,))
    with pytest.raises(FloatingPointError, match=r"generator loss.*step 1\b"):
        train_gan(Exploding(), D, target_sampler, TrainConfig(steps=3, batch_size=8), "cpu", progress=False)


# -------------------------------------------------------------------------------------- callbacks
def test_callbacks_run_after_every_step_and_every_n_filters():
    all_steps, third_steps, history_lengths = [], [], []

    def record(state):
        all_steps.append(state.step)
        history_lengths.append(len(state.history))

    run(steps=10, callbacks=[record, every(3, lambda s: third_steps.append(s.step))])
    assert all_steps == list(range(1, 11))
    assert history_lengths == list(range(1, 11))  # the history already holds the finished step
    assert third_steps == [3, 6, 9]


def test_every_rejects_non_positive_n():
    with pytest.raises(ValueError):
        every(0, lambda s: None)


# ---------------------------------------------------------------------------------------- learning
def test_short_training_moves_p_g_toward_p_data():
    """A 1-D GAN on N(3, 0.5^2) for 250 steps: the Wasserstein-1 distance between G's samples and
    the target shrinks from > 2 (G starts near 0) to well under half of that."""
    z = torch.randn(4000, 1, generator=torch.Generator().manual_seed(123))
    target = TARGET.sample(4000, generator=torch.Generator().manual_seed(321)).numpy().ravel()
    G0, _ = make_models(0)
    with torch.no_grad():
        before = stats.wasserstein_distance(G0(z).numpy().ravel(), target)
    G, _, h = run(steps=250, batch_size=64, lr_g=2e-3, lr_d=2e-3)
    with torch.no_grad():
        after = stats.wasserstein_distance(G(z).numpy().ravel(), target)
    assert before > 2.0
    assert after < 0.4 * before
    assert after < 0.8
    # and D is not winning outright at the end: D(G(z)) is far from 0
    assert np.mean(h.d_fake[-20:]) > 0.2


# --------------------------------------------------------------------------------- kill and resume
class Killed(Exception):
    pass


def test_kill_and_resume_is_bit_identical(tmp_path):
    N, m, kill_at = 12, 4, 10
    config = dict(steps=N, k=2, seed=7)

    # run A: uninterrupted, with checkpoints
    GA, DA, hA = run(init_seed=0, checkpoint_path=tmp_path / "a" / "run", checkpoint_every=m, **config)

    # run B: same run, checkpoint every m steps, killed by a callback after step kill_at
    def kill(state):
        if state.step == kill_at:
            raise Killed

    with pytest.raises(Killed):
        run(init_seed=0, checkpoint_path=tmp_path / "b" / "run", checkpoint_every=m, callbacks=[kill], **config)

    # resume in a fresh process state: new models with a different init, a scrambled global RNG,
    # new optimizers (made inside train_gan); training continues from the checkpoint at step 8
    torch.manual_seed(999)
    steps_seen = []
    GB, DB, hB = run(init_seed=1, checkpoint_path=tmp_path / "b" / "run", checkpoint_every=m, resume=True,
                     callbacks=[lambda s: steps_seen.append(s.step)], **config)
    assert steps_seen == list(range((kill_at // m) * m + 1, N + 1))  # resumed at 9, not at 1
    assert_same_weights(GA, GB)
    assert_same_weights(DA, DB)
    assert hA.as_dict() == hB.as_dict()
    assert len(hB) == N
    # the final checkpoints (weights, Adam moments and step counts, RNG state) are byte-identical
    assert sha256_of(tmp_path / "a" / "run.safetensors") == sha256_of(tmp_path / "b" / "run.safetensors")
    assert load_checkpoint(tmp_path / "b" / "run").step == N


def test_resume_without_checkpoint_starts_from_scratch(tmp_path):
    G1, _, h1 = run(steps=5, checkpoint_path=tmp_path / "none" / "run", resume=True)
    G2, _, h2 = run(steps=5)
    assert h1.as_dict() == h2.as_dict()
    assert_same_weights(G1, G2)


def test_resume_can_extend_a_finished_run(tmp_path):
    # 6 steps, then the same run extended to 10 steps == 10 steps straight
    run(steps=6, checkpoint_path=tmp_path / "run", checkpoint_every=3)
    G1, D1, h1 = run(steps=10, init_seed=5, checkpoint_path=tmp_path / "run", checkpoint_every=3, resume=True)
    G2, D2, h2 = run(steps=10)
    assert h1.as_dict() == h2.as_dict()
    assert_same_weights(G1, G2)
    assert_same_weights(D1, D2)


def test_resume_refuses_a_checkpoint_from_a_different_config(tmp_path):
    run(steps=4, checkpoint_path=tmp_path / "run", checkpoint_every=2)
    with pytest.raises(ValueError, match="different config"):
        run(steps=4, lr_d=5e-4, checkpoint_path=tmp_path / "run", checkpoint_every=2, resume=True)


# ----------------------------------------------------------------------------- learning-rate decay
def test_linear_decay_sets_the_learning_rate_of_every_step():
    cfg = TrainConfig(steps=10, lr_decay_from=6, lr_g=1e-3, lr_d=2e-3)
    # step s (completed steps before it) uses lr * (10 - s) / 4 from s = 6: 1, 3/4, 1/2, 1/4
    assert [learning_rate_factor(cfg, s) for s in range(10)] == [1.0] * 7 + [0.75, 0.5, 0.25]
    seen = []
    run(steps=10, lr_decay_from=6, callbacks=[lambda st: seen.append(
        (st.opt_g.param_groups[0]["lr"], st.opt_d.param_groups[0]["lr"]))])
    assert [round(g / 1e-3, 12) for g, _ in seen] == [1.0] * 7 + [0.75, 0.5, 0.25]
    assert all(d == g for g, d in seen)  # run() gives both players lr 1e-3
    # no decay: constant, and the same weights as a run without the field
    G1, _, h1 = run(steps=6, lr_decay_from=None)
    G2, _, h2 = run(steps=6)
    assert_same_weights(G1, G2)
    assert h1.as_dict() == h2.as_dict()


def test_decay_changes_training_only_after_it_starts(tmp_path):
    _, _, h_const = run(steps=10)
    _, _, h_decay = run(steps=10, lr_decay_from=6)
    assert h_const.d_loss[:7] == h_decay.d_loss[:7]  # steps 1..7 use lr * 1
    assert h_const.d_loss[7:] != h_decay.d_loss[7:]


def test_resume_in_the_middle_of_a_decay_is_bit_identical(tmp_path):
    GA, DA, hA = run(steps=12, lr_decay_from=4)

    def kill(state):
        if state.step == 9:
            raise Killed

    with pytest.raises(Killed):
        run(steps=12, lr_decay_from=4, checkpoint_path=tmp_path / "run", checkpoint_every=4, callbacks=[kill])
    GB, DB, hB = run(steps=12, lr_decay_from=4, init_seed=3, checkpoint_path=tmp_path / "run",
                     checkpoint_every=4, resume=True)  # resumes at step 8, inside the decay
    assert_same_weights(GA, GB)
    assert_same_weights(DA, DB)
    assert hA.as_dict() == hB.as_dict()


def test_a_constant_run_extends_into_a_decay_that_starts_where_it_stopped(tmp_path):
    # 6 constant steps, extended to 10 steps with decay from step 6 == 10 steps with decay from 6;
    # a decay that would have begun before the checkpoint's step is refused
    run(steps=6, checkpoint_path=tmp_path / "run", checkpoint_every=3)
    with pytest.raises(ValueError, match="different config"):
        run(steps=10, lr_decay_from=4, checkpoint_path=tmp_path / "run", checkpoint_every=3, resume=True)
    G1, _, h1 = run(steps=10, lr_decay_from=6, init_seed=5, checkpoint_path=tmp_path / "run", checkpoint_every=3,
                    resume=True)
    G2, _, h2 = run(steps=10, lr_decay_from=6)
    assert h1.as_dict() == h2.as_dict()
    assert_same_weights(G1, G2)


def test_checkpoints_are_written_every_n_steps_and_at_the_end(tmp_path):
    saved_steps = []

    def look(state):
        path = tmp_path / "run.json"
        if path.exists():
            saved_steps.append(load_checkpoint(tmp_path / "run").step)

    run(steps=7, checkpoint_path=tmp_path / "run", checkpoint_every=3, callbacks=[look])
    assert saved_steps == [3, 3, 3, 6, 7]  # after steps 1 and 2 there is no file yet
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt.config == {**dataclasses.asdict(TrainConfig(steps=7, batch_size=32, lr_g=1e-3, lr_d=1e-3)),
                           "z_shape": [1], "betas": [0.5, 0.999], "lsgan_abc": [0.0, 1.0, 1.0]}
    assert len(ckpt.extra["history"]["step"]) == 7


KILLED_RUN = """
import os, signal, sys
import torch
sys.path.insert(0, {tests!r})
from test_train import run
torch.set_num_threads(1)

def kill(state):
    if state.step == {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)  # no exception, no cleanup: the process just dies

run(init_seed=0, checkpoint_path={path!r}, checkpoint_every={every}, callbacks=[kill], steps={steps}, k=2, seed=7)
"""


def test_a_process_killed_by_sigkill_resumes_to_the_same_result(tmp_path):
    """A real kill: a child process trains with checkpoints and is SIGKILLed mid-run; training is
    resumed here from what it left on disk and must end bit-identical to an uninterrupted run."""
    N, m, kill_at = 12, 4, 10
    script = KILLED_RUN.format(tests=str(Path(__file__).parent), kill_at=kill_at,
                               path=str(tmp_path / "b" / "run"), every=m, steps=N)
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, (child.returncode, child.stderr[-2000:])
    assert not list((tmp_path / "b").glob("*.tmp")), "a temporary file was left behind"

    GA, DA, hA = run(init_seed=0, steps=N, k=2, seed=7)
    GB, DB, hB = run(init_seed=1, checkpoint_path=tmp_path / "b" / "run", checkpoint_every=m, resume=True,
                     steps=N, k=2, seed=7)
    assert_same_weights(GA, GB)
    assert_same_weights(DA, DB)
    assert hA.as_dict() == hB.as_dict()


# ------------------------------------------------------------------------------ speed options
def _dcgan_run(steps=3, **options):
    torch.manual_seed(0)
    cfg = DCGANConfig(image_size=28, nz=8, ngf=4, ndf=4)
    G, D = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    data = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    config = TrainConfig(steps=steps, z_shape=(8, 1, 1), batch_size=8, **options)
    h = train_gan(G, D, tensor_sampler(data), config, "cpu", progress=False)
    return G, D, h


def test_speed_option_validation():
    with pytest.raises(ValueError, match="autocast"):
        TrainConfig(steps=1, autocast="fp8")


def test_channels_last_changes_layout_not_results():
    """NHWC is a memory layout: the run equals the NCHW run up to floating-point summation order."""
    G1, D1, h1 = _dcgan_run()
    G2, D2, h2 = _dcgan_run(channels_last=True)
    w = G2.net[0].weight
    assert w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
    np.testing.assert_allclose(h1.d_loss, h2.d_loss, rtol=1e-4)
    np.testing.assert_allclose(h1.g_loss, h2.g_loss, rtol=1e-4)
    for (k, a), b in zip(G1.state_dict().items(), G2.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=k)


def test_bf16_autocast_runs_close_to_float32():
    """bfloat16 keeps 8 mantissa bits (relative rounding 2**-9 = 0.002): losses agree to a few percent."""
    _, _, h1 = _dcgan_run()
    G, _, h2 = _dcgan_run(autocast="bf16")
    assert all(p.dtype == torch.float32 for p in G.parameters())  # the weights stay float32
    np.testing.assert_allclose(h1.d_loss, h2.d_loss, rtol=0.05)
    np.testing.assert_allclose(h1.g_loss, h2.g_loss, rtol=0.05)


def test_fused_adam_is_ignored_off_cuda_and_foreach_is_bit_identical_to_the_loop():
    _, _, h1 = _dcgan_run()
    _, _, h2 = _dcgan_run(fused_adam=True)  # on the CPU: the same foreach Adam
    assert h1.as_dict() == h2.as_dict()

    G, D = make_models(0)
    opt_g, _ = _make_optimizers(G, D, TrainConfig(steps=1, fused_adam=True), torch.device("cpu"))
    assert opt_g.defaults["foreach"] is True and not opt_g.defaults.get("fused")


def test_the_discriminator_is_trainable_again_after_each_generator_step():
    flags = []
    run(steps=3, callbacks=[lambda s: flags.append(all(p.requires_grad for p in s.D.parameters()))])
    assert flags == [True, True, True]


def test_resume_accepts_other_speed_options_and_old_checkpoints(tmp_path):
    run(steps=4, checkpoint_path=tmp_path / "run", checkpoint_every=2)
    # a checkpoint written before the speed options existed: drop them from its JSON
    meta = json.loads((tmp_path / "run.json").read_text())
    for key in ("channels_last", "autocast", "fused_adam", "compile"):
        meta["config"].pop(key)
    (tmp_path / "run.json").write_text(json.dumps(meta))
    G1, _, h1 = run(steps=6, checkpoint_path=tmp_path / "run", checkpoint_every=2, resume=True, fused_adam=True)
    G2, _, h2 = run(steps=6)
    assert h1.as_dict() == h2.as_dict()
    assert_same_weights(G1, G2)


def test_tensor_sampler_draws_indices_on_the_generators_device():
    data = torch.arange(10.0).unsqueeze(1)
    a = tensor_sampler(data)(50, torch.Generator().manual_seed(0))
    idx = torch.randint(10, (50,), generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, data[idx])  # the same stream as before: indices from the given generator


# --------------------------------------------------------------------------- the step inside the harness
def test_gan_step_called_by_hand_equals_train_gan():
    """gan_utils.step.gan_step with plain modules, Adam and the documented random stream is train_gan."""
    G, D, h = run(steps=3, k=2, loss="saturating")
    G2, D2 = make_models(0)
    opt_g = torch.optim.Adam(G2.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D2.parameters(), lr=1e-3, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(0)
    out = [gan_step(G2, D2, opt_g, opt_d, lambda n: target_sampler(n, rng),
                    lambda n: torch.randn(n, 1, generator=rng), 32, 2, losses.d_loss, losses.g_loss_saturating)
           for _ in range(3)]
    assert_same_weights(G, G2)
    assert_same_weights(D, D2)
    assert h.d_loss == [o.d_loss.item() for o in out] and h.g_loss == [o.g_loss.item() for o in out]


def test_d_for_g_sets_the_discriminator_the_generator_sees():
    """A constant discriminator for G's step gives G no gradient (Adam then moves nothing); D still trains."""
    G0, D0 = make_models(0)
    seen = []

    def constant(state):
        seen.append(state.step)
        return lambda x: torch.zeros(len(x), 1) + 0.0 * x.sum()

    config = TrainConfig(steps=3, batch_size=32, lr_g=1e-3, lr_d=1e-3)
    G, D = make_models(0)
    h = train_gan(G, D, target_sampler, config, "cpu", progress=False, d_for_g=constant)
    assert seen == [0, 1, 2]  # called once per generator step, before it completes
    assert_same_weights(G, G0)
    assert not all(torch.equal(a, b) for a, b in zip(D.parameters(), D0.parameters()))
    assert h.g_loss == [pytest.approx(math.log(2), abs=1e-7)] * 3 and h.grad_norm_g == [0.0] * 3
