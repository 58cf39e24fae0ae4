#!/usr/bin/env python
"""Train the Stacked MNIST generators shipped as ``gan_utils/assets/stacked-{dcgan,pacdcgan2}`` (book chapter 6).

Both models are trained at equal budget (same G, steps, batch, learning rates, seed) on Stacked MNIST
(:mod:`gan_utils.dynamics.stacked_mnist`: three independent MNIST training digits as the 3 channels):

* ``dcgan``: DCGANGenerator / DCGANDiscriminator with nc = 3;
* ``pacdcgan2``: the same G; D = PackedDiscriminator(DCGANDiscriminator(nc = 6), 2) (Lin et al. 2018).

Defaults (the shipped runs): ngf = ndf = 32, nz = 100, batch 64, Adam lr 2e-4, betas (0.5, 0.999),
non-saturating loss, 32,000 steps with both learning rates decaying linearly to 0 over the last 10,000,
seed 0, one CPU thread. Every ``--eval-every`` steps (4,000) the mean per-channel classifier confidence
of 1000 samples is printed and logged. Only G is shipped; the JSON's extra records the command, commit,
device, torch version, threads, wall time, steps, the confidence log and the final confidence (of 2000
samples).
This is a small CPU budget, far below the papers' (they train a larger DCGAN for many epochs).

    GAN_BOOK_DATA=/path/to/data python scripts/train_stacked_mnist.py --model dcgan
    GAN_BOOK_DATA=/path/to/data python scripts/train_stacked_mnist.py --model pacdcgan2
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from gan_utils import pretrained
from gan_utils.checkpoints import save_checkpoint
from gan_utils.data import load_mnist
from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from gan_utils.dynamics.pacgan import PackedDiscriminator
from gan_utils.dynamics.stacked_mnist import channel_confidence, stacked_sampler
from gan_utils.runtime import seed_everything
from gan_utils.train import TrainConfig, every, sample_noise, train_gan

ASSETS = Path(__file__).resolve().parents[1] / "gan_utils" / "assets"
MODELS = ("dcgan", "pacdcgan2")


def build(model: str, ngf: int, ndf: int, nz: int,
          extra: int = 1) -> tuple[DCGANGenerator, torch.nn.Module, DCGANConfig]:
    """G and D of one of MODELS; G is the same for both (nc = 3); PacDCGAN2's D body takes nc = 6."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    cfg = DCGANConfig(image_size=28, nz=nz, ngf=ngf, ndf=ndf, nc=3, g_extra_layers=extra, d_extra_layers=extra)
    G = DCGANGenerator(cfg)
    if model == "dcgan":
        return G, DCGANDiscriminator(cfg), cfg
    return G, PackedDiscriminator(DCGANDiscriminator(replace(cfg, nc=6)), 2), cfg


@torch.no_grad()
def sample_confidence(G: torch.nn.Module, classifier, n: int, nz: int, seed: int) -> float:
    was = G.training
    G.eval()
    x = G(sample_noise(n, (nz, 1, 1), "cpu", torch.Generator().manual_seed(seed)))
    G.train(was)
    return channel_confidence(classifier, x)


def train(model: str, steps: int, batch_size: int = 64, ngf: int = 32, ndf: int = 32, nz: int = 100,
          seed: int = 0, eval_every: int = 500, device: str = "cpu", log=print, extra: int = 1,
          lr_decay_steps: int = 0, snapshot: Path | None = None, curve: list | None = None):
    """Train one model; returns (G, G's DCGANConfig, TrainConfig, final confidence, seconds).

    ``curve``, when given, receives ``[step, confidence]`` at every evaluation (1000 samples, 3 decimals)."""
    seed_everything(seed)
    G, D, cfg = build(model, ngf, ndf, nz, extra)
    decay = min(lr_decay_steps, steps)
    train_cfg = TrainConfig(steps=steps, z_shape=(nz, 1, 1), batch_size=batch_size, seed=seed,
                            lr_decay_from=steps - decay if decay else None)
    images = load_mnist(train=True, device=device).images
    classifier = pretrained.load("mnist-classifier")
    start = time.perf_counter()

    def report(state) -> None:
        conf = sample_confidence(state.G, classifier, 1000, nz, seed + 1)
        log(f"{model} step {state.step} confidence {conf:.3f} elapsed {time.perf_counter() - start:.0f} s")
        if curve is not None:
            curve.append([state.step, round(conf, 3)])
        if snapshot is not None:  # an interim G, to inspect while the run goes on
            save_checkpoint(f"{snapshot}-{state.step}", models={"G": state.G}, config=train_cfg, step=state.step)

    train_gan(G, D, stacked_sampler(images), train_cfg, device, progress=False,
              callbacks=[every(eval_every, report)] if eval_every else ())
    G.eval()
    return G, cfg, train_cfg, sample_confidence(G, classifier, 2000, nz, seed + 2), time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--steps", type=int, default=32000)
    p.add_argument("--lr-decay-steps", type=int, default=10000,
                   help="decay both learning rates linearly to 0 over the last this many steps (0: constant)")
    p.add_argument("--extra-layers", type=int, default=1, help="extra 3x3 blocks at 7x7 in G and in D (default 1)")
    p.add_argument("--snapshot", type=Path, default=None, help="save G to SNAPSHOT-STEP at every evaluation")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--ngf", type=int, default=32)
    p.add_argument("--ndf", type=int, default=32)
    p.add_argument("--nz", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eval-every", type=int, default=4000)
    p.add_argument("--out", type=Path, default=None, help="output stem (default gan_utils/assets/stacked-MODEL)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    curve: list = []
    G, cfg, train_cfg, conf, seconds = train(args.model, args.steps, args.batch_size, args.ngf, args.ndf,
                                             args.nz, args.seed, args.eval_every, log=lambda s: print(s, flush=True),
                                             extra=args.extra_layers, lr_decay_steps=args.lr_decay_steps,
                                             snapshot=args.snapshot, curve=curve)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        commit = ""
    extra = {"script": "scripts/train_stacked_mnist.py", "command": " ".join(["python"] + sys.argv),
             "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "snapshot"},
             "git_commit": commit, "device": "cpu", "torch": torch.__version__, "threads": args.threads,
             "wall_seconds": round(seconds, 1), "steps": args.steps, "final_confidence": round(conf, 4),
             "confidence_log": curve,
             "data": "Stacked MNIST from MNIST train (60000 images), x / 127.5 - 1"}
    out = args.out or ASSETS / f"stacked-{args.model}"
    sha = save_checkpoint(out, models={"G": G}, config=train_cfg, step=args.steps, extra=extra)
    print(f"saved {out} sha256 {sha}; confidence {conf:.3f}; {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
