#!/usr/bin/env python
"""Run chapter 7's guideline ablation and ship it as ``gan_utils/assets/guideline-ablation.json``.

Every variant of :data:`gan_utils.images.guideline_ablation.VARIANTS` is trained for every seed of the
protocol (:class:`~gan_utils.images.guideline_ablation.AblationProtocol`, defaults: width 16, batch 64,
2 500 generator steps, seeds 0, 1, 2, scored every 100 steps on 1 000 samples against the first 1 000
MNIST test digits), one CPU thread per run, ``--workers`` runs at a time. The JSON records the protocol,
every run (scored curve, final metrics, D's gap, the losses of the first steps, 16 preview samples) and
the command, git commit, device, torch version, threads and wall time. Pin the printed sha256 in
``gan_utils.images.guideline_ablation.REFERENCE_SHA256``.

    GAN_BOOK_DATA=/path/to/data python scripts/guideline_ablation.py --workers 2
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import torch

from gan_utils import pretrained
from gan_utils.data import load_mnist
from gan_utils.images.guideline_ablation import (
    REFERENCE_PATH,
    VARIANTS,
    AblationProtocol,
    VariantRun,
    run_variant,
    save_reference,
)
from gan_utils.train import tensor_sampler


def _one(job: tuple[str, int, dict]) -> dict:
    variant, seed, proto = job
    torch.set_num_threads(1)
    protocol = AblationProtocol(**proto)
    train = load_mnist(train=True).images
    reference = load_mnist(train=False).images[:protocol.n_eval]
    classifier = pretrained.load("mnist-classifier")
    start = time.perf_counter()
    run = run_variant(variant, seed, protocol, sample_real=tensor_sampler(train), device="cpu",
                      classifier=classifier, reference=reference)
    print(f"{variant} seed {seed}: class KL {run.final('class_kl'):.3f}, Fréchet {run.final('frechet_distance'):.1f}, "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    if seed != protocol.seeds[0]:
        run.preview = None  # the chapter shows the first seed's samples; the others would only fatten the file
    return run.to_json()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=AblationProtocol.width)
    p.add_argument("--steps", type=int, default=AblationProtocol.steps)
    p.add_argument("--seeds", type=int, nargs="+", default=list(AblationProtocol.seeds))
    p.add_argument("--workers", type=int, default=1, help="runs at a time (one CPU thread each)")
    p.add_argument("--out", type=Path, default=REFERENCE_PATH)
    args = p.parse_args(argv)
    if args.workers < 1:
        raise ValueError(f"--workers must be positive, got {args.workers}")
    protocol = AblationProtocol(width=args.width, steps=args.steps, seeds=tuple(args.seeds))
    # the commit the run starts from (the code that makes the file)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = ""
    jobs = [(v, s, asdict(protocol)) for v in VARIANTS for s in protocol.seeds]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        runs = [VariantRun.from_json(r) for r in pool.map(_one, jobs)]
    wall = time.perf_counter() - start
    meta = {"command": "python scripts/guideline_ablation.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "git_commit": commit, "device": f"cpu ({platform.processor() or platform.machine()}, "
                                            f"{os.cpu_count()} cores)",
            "torch": torch.__version__, "threads_per_run": 1, "workers": args.workers, "wall_seconds": round(wall, 1)}
    digest = save_reference(args.out, protocol, runs, meta)
    print(f"wrote {args.out} in {wall:.0f} s; sha256 {digest}")


if __name__ == "__main__":
    main()
