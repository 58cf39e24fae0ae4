"""Tests for gan_utils.distributed and the DDP path of train_gan: two CPU processes under torchrun (gloo)."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_utils import distributed as du
from gan_utils.checkpoints import load_checkpoint
from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from gan_utils.models import mlp_discriminator, mlp_generator
from gan_utils.train import TrainConfig, train_gan

ROOT = Path(__file__).resolve().parents[1]

# One rank of a tiny DCGAN run. Each rank initialises its models from a *different* seed on purpose:
# equal weights at the end then show that DDP copied rank 0's initial weights to rank 1.
CHILD = r'''
import hashlib, json, sys
from pathlib import Path
import torch
from gan_utils import distributed as du
from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from gan_utils.train import TrainConfig, tensor_sampler, train_gan

def digest(tensors):
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()

out = Path(sys.argv[1])
info = du.init_from_env(device="cpu")                 # two CPU ranks (gloo), also on a machine with one GPU
torch.manual_seed(100 + info.rank)                     # different initial weights on each rank
cfg = DCGANConfig(image_size=28, nz=8, ngf=4, ndf=4)
G, D = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
init_g = digest(G.parameters())
data = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1  # same data on every rank
history = train_gan(G, D, tensor_sampler(data), TrainConfig(steps=4, z_shape=(8, 1, 1), batch_size=8, seed=3),
                    info.device, checkpoint_path=out / "ckpt" / "run", checkpoint_every=2, progress=False)
(out / f"rank{info.rank}.json").write_text(json.dumps({
    "rank": info.rank, "world_size": info.world_size, "init_g": init_g,
    "params": digest(list(G.parameters()) + list(D.parameters())),
    "buffers": digest(list(G.buffers()) + list(D.buffers())),
    "d_loss": history.d_loss,
}))
du.cleanup()
'''


def _digest(tensors):
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.mark.slow
def test_two_ranks_under_torchrun_end_with_identical_trained_weights(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
           str(script), str(tmp_path)]
    child = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert child.returncode == 0, child.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert (r0["rank"], r1["rank"], r0["world_size"]) == (0, 1, 2)
    assert r0["init_g"] != r1["init_g"]  # the ranks really started from different weights
    assert r0["params"] == r1["params"]  # DDP: rank 0's weights broadcast, then averaged gradients
    assert r0["buffers"] == r1["buffers"]  # BatchNorm statistics made equal at the end

    # training happened: the final weights differ from rank 0's initial ones (the ones DDP kept)
    torch.manual_seed(100)
    cfg = DCGANConfig(image_size=28, nz=8, ngf=4, ndf=4)
    G0, D0 = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    assert _digest(G0.parameters()) == r0["init_g"]
    assert r0["params"] != _digest(list(G0.parameters()) + list(D0.parameters()))

    # each rank drew its own batches and noise (seed + rank), so the local losses differ
    assert len(r0["d_loss"]) == len(r1["d_loss"]) == 4
    assert r0["d_loss"] != r1["d_loss"]

    # one checkpoint, written by rank 0, holding both ranks' random states; its weights are the final ones
    ckpt = load_checkpoint(tmp_path / "ckpt" / "run")
    assert ckpt.step == 4
    assert {"rng_state", "rng_state_rank1"} <= set(ckpt.tensors)
    assert not torch.equal(ckpt.tensors["rng_state"], ckpt.tensors["rng_state_rank1"])
    G1, D1 = ckpt.models["G"], ckpt.models["D"]
    assert _digest(list(G1.parameters()) + list(D1.parameters())) == r0["params"]


def test_without_torchrun_everything_is_a_no_op(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    info = du.init_from_env(device="cpu")
    assert (info.rank, info.world_size, info.local_rank, info.is_main) == (0, 1, 0, True)
    assert not du.is_distributed()
    assert du.get_rank() == 0 and du.get_world_size() == 1 and du.is_main_process()
    assert du.gather_objects({"a": 1}) == [{"a": 1}]
    du.barrier()
    du.cleanup()


def test_bad_torchrun_environment_is_reported(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(ValueError, match="RANK=5"):
        du.init_from_env(device="cpu")
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ValueError, match="not an integer"):
        du.init_from_env(device="cpu")


def test_distributed_true_without_a_process_group_is_an_error():
    G, D = mlp_generator(1, 1, (4,)), mlp_discriminator(1, (4,))
    with pytest.raises(ValueError, match="process group"):
        train_gan(G, D, lambda n, g: torch.randn(n, 1, generator=g), TrainConfig(steps=1, batch_size=4), "cpu",
                  progress=False, distributed=True)
