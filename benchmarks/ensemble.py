"""Many seeds at once against one seed at a time: the cost per run-step of small 2-D GANs.

Trains S seeds of one small MLP GAN (a 3 x 128 ReLU generator, a 2 x 128 ReLU discriminator on 2-D data,
batch 64, Adam) for a number of generator steps in three ways, interleaved in one process so that a
busy machine slows them alike:

* ``batched``: one :class:`gan_utils.ensemble.EnsembleMLP` pair of S members with
  :func:`gan_utils.ensemble.train_ensemble` (what chapter 6 uses);
* ``harness``: S separate runs with :func:`gan_utils.train.train_gan`, the book's harness for one run;
* ``plain``: S separate runs of :func:`gan_utils.step.gan_step` in a bare loop (no history, no
  gradient norms): how much of the gain is the harness's own bookkeeping.

Reports milliseconds per run-step (one generator step of one seed, with its discriminator step) as the
median over ``--repeats`` rounds, and the ratios harness/batched and plain/batched.

    .venv/bin/python benchmarks/ensemble.py                       # 10 seeds, width 128, 2 threads
    .venv/bin/python benchmarks/ensemble.py --seeds 10 --width 64 --json results/ensemble.json
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from gan_utils.ensemble import EnsembleMLP, EnsembleMLPConfig, train_ensemble
from gan_utils.losses import d_loss, g_loss_nonsaturating
from gan_utils.models import mlp_discriminator, mlp_generator
from gan_utils.step import gan_step
from gan_utils.train import TrainConfig, train_gan


def sample_real(n: int, g: torch.Generator) -> torch.Tensor:
    return torch.randn(n, 2, generator=g) * 0.1 + 1.0


def run_batched(seeds: int, width: int, cfg: TrainConfig) -> float:
    G = EnsembleMLP(EnsembleMLPConfig(2, 2, (width,) * 3, "relu"), range(seeds))
    D = EnsembleMLP(EnsembleMLPConfig(2, 1, (width,) * 2, "relu"), range(seeds))
    t0 = time.perf_counter()
    train_ensemble(G, D, sample_real, cfg, "cpu", progress=False)
    return time.perf_counter() - t0


def plain_pair(seed: int, width: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    """One seed's G and D as ordinary (unbatched) MLPs of the same widths."""
    torch.manual_seed(seed)
    return mlp_generator(2, 2, (width,) * 3, "relu"), mlp_discriminator(2, (width,) * 2, "relu")


def run_harness(seeds: int, width: int, cfg: TrainConfig) -> float:
    t0 = time.perf_counter()
    for s in range(seeds):
        G, D = plain_pair(s, width)
        train_gan(G, D, sample_real, TrainConfig(**{**cfg.__dict__, "seed": s}), "cpu", progress=False)
    return time.perf_counter() - t0


def run_plain(seeds: int, width: int, cfg: TrainConfig) -> float:
    t0 = time.perf_counter()
    for s in range(seeds):
        G, D = plain_pair(s, width)
        opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas, foreach=True)
        opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas, foreach=True)
        g = torch.Generator().manual_seed(s)
        for _ in range(cfg.steps):
            gan_step(G, D, opt_g, opt_d, lambda n: sample_real(n, g), lambda n: torch.randn(n, 2, generator=g),
                     cfg.batch_size, 1, d_loss, g_loss_nonsaturating)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if min(args.seeds, args.width, args.steps, args.batch, args.threads, args.repeats) < 1:
        raise SystemExit("every option must be >= 1")
    torch.set_num_threads(args.threads)
    cfg = TrainConfig(steps=args.steps, z_shape=(2,), batch_size=args.batch, lr_g=1e-3, lr_d=1e-3)
    warm = TrainConfig(**{**cfg.__dict__, "steps": 5})
    for fn in (run_batched, run_harness, run_plain):  # first calls pay one-off costs
        fn(2, args.width, warm)
    times: dict[str, list[float]] = {"batched": [], "harness": [], "plain": []}
    for _ in range(args.repeats):  # interleaved rounds
        times["batched"].append(run_batched(args.seeds, args.width, cfg))
        times["harness"].append(run_harness(args.seeds, args.width, cfg))
        times["plain"].append(run_plain(args.seeds, args.width, cfg))
    run_steps = args.seeds * args.steps
    ms = {k: 1000 * statistics.median(v) / run_steps for k, v in times.items()}
    result = {"seeds": args.seeds, "width": args.width, "steps": args.steps, "batch": args.batch,
              "threads": args.threads, "repeats": args.repeats, "torch": torch.__version__,
              "cpu": platform.processor() or platform.machine(),
              "ms_per_run_step": ms,
              "speedup_vs_harness": ms["harness"] / ms["batched"], "speedup_vs_plain": ms["plain"] / ms["batched"]}
    print(f"{args.seeds} seeds x {args.steps} steps, G 3x{args.width}, D 2x{args.width}, batch {args.batch}, "
          f"{args.threads} thread(s); ms per run-step (median of {args.repeats}):")
    for k, v in ms.items():
        print(f"  {k:<8} {v:7.3f}")
    print(f"speed-up of the batched ensemble: {result['speedup_vs_harness']:.1f}x against train_gan one seed "
          "at a time, "
          f"{result['speedup_vs_plain']:.1f}x against a bare gan_step loop")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
