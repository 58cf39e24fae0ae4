#!/usr/bin/env python
"""Train the DCGAN generator shipped as ``gan_utils/assets/dcgan-mnist`` (book chapter 7).

The shipped file was made by this exact command, from the repository root, with the defaults:

    GAN_BOOK_DATA=/path/to/data python scripts/train_dcgan.py

Defaults: 28x28 MNIST (all 60 000 training images, scaled to [-1, 1]), ngf = ndf = 64 with one
extra 3x3 stride-1 conv block at 7x7 in G and in D (``DCGANConfig.g_extra_layers`` /
``d_extra_layers``, book section 7.3), nz = 100, batch 64, 50 000 generator steps, Adam lr 2e-4 with
betas (0.5, 0.999), both learning rates decaying linearly to 0 over the last 10 000 steps, the
non-saturating generator loss, seed 0, two CPU threads (about 100 minutes on a 2-core machine). G
and D are shipped (D lets a reader go on training); the file's JSON holds their DCGANConfig and the
TrainConfig, so ``gan_utils.checkpoints.load_checkpoint`` rebuilds both from the file alone.
Bit-identical reproduction needs the same device, thread count and PyTorch version; on other set-ups
the result is a different, equally trained generator.

Scale path: the same script runs data-parallel under torchrun (DistributedDataParallel; gloo on the
CPU, nccl with one GPU per process), e.g. ``torchrun --nproc_per_node 4 scripts/train_dcgan.py
--device cuda --out runs/dcgan4``. Each process draws its own batches of ``--batch-size`` (seed +
rank), so the effective batch is batch size x processes; only rank 0 writes files and prints.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from gan_utils import distributed as du
from gan_utils.checkpoints import save_checkpoint
from gan_utils.data import load_mnist
from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from gan_utils.models import count_parameters
from gan_utils.runtime import seed_everything
from gan_utils.train import TrainConfig, tensor_sampler, train_gan

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "gan_utils" / "assets" / "dcgan-mnist"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=50_000, help="generator steps (default 50000)")
    p.add_argument("--lr-decay-steps", type=int, default=10_000,
                   help="decay both learning rates linearly to 0 over the last this many steps, at most --steps "
                        "(default 10000; 0: constant)")
    p.add_argument("--batch-size", type=int, default=64, help="m, images per batch (default 64)")
    p.add_argument("--ngf", type=int, default=64, help="generator width (default 64)")
    p.add_argument("--ndf", type=int, default=64, help="discriminator width (default 64)")
    p.add_argument("--g-extra-layers", type=int, default=1, help="extra 3x3 conv blocks in G at 7x7 (default 1)")
    p.add_argument("--d-extra-layers", type=int, default=1, help="extra 3x3 conv blocks in D at 7x7 (default 1)")
    p.add_argument("--nz", type=int, default=100, help="noise dimension (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="torch device (default cpu, which made the shipped file)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output stem: writes OUT.safetensors and OUT.json")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="optional full training checkpoint (G, D, optimizers) to save every 500 steps and resume from")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> str:
    args = parse_args(argv)
    if args.steps < 1 or args.batch_size < 1:
        raise SystemExit("--steps and --batch-size must be positive")
    if args.lr_decay_steps < 0:
        raise SystemExit("--lr-decay-steps must be >= 0")
    decay_steps = min(args.lr_decay_steps, args.steps)
    torch.set_num_threads(args.threads)
    device = du.init_from_env(device=args.device).device  # torchrun: joins the process group; else no-op
    seed_everything(args.seed)
    model_cfg = DCGANConfig(image_size=28, nz=args.nz, ngf=args.ngf, ndf=args.ndf,
                            g_extra_layers=args.g_extra_layers, d_extra_layers=args.d_extra_layers)
    G, D = DCGANGenerator(model_cfg), DCGANDiscriminator(model_cfg)
    train_cfg = TrainConfig(steps=args.steps, z_shape=(args.nz, 1, 1), batch_size=args.batch_size,
                            lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), seed=args.seed,
                            lr_decay_from=args.steps - decay_steps if decay_steps else None)
    images = load_mnist(train=True, device=device).images  # (60000, 1, 28, 28) in [-1, 1]
    if du.is_main_process():
        print(f"G: {count_parameters(G)} parameters, D: {count_parameters(D)}; {train_cfg}", flush=True)

    start = time.perf_counter()
    history = train_gan(G, D, tensor_sampler(images), train_cfg, device,
                        checkpoint_path=args.checkpoint, checkpoint_every=500 if args.checkpoint else 0,
                        resume=args.checkpoint is not None)
    seconds = time.perf_counter() - start
    tail = slice(-100, None)  # the last 100 steps, for the record
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "checkpoint")}
    extra = {  # deterministic: no wall-clock time, no paths, so a rerun writes the same JSON
        "script": "scripts/train_dcgan.py", "args": settings,
        "data": "MNIST train (60000 images), x / 127.5 - 1", "torch": torch.__version__,
        "last100_d_real": sum(history.d_real[tail]) / len(history.d_real[tail]),
        "last100_d_fake": sum(history.d_fake[tail]) / len(history.d_fake[tail]),
    }
    if not du.is_main_process():  # under torchrun all ranks now hold the same G and D; rank 0 saves
        du.cleanup()
        return ""
    G.eval(), D.eval()
    sha = save_checkpoint(args.out, models={"G": G, "D": D}, config=train_cfg, step=args.steps, extra=extra)
    size = Path(args.out).with_suffix(".safetensors").stat().st_size
    print(f"saved {args.out}.safetensors ({size / 1e6:.2f} MB) sha256 {sha}; trained {seconds:.0f} s", flush=True)
    du.cleanup()
    return sha


if __name__ == "__main__":
    main()
