"""Run profile, device choice and seeding: the three things every notebook sets first.

The book runs in one of three profiles, chosen by the environment variable ``GAN_BOOK_PROFILE``:

* ``smoke``    -- continuous integration: seconds per notebook, same code path.
* ``standard`` -- the default on every device: the whole book in about half an hour on 2 CPU cores,
  no notebook more than a few minutes, the phenomena visible.
* ``full``     -- opt-in, paper-scale runs; meant for a GPU. Each notebook prints what its profile will
  cost on this device before its first long cell (:class:`CostEstimate`).

Profiles change *sizes only* (steps, seeds, samples), never the code path; :func:`by_profile`
is the one place where a notebook picks a size.
"""
from __future__ import annotations

import json
import os
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, TypeVar

import numpy as np
import torch

PROFILES: tuple[str, ...] = ("smoke", "standard", "full")
PROFILE_ENV = "GAN_BOOK_PROFILE"
#: When set, :meth:`CostEstimate.report` also appends its estimate, one JSON line, to this file (the GPU
#: check reads it to skip a notebook that would not fit its time budget).
COST_FILE_ENV = "GAN_BOOK_COST_FILE"

T = TypeVar("T")


def get_profile() -> str:
    """Return the active profile: ``$GAN_BOOK_PROFILE`` if set, else ``standard`` (on every device).

    ``full`` is never chosen implicitly: its runs are paper-scale, and a reader on a small GPU would
    otherwise start hours of work without asking for it.

    Raises ``ValueError`` naming the valid profiles when the variable holds anything else.
    """
    value = os.environ.get(PROFILE_ENV, "").strip().lower()
    if not value:
        return "standard"
    if value not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={value!r} is not a profile; use one of: {', '.join(PROFILES)}"
        )
    return value


def by_profile(smoke: T, standard: T, full: T, profile: str | None = None) -> T:
    """Pick a size for the active profile, e.g. ``steps = by_profile(50, 3000, 20000)``."""
    profile = profile or get_profile()
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; use one of: {', '.join(PROFILES)}")
    return {"smoke": smoke, "standard": standard, "full": full}[profile]


def get_device() -> torch.device:
    """Choose the device once, in the order cuda > mps > cpu, and pass it explicitly from then on."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) and make cuDNN deterministic.

    Returns a ``torch.Generator`` on the CPU seeded with ``seed`` for code that wants its own stream.
    """
    # bool is an int subclass but never a meant seed; torch accepts at most 2**64 - 1. Checked before
    # anything is seeded, so a bad seed never leaves the streams half-seeded.
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an int in [0, 2**64), got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` intra-op CPU threads, then restore the previous setting.

    Tiny networks (the 1-D and 2-D toy GANs) train faster on one CPU thread than on several:
    synchronising threads costs more than it saves, badly so on a busy machine. Results do not
    depend on the thread count beyond floating-point summation order.
    """
    if n < 1:
        raise ValueError(f"need at least one thread, got {n}")
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def describe_runtime(device: torch.device | None = None) -> str:
    """One line naming the profile, device and library versions; every notebook prints it."""
    device = device or get_device()
    return (
        f"profile={get_profile()} device={device} torch={torch.__version__} "
        f"numpy={np.__version__}"
    )


def seconds_per_call(fn: Callable[[], object], *, repeats: int = 3, warmup: int = 1,
                     device: torch.device | None = None) -> float:
    """The median wall time of ``fn()`` in seconds, after ``warmup`` untimed calls (CUDA synchronised)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")

    def sync() -> None:
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 05 s`` or ``1 h 02 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class CostEstimate:
    """What a notebook's profile will cost on this device, from measured per-unit costs.

    Each part is timed on a few units (steps, samples, restarts) of the real code, here, and scaled
    by the number of units the active profile runs::

        cost = CostEstimate(device)
        cost.add("training, 3 seeds", seconds_per_call(one_step, device=device), 3 * STEPS)
        cost.report()     # prints the parts and the total; warns above ten minutes

    The estimate leaves out start-up and plotting; it is a guide, not a promise.
    """

    device: torch.device | None = None
    limit_s: float = 600.0
    parts: list[tuple[str, float, int]] = field(default_factory=list)

    def add(self, label: str, seconds_per_unit: float, units: int) -> "CostEstimate":
        if seconds_per_unit < 0 or units < 0:
            raise ValueError(f"{label}: need a non-negative cost and count, got {seconds_per_unit} and {units}")
        self.parts.append((label, float(seconds_per_unit), int(units)))
        return self

    @property
    def total_s(self) -> float:
        return sum(per * units for _, per, units in self.parts)

    def report(self) -> str:
        """Print (and return) the estimate for the active profile on this device."""
        device = self.device or get_device()
        lines = [f"Estimated cost of profile '{get_profile()}' on {device} "
                 f"({torch.get_num_threads()} CPU threads): about {format_seconds(self.total_s)}"]
        for label, per, units in self.parts:
            lines.append(f"  {label}: {units} x {per * 1e3:.2f} ms = {format_seconds(per * units)}")
        if self.total_s > self.limit_s:
            smaller = PROFILES[: PROFILES.index(get_profile())]
            hint = (f"set {PROFILE_ENV}={' or '.join(reversed(smaller))} for a shorter run" if smaller
                    else "this is already the smallest profile")
            lines.append(f"  That is more than {format_seconds(self.limit_s)} here; {hint} "
                         f"({PROFILE_ENV}=smoke runs the same code in seconds but shows no phenomenon).")
        text = "\n".join(lines)
        print(text, flush=True)
        if os.environ.get(COST_FILE_ENV):
            with open(os.environ[COST_FILE_ENV], "a", encoding="utf-8") as f:
                f.write(json.dumps({"profile": get_profile(), "device": str(device), "total_s": self.total_s,
                                    "parts": self.parts}) + "\n")
        return text
