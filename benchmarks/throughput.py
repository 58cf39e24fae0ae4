#!/usr/bin/env python
"""Training throughput (images/s) of the book's DCGAN loop against a plain PyTorch loop.

Both loops train the same DCGAN pair (:class:`gan_utils.dcgan.DCGANConfig`) with the same
algorithm (Algorithm 1 with k = 1: one D step on a real batch and G(z1), then one G step on G(z2)
with fresh noise, Adam lr 2e-4, betas (0.5, 0.999), the non-saturating generator loss), the same
batch size, the same number of steps and the same data. They differ only in engineering:

* ours     -- :func:`gan_utils.train.train_gan`: data indexed on the device, logits +
              ``binary_cross_entropy_with_logits``, foreach Adam, ``zero_grad(set_to_none=True)``,
              D frozen during G's step, plus the options of the command line (defaults: NHWC
              ``--channels-last``; ``--autocast bf16`` on CUDA and on CPUs with native bf16, which
              changes results slightly; ``--fused-adam`` on CUDA; ``--compile`` off).
* baseline -- a loop as a tutorial writes it: ``DataLoader(TensorDataset(x), batch_size, shuffle=True)``
              with the default settings (one process, per-sample indexing and collation, host
              memory; batches copied to the device each step), a Sigmoid at D's output with
              ``nn.BCELoss``, default Adam, ``zero_grad()`` with its default, NCHW memory layout.

images/s = batch * generator steps / seconds (real images consumed per second; each step also
generates 2 * batch images). The timed interval starts after ``--warmup`` untimed steps and ends
after ``--steps`` more (``torch.cuda.synchronize`` before each clock read on CUDA;
``time.perf_counter``). To be fair on a shared machine, the loops are interleaved step by
step (each runs in its own thread but only while it holds the turn: baseline step 1, ours step 1,
baseline step 2, ...; in a new random order every step), all from the same initial weights. Reported:
images/s over the timed steps, its ratio to the baseline, and the median over steps of the ratio
of step times (less sensitive to another process grabbing the CPU during one loop's step).
``--ladder`` adds intermediate variants that switch on one lever at a time, and a second copy of
the baseline whose ratio to the first (ideally 1) shows how much the machine's noise moves a ratio.

Data: MNIST (``--data mnist``, the first ``--images`` training images scaled to [-1, 1]; 32x32 pads
with -1, 64x64 upsamples bilinearly) or uniform noise in [-1, 1] (``--data synthetic``).

    python benchmarks/throughput.py --device cpu --image-size 64 --batch 64 --nz 100 --ngf 64 --ndf 64
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gan_utils.data import DATA_ENV, load_mnist  # noqa: E402
from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator  # noqa: E402
from gan_utils.models import count_parameters  # noqa: E402
from gan_utils.train import TrainConfig, tensor_sampler, train_gan  # noqa: E402

LR, BETAS = 2e-4, (0.5, 0.999)


def make_data(kind: str, n: int, size: int, seed: int = 0) -> torch.Tensor:
    """(n, 1, size, size) float32 images in [-1, 1] on the CPU."""
    if kind == "synthetic":
        return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1

    shared = Path(__file__).resolve().parents[2] / "shared" / "data"  # the project machines' copy
    if not os.environ.get(DATA_ENV) and (shared / "MNIST" / "raw").is_dir():
        os.environ[DATA_ENV] = str(shared)
    x = load_mnist(train=True, device="cpu", limit=n).images  # (n, 1, 28, 28)
    if size == 32:
        x = F.pad(x, (2, 2, 2, 2), value=-1.0)
    elif size != 28:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp_(-1, 1)
    return x.contiguous()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------------------------- lock-step runs
class Turns:
    """Lock-step scheduling: every loop runs in its own thread, but only while it holds the turn, and
    it gives the turn back after each generator step. The loops therefore run one at a time, step by
    step in alternation, so a burst of load from another process hits all of them alike."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.turn: str | None = None
        self.error: BaseException | None = None

    def wait(self, name: str) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.turn == name)

    def done(self) -> None:
        with self.cond:
            self.turn = None
            self.cond.notify_all()

    def fail(self, error: BaseException) -> None:
        with self.cond:
            self.error, self.turn = error, None
            self.cond.notify_all()

    def give(self, name: str) -> None:
        """Let ``name`` run one step; return when it has finished it."""
        with self.cond:
            self.turn = name
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.turn is None)
        if self.error is not None:
            raise RuntimeError(f"loop {name!r} failed") from self.error


@dataclass(frozen=True)
class Plain:
    """The plain loop, and intermediate variants with one lever switched on at a time."""

    dataloader: bool = True  # False: index a tensor on the device (our tensor_sampler)
    freeze_d: bool = False  # True: D's parameters do not require grad during G's step


