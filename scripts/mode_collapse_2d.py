"""Train every method of chapter 6 on the ring and the grid under one protocol, and write the per-seed scores.

This makes the reference run that the chapter shows beside its own build's run and the published rows
(``gan_utils/assets/mode-collapse-2d-reference.json``, read by
:func:`gan_utils.dynamics.mode_coverage.load_reference`). The protocols are
:data:`gan_utils.dynamics.mode_coverage.PROTOCOLS`: ``full`` is the released code of Lin et al. (400,000
steps of a 4 x 400 generator: hours per method on a GPU, days on a CPU), ``reference-cpu`` the run these
2-core machines can make in the background (the standard profile's networks, 10 seeds, longer). Each
method's seeds train as one batched model (:mod:`gan_utils.ensemble`).

    python scripts/mode_collapse_2d.py --protocol reference-cpu --threads 1            # background CPU run
    python scripts/mode_collapse_2d.py --protocol full --device cuda                    # the released protocol
    python scripts/mode_collapse_2d.py --protocol smoke --out /tmp/x.json               # a quick check

The JSON records the command, the git commit, the device, PyTorch's version, the wall time, the protocol
and, per benchmark and method, every seed's modes, high-quality share, reverse KL and mode histogram.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from gan_utils.dynamics.mode_coverage import BENCHMARKS, METHODS, PROTOCOLS, REFERENCE_PATH, train_benchmark


def describe_device(device: torch.device) -> str:
    """The device in words: a GPU's name, or the CPU's model and core count."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {model}, {os.cpu_count()} cores"


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=Path(__file__).resolve().parent).stdout.strip()
        return out.stdout.strip() + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", choices=sorted(PROTOCOLS), default="reference-cpu")
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    ap.add_argument("--benchmarks", nargs="+", choices=sorted(BENCHMARKS), default=["ring", "grid"])
    ap.add_argument("--unrolled-steps", type=int, default=None,
                    help="generator steps of the Unrolled GAN (default: the protocol's; each of its steps costs about "
                         "K + 1 discriminator passes with second derivatives)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=REFERENCE_PATH)
    ap.add_argument("--label", default=None, help="what the page calls this run (default: from the protocol)")
    ap.add_argument("--merge", nargs="+", type=Path, default=None,
                    help="instead of training: merge these JSON files of one protocol (e.g. two sets of benchmarks and "
                         "methods run side by side in two processes) into --out; wall_s is the longest")
    args = ap.parse_args(argv)
    if args.merge:
        parts = [json.loads(p.read_text()) for p in args.merge]
        if len({json.dumps(p["protocol"], sort_keys=True) for p in parts}) != 1:
            raise SystemExit("the files to merge were made with different protocols")
        merged = {**parts[0], "results": {}, "wall_s": max(p["wall_s"] for p in parts),
                  "command": " && ".join(p["command"] for p in parts)}
        for p in parts:
            for bname, methods in p["results"].items():
                twice = set(methods) & set(merged["results"].get(bname, {}))
                if twice:
                    raise SystemExit(f"{bname}: {sorted(twice)} appear in more than one file")
                merged["results"].setdefault(bname, {}).update(methods)
        text = json.dumps(merged, indent=1) + "\n"
        args.out.write_text(text)
        print(f"wrote {args.out} (sha256 {hashlib.sha256(text.encode()).hexdigest()})")
        return args.out
    if args.threads < 1:
        raise SystemExit("--threads must be >= 1")
    torch.set_num_threads(args.threads)
    protocol = PROTOCOLS[args.protocol]
    device = torch.device(args.device)
    label = args.label or {"full": "the released protocol", "reference-cpu": "reduced reference run on the CPU"}.get(
        args.protocol, f"protocol {args.protocol}")
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    results: dict[str, dict[str, list[dict]]] = {}
    for bname in args.benchmarks:
        results[bname] = {}
        for method in args.methods:
            proto = protocol.for_benchmark(bname)
            if method.startswith("Unrolled") and args.unrolled_steps:
                proto = dataclasses.replace(proto, steps=args.unrolled_steps)
            run = train_benchmark(method, BENCHMARKS[bname], proto, range(proto.seeds), device, progress=True)
            results[bname][method] = {"steps": proto.steps, "seconds": round(run.seconds, 1), "runs": [
                {"seed": seed, "modes": s.modes_captured, "high_quality": s.high_quality_fraction,
                 "reverse_kl": s.reverse_kl if s.reverse_kl != float("inf") else None, "counts": s.counts.tolist()}
                for seed, s in zip(range(proto.seeds), run.scores)]}
            print(f"{bname} {method}: {run.seconds:.0f} s, modes "
                  f"{[r['modes'] for r in results[bname][method]['runs']]}", flush=True)
    record = {
        "label": label, "protocol_name": args.protocol, "protocol": dataclasses.asdict(protocol),
        "command": "python " + " ".join(shlex.quote(a) for a in
                                        [sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        "commit": git_commit(), "device": describe_device(device), "cpu": platform.processor() or platform.machine(),
        "threads": args.threads, "torch": torch.__version__, "started_utc": started,
        "wall_s": round(time.perf_counter() - t0, 1), "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, indent=1)
    args.out.write_text(text + "\n")
    print(f"wrote {args.out} (sha256 {hashlib.sha256((text + chr(10)).encode()).hexdigest()})")
    return args.out


if __name__ == "__main__":
    main()
