"""Run profile, device choice and seeding: the three things every notebook sets first.

The book runs in one of three profiles, chosen by the environment variable ``GAN_BOOK_PROFILE``:

* ``smoke``    -- continuous integration: seconds per notebook, same code path.
* ``standard`` -- default on a CPU: the whole book in about half an hour on 2 cores.
* ``full``     -- default on CUDA: paper-scale runs.

Profiles change *sizes only* (steps, seeds, samples), never the code path; :func:`by_profile`
is the one place where a notebook picks a size.
"""
from __future__ import annotations

import os
import random
from contextlib import contextmanager
from typing import Iterator, TypeVar

import numpy as np
import torch

PROFILES: tuple[str, ...] = ("smoke", "standard", "full")
PROFILE_ENV = "GAN_BOOK_PROFILE"

T = TypeVar("T")


def get_profile() -> str:
    """Return the active profile: ``$GAN_BOOK_PROFILE`` if set, else ``full`` on CUDA, else ``standard``.

    Raises ``ValueError`` naming the valid profiles when the variable holds anything else.
    """
    value = os.environ.get(PROFILE_ENV, "").strip().lower()
    if not value:
        return "full" if torch.cuda.is_available() else "standard"
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