def run_plain(name: str, turns: Turns, times: list[float], G: nn.Module, D: nn.Module, data: torch.Tensor,
              device: torch.device, batch: int, nz: int, total: int, variant: Plain, seed: int) -> None:
    """``total`` steps of the plain loop, one per turn; appends each step's seconds to ``times``."""
    turns.wait(name)  # the set-up counts into the first (warm-up) step
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    # THE BASELINE, on purpose: a Sigmoid at D's output and nn.BCELoss on probabilities. This is the
    # one place in the project where this (less stable, slower) pattern is allowed; the book's code
    # always uses logits with binary_cross_entropy_with_logits.
    D_prob = nn.Sequential(D, nn.Sigmoid()).to(device)
    G.to(device)
    criterion = nn.BCELoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)  # default implementation
    opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    ones = torch.ones(batch, device=device)
    zeros = torch.zeros(batch, device=device)
    if variant.dataloader:
        loader = DataLoader(TensorDataset(data), batch_size=batch, shuffle=True)  # default settings otherwise

        def batches():
            while True:
                for (x,) in loader:
                    yield x.to(device)
        source = batches()
    else:
        on_device = data.to(device)
        sample = tensor_sampler(on_device)
        rng = torch.Generator(device=device).manual_seed(seed)
        source = iter(lambda: sample(batch, rng), None)

    for i in range(total):
        if i > 0:
            turns.wait(name)
            t0 = time.perf_counter()
        real = next(source)
        fake = G(torch.randn(batch, nz, 1, 1, device=device))
        opt_d.zero_grad()
        loss_d = criterion(D_prob(real), ones) + criterion(D_prob(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        if variant.freeze_d:
            D.requires_grad_(False)
        opt_g.zero_grad()
        loss_g = criterion(D_prob(G(torch.randn(batch, nz, 1, 1, device=device))), ones)  # non-saturating
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
        _sync(device)
        times.append(time.perf_counter() - t0)
        turns.done()


def run_ours(name: str, turns: Turns, times: list[float], G: nn.Module, D: nn.Module, data: torch.Tensor,
             device: torch.device, batch: int, nz: int, total: int, options: dict, seed: int) -> None:
    """``total`` steps of train_gan, one per turn (a callback gives the turn back after each step)."""
    turns.wait(name)
    start = [time.perf_counter()]
    on_device = data.to(device)
    if options.get("channels_last"):
        on_device = on_device.contiguous(memory_format=torch.channels_last)
    config = TrainConfig(steps=total, z_shape=(nz, 1, 1), batch_size=batch, lr_g=LR, lr_d=LR,
                         betas=BETAS, seed=seed, **options)

    def clock(state) -> None:
        _sync(device)
        times.append(time.perf_counter() - start[0])
        turns.done()
        if state.step < total:
            turns.wait(name)
            start[0] = time.perf_counter()

    train_gan(G, D, tensor_sampler(on_device), config, device, callbacks=[clock], progress=False)


def worker(run, name: str, turns: Turns, threads: int, *args) -> None:
    torch.set_num_threads(threads)  # intra-op threads are set per thread in OpenMP builds
    try:
        run(name, turns, *args)
    except BaseException as exc:  # noqa: BLE001 -- handed to the main thread, which re-raises
        turns.fail(exc)


def data_cost(data: torch.Tensor, device: torch.device, batch: int, n: int = 50) -> dict[str, float]:
    """Milliseconds per batch for fetching data alone: the default DataLoader vs indexing a tensor."""
    loader = DataLoader(TensorDataset(data), batch_size=batch, shuffle=True)
    it = iter(loader)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(n):
        try:
            (x,) = next(it)
        except StopIteration:
            it = iter(loader)
            (x,) = next(it)
        x = x.to(device)
    _sync(device)
    t1 = time.perf_counter()
    on_device, rng = data.to(device), torch.Generator(device=device).manual_seed(0)
    sample = tensor_sampler(on_device)
    _sync(device)
    t2 = time.perf_counter()
    for _ in range(n):
        x = sample(batch, rng)
    _sync(device)
    t3 = time.perf_counter()
    return {"dataloader_ms_per_batch": 1e3 * (t1 - t0) / n, "tensor_index_ms_per_batch": 1e3 * (t3 - t2) / n}


# ---------------------------------------------------------------------------------------------- driver
def variants(args: argparse.Namespace) -> dict[str, tuple[str, object]]:
    ours = {"channels_last": args.channels_last, "autocast": args.autocast, "fused_adam": args.fused_adam,
            "compile": args.compile}
    out: dict[str, tuple[str, object]] = {"baseline": ("plain", Plain())}
    if args.ladder:
        out["baseline(again)"] = ("plain", Plain())  # an A/A control: its ratio shows the noise floor
        out["baseline+tensor_data"] = ("plain", Plain(dataloader=False))
        out["baseline+tensor_data+freeze_d"] = ("plain", Plain(dataloader=False, freeze_d=True))
        out["ours(defaults)"] = ("ours", {})
        out["ours+channels_last"] = ("ours", {"channels_last": True})
        out["ours+bf16"] = ("ours", {"autocast": "bf16"})
        out["ours+channels_last+bf16"] = ("ours", {"channels_last": True, "autocast": "bf16"})
    out["ours"] = ("ours", ours)
    return out


def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN reports native bf16 support on this CPU (else bf16 is emulated and slow)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def describe_machine(device: torch.device) -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "device": str(device), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cpu_bf16": cpu_has_fast_bf16()}
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--image-size", type=int, default=64, choices=(28, 32, 64))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--nz", type=int, default=100)
    p.add_argument("--ngf", type=int, default=64)
    p.add_argument("--ndf", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="timed generator steps per loop")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (at least 1: it holds the set-up)")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op CPU threads (default: torch's)")
    p.add_argument("--data", choices=("mnist", "synthetic"), default="mnist")
    p.add_argument("--images", type=int, default=4096, help="how many images the data set holds")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="ours in NHWC layout (default: on; it helped on the CPU we measured)")
    p.add_argument("--autocast", choices=("none", "bf16"), default=None,
                   help="ours in bf16 autocast (default: bf16 on CUDA, and on a CPU whose oneDNN "
                        "supports bf16 (AVX512-BF16/AMX), where it measured faster; else none)")
    p.add_argument("--fused-adam", action=argparse.BooleanOptionalAction, default=None,
                   help="fused Adam (CUDA only; default on for CUDA)")
    p.add_argument("--compile", action="store_true", help="torch.compile G and D in ours (CUDA)")
    p.add_argument("--ladder", action="store_true", help="also time variants with one lever at a time")
    p.add_argument("--json", type=Path, default=None, help="write the results to this JSON file")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if min(args.batch, args.nz, args.ngf, args.ndf, args.steps, args.images, args.warmup) < 1:
        p.error("--batch, --nz, --ngf, --ndf, --steps, --images and --warmup must be positive")
    cuda = torch.device(args.device).type == "cuda"
    if args.channels_last is None:
        args.channels_last = True
    if args.autocast is None:
        args.autocast = "bf16" if cuda or cpu_has_fast_bf16() else "none"
    if args.fused_adam is None:
        args.fused_adam = cuda
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda but CUDA is not available")
    cfg = DCGANConfig(image_size=args.image_size, nz=args.nz, ngf=args.ngf, ndf=args.ndf, nc=1)
    torch.manual_seed(args.seed)
    G0, D0 = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    data = make_data(args.data, args.images, args.image_size, args.seed)
    if args.batch > len(data):
        raise SystemExit(f"--batch {args.batch} exceeds the {len(data)} images")
    table = variants(args)
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"DCGAN {args.image_size}x{args.image_size} nz={args.nz} ngf={args.ngf} ndf={args.ndf} "
          f"(G {count_parameters(G0)} / D {count_parameters(D0)} parameters), batch {args.batch}, "
          f"{args.data} data, device {device}, {torch.get_num_threads()} threads; {args.warmup} warm-up + "
          f"{args.steps} timed steps per loop, loops interleaved step by step", flush=True)
    fetch = data_cost(data, device, args.batch)
    print(f"data alone: DataLoader {fetch['dataloader_ms_per_batch']:.2f} ms/batch, "
          f"tensor indexing {fetch['tensor_index_ms_per_batch']:.3f} ms/batch", flush=True)
    total = args.warmup + args.steps
    turns, threads = Turns(), torch.get_num_threads()
    times: dict[str, list[float]] = {name: [] for name in table}
    workers = []
    for name, (kind, spec) in table.items():
        run = run_plain if kind == "plain" else run_ours
        G, D = copy.deepcopy(G0), copy.deepcopy(D0)  # every loop starts from the same weights
        workers.append(threading.Thread(target=worker, daemon=True, args=(
            run, name, turns, threads, times[name], G, D, data, device, args.batch, args.nz, total, spec, args.seed)))
    for w in workers:
        w.start()
    names, order_rng = list(table), random.Random(args.seed)
    for i in range(total):
        order_rng.shuffle(names)  # a fresh random order every step: no loop always follows the same one
        for name in names:
            turns.give(name)
        if (i + 1) % max(1, total // 5) == 0:
            print(f"  step {i + 1}/{total}", flush=True)
    for w in workers:
        w.join()
    timed = {name: t[args.warmup:] for name, t in times.items()}
    results = {}
    for name in table:
        seconds = sum(timed[name])
        ratios = [b / o for o, b in zip(timed[name], timed["baseline"])]
        results[name] = {"images_per_s": args.batch * args.steps / seconds, "seconds": seconds,
                         "step_seconds": timed[name], "median_step_ratio": statistics.median(ratios)}
    base = results["baseline"]["images_per_s"]
    print(f"{'loop':34s} {'images/s':>10s} {'x baseline':>11s} {'median step ratio':>18s}")
    for name, res in results.items():
        res["ratio_to_baseline"] = res["images_per_s"] / base
        print(f"{name:34s} {res['images_per_s']:10.1f} {res['ratio_to_baseline']:10.2f}x "
              f"{res['median_step_ratio']:17.2f}x")
    print(f"ours / baseline = {results['ours']['ratio_to_baseline']:.2f} (total time); median of the per-step "
          f"ratios {results['ours']['median_step_ratio']:.2f}")
    report = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": describe_machine(device),
        "loadavg_before": load_before, "loadavg_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "data_fetch": fetch, "results": results,
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
