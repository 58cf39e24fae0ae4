#!/usr/bin/env python
"""The GPU check: the book's notebooks at paper scale and the training throughput, on one CUDA device.

    make gpu-check                      # = python scripts/gpu_check.py (CUDA required)
    python scripts/gpu_check.py --allow-cpu --profile smoke --notebooks ch01_explicit_implicit_density \\
        --throughput tiny --out /tmp/check.json       # the CPU dry run the tests use

What it does, in order:

1. Runs the notebooks in the ``full`` profile (``--profile``), most important first (:data:`ORDER`: the
   experiments whose phenomena need scale before the ones that are exact at any size), cell by cell in
   one kernel each, within a time budget (``--budget-s``, default 480 s, so that the whole check fits
   about 9 minutes on an H200-class GPU). A notebook is started only when at least ``--min-start-s``
   remain; each cell runs with the time that is left as its timeout. Every notebook prints what its
   profile will cost on this device (``gan_utils.runtime.CostEstimate``) before its first long cell;
   this script reads that estimate (through ``$GAN_BOOK_COST_FILE``) and stops the notebook there when
   it would overrun the budget, recording ``skipped: estimate``. So the check never spends its budget
   on a run it cannot finish, and says what each skipped notebook would need.
2. Runs ``benchmarks/throughput.py`` on the same device (``--throughput``: ``cuda`` = 64x64, 200
   timed steps with the ladder of variants; ``tiny`` = a few synthetic steps, for the dry run;
   ``none`` = skip), bounded by ``--throughput-timeout-s``.
3. Writes one JSON (``--out``, default ``results/gpu-check.json``): the device (GPU name, memory,
   CUDA/torch versions, CPU, Python), the profile and budget, per notebook its status (``ok``,
   ``error``, ``timeout``, ``skipped: budget``, ``skipped: estimate``), wall seconds, its printed cost
   estimate, and every value it glued for the pages (numbers, strings and tables as text; figures as
   ``<figure>``), then the throughput report.

The README and the preface quote the times of the last run on a GPU.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
from gan_utils.runtime import COST_FILE_ENV, PROFILE_ENV, PROFILES  # noqa: E402

#: Most important first: where the paper-scale runs change what the reader sees.
ORDER = (
    "ch06_mode_collapse", "ch07_dcgan", "ch09_gan_inversion", "ch06_mode_collapse_mnist",
    "ch05_saturation_nonsaturating", "ch08_latent_space", "ch10_gan_dissection", "ch02_minimax_game",
    "ch03_optimal_discriminator", "ch04_global_optimum_jsd", "ch01_explicit_implicit_density", "errata",
)
THROUGHPUT_ARGS = {
    "cuda": ["--device", "cuda", "--image-size", "64", "--steps", "200", "--warmup", "20", "--ladder"],
    "tiny": ["--device", "cpu", "--image-size", "28", "--steps", "2", "--warmup", "1", "--data", "synthetic",
             "--images", "256", "--batch", "16", "--ngf", "8", "--ndf", "8"],
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="full", choices=PROFILES)
    p.add_argument("--budget-s", type=float, default=480.0, help="seconds for all notebooks together")
    p.add_argument("--min-start-s", type=float, default=20.0, help="start a notebook only with this much left")
    p.add_argument("--notebooks", nargs="*", default=None,
                   help="names (without .ipynb) or paths; default: every notebook, in the order of ORDER")
    p.add_argument("--throughput", default="cuda", choices=["cuda", "tiny", "none"])
    p.add_argument("--throughput-timeout-s", type=float, default=120.0)
    p.add_argument("--allow-cpu", action="store_true", help="run without CUDA (the dry run of the tests)")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "gpu-check.json")
    return p.parse_args(argv)


def describe_device(use_cuda: bool) -> dict:
    info = {"type": "cuda" if use_cuda else "cpu", "torch": torch.__version__, "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    if use_cuda:
        props = torch.cuda.get_device_properties(0)
        info.update(name=props.name, memory_gib=round(props.total_memory / 2**30, 1), cuda=torch.version.cuda)
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        info["commit"] = commit.stdout.strip() or None
    except OSError:
        info["commit"] = None
    return info


def notebook_paths(names: list[str] | None) -> list[Path]:
    available = {p.stem: p for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
    if names is None:
        ordered = [available[n] for n in ORDER if n in available]
        return ordered + [p for n, p in available.items() if n not in ORDER]
    paths = []
    for name in names:
        path = Path(name) if name.endswith(".ipynb") else available.get(name)
        if path is None or not path.is_file():
            raise SystemExit(f"no notebook {name!r}; choose from: {', '.join(available)}")
        paths.append(path)
    return paths


def glued_values(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Every glued key of an executed notebook with its text (figures as ``<figure>``)."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            data = {k.split("/", 2)[-1] if k.startswith("application/papermill.record/") else k: v
                    for k, v in out.get("data", {}).items()}
            values[meta["name"]] = "<figure>" if "image/png" in data else str(data.get("text/plain", ""))
    return values


def read_estimates(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_notebook(path: Path, profile: str, deadline: float, min_start_s: float) -> dict:
    """Execute one notebook cell by cell until it ends, fails, or would overrun ``deadline``."""
    record: dict = {"notebook": path.stem, "status": None, "wall_s": 0.0, "estimate_s": None, "glue": {}}
    if deadline - time.monotonic() < min_start_s:
        record["status"] = "skipped: budget"
        return record
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        cost_file = Path(tmp) / "cost.jsonl"
        env_before = {k: os.environ.get(k) for k in (PROFILE_ENV, COST_FILE_ENV)}
        os.environ[PROFILE_ENV], os.environ[COST_FILE_ENV] = profile, str(cost_file)
        client = NotebookClient(nb, timeout=max(1, int(deadline - time.monotonic())), kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.monotonic()
        try:
            with client.setup_kernel():
                for index, cell in enumerate(nb.cells):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise CellTimeoutError("budget spent")
                    client.timeout = max(1, int(left))
                    client.execute_cell(cell, index)
                    estimates = read_estimates(cost_file)
                    if estimates and record["estimate_s"] is None:
                        record["estimate_s"] = round(sum(e["total_s"] for e in estimates), 1)
                        if record["estimate_s"] > deadline - time.monotonic():
                            record["status"] = "skipped: estimate"
                            break
            record["status"] = record["status"] or "ok"
        except CellTimeoutError:
            record["status"] = "timeout"
        except CellExecutionError as exc:
            record["status"] = "error"
            record["error"] = str(exc).strip().splitlines()[-1][:500]
        finally:
            for key, value in env_before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        record["wall_s"] = round(time.monotonic() - start, 1)
    record["glue"] = glued_values(nb)
    return record


def run_throughput(kind: str, timeout_s: float) -> dict | None:
    if kind == "none":
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "throughput.json"
        cmd = [sys.executable, str(ROOT / "benchmarks" / "throughput.py"), *THROUGHPUT_ARGS[kind], "--json", str(out)]
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "wall_s": round(time.monotonic() - start, 1), "args": THROUGHPUT_ARGS[kind]}
        result = {"status": "ok" if proc.returncode == 0 else "error", "wall_s": round(time.monotonic() - start, 1),
                  "args": THROUGHPUT_ARGS[kind]}
        if proc.returncode != 0:
            result["error"] = proc.stderr.strip()[-800:]
        elif out.exists():
            report = json.loads(out.read_text())
            result["images_per_s"] = {name: round(r["images_per_s"], 1) for name, r in report["results"].items()}
            result["ratio_to_baseline"] = {name: round(r["ratio_to_baseline"], 2)
                                           for name, r in report["results"].items()}
        return result


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    use_cuda = torch.cuda.is_available()
    if not use_cuda and not args.allow_cpu:
        raise SystemExit("gpu-check needs a CUDA GPU (torch.cuda.is_available() is False); "
                         "--allow-cpu runs the dry run on the CPU")
    paths = notebook_paths(args.notebooks)
    report = {"device": describe_device(use_cuda), "profile": args.profile, "budget_s": args.budget_s,
              "notebooks": [], "throughput": None}
    start = time.monotonic()
    deadline = start + args.budget_s
    for path in paths:
        print(f"[gpu-check] {path.stem} ({args.profile}), {max(0, deadline - time.monotonic()):.0f} s left", flush=True)
        record = run_notebook(path, args.profile, deadline, args.min_start_s)
        print(f"[gpu-check]   {record['status']} in {record['wall_s']} s (estimate {record['estimate_s']} s)",
              flush=True)
        report["notebooks"].append(record)
    report["notebooks_s"] = round(time.monotonic() - start, 1)
    report["throughput"] = run_throughput(args.throughput, args.throughput_timeout_s)
    report["total_s"] = round(time.monotonic() - start, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"[gpu-check] wrote {args.out}: {sum(r['status'] == 'ok' for r in report['notebooks'])} of "
          f"{len(report['notebooks'])} notebooks ran in {report['notebooks_s']} s; total {report['total_s']} s")
    return report


if __name__ == "__main__":
    main()
