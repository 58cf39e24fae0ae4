"""The scale path: data-parallel training under ``torchrun`` (PyTorch DistributedDataParallel).

``torchrun --nproc_per_node N script.py`` starts N copies of a script and tells each its place
through environment variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``). :func:`init_from_env` reads them and joins the process group: ``nccl`` when
CUDA is available (one GPU per process, ``cuda:LOCAL_RANK``), ``gloo`` on the CPU. Started without
torchrun, it does nothing, so the same script runs unchanged on one device.

Inside :func:`gan_utils.train.train_gan` a process group with more than one process makes G and D
DistributedDataParallel modules: each rank draws its own real batches and noise (seed + rank),
gradients are averaged over the ranks after every backward pass (so the effective batch is
``batch_size * world_size``), and the initial weights are the same on every rank because DDP copies
rank 0's parameters and buffers to all others when it wraps a model. Only rank 0 writes
checkpoints and shows progress bars; :func:`is_main_process` lets scripts do the same.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: its rank among ``world_size`` processes and the device it uses."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def init_from_env(backend: str | None = None, device: torch.device | str | None = None) -> DistInfo:
    """Join the process group described by torchrun's environment variables; a no-op without them.

    ``backend`` defaults to ``nccl`` on a CUDA device and ``gloo`` otherwise. ``device`` defaults to
    CUDA when available, else the CPU; a CUDA device without an index becomes ``cuda:LOCAL_RANK``
    and is made current. Safe to
    call twice (the second call only reports). Returns the rank, world size, local rank and device.
    """
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={world_size}")
    cuda = torch.cuda.is_available()
    if device is None:
        device = "cuda" if cuda else "cpu"
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:  # "cuda" means this process's GPU
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        if not dist.is_available():
            raise RuntimeError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed")
        backend = backend or ("nccl" if device.type == "cuda" else "gloo")
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistInfo(rank, world_size, local_rank, device)


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """True on rank 0 and whenever training is not distributed: the one process that writes files."""
    return get_rank() == 0


def wrap_ddp(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` as a DistributedDataParallel module (rank 0's weights and buffers are broadcast now).

    Buffers are not broadcast again before every forward pass (``broadcast_buffers=False``): D runs twice
    per update (real, then fake batch) before one backward pass, and a broadcast between the two writes
    into BatchNorm's running statistics, which older PyTorch releases (2.11 here) keep for the backward
    pass, so autograd refuses them as modified in place. In training mode BatchNorm normalises with the
    batch's own statistics, so the running ones do not enter training; :func:`broadcast_buffers_` makes
    every rank hold rank 0's at the end.
    """
    device = torch.device(device)
    ids = [device] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids, output_device=device if ids else None,
                                               broadcast_buffers=False)


def broadcast_buffers_(module: nn.Module, src: int = 0) -> nn.Module:
    """Copy ``src``'s buffers (e.g. BatchNorm running statistics) to every rank, in place.

    Under :func:`wrap_ddp` each rank updates its running statistics with its own batches; this makes
    all ranks agree again (rank 0's).
    """
    if is_distributed():
        for buffer in module.buffers():
            dist.broadcast(buffer, src)
    return module


def gather_objects(obj: T) -> list[T]:
    """Every rank's ``obj`` as a list indexed by rank (``[obj]`` when not distributed)."""
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    """Wait for all ranks (nothing when not distributed)."""
    if is_distributed():
        dist.barrier()


def cleanup() -> None:
    """Leave the process group, if one was joined (call at the end of a torchrun script)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
