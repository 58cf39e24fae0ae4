"""Checkpointing a training run of :func:`gan_utils.train.train_gan`, and resuming it bit-identically.

A checkpoint (:mod:`gan_utils.checkpoints`: safetensors + JSON, with a sha256) holds G, D, both Adam
states, the config, the step count, the history and the state of every rank's ``torch.Generator``
(the only source of randomness of a run), so a resumed run draws the same batches and noise as an
uninterrupted one and ends with the same weights. A checkpoint resumes only into the same run: its
config must match, except for the options that change speed and not the run (``SPEED_FIELDS``), for
fields added to :class:`gan_utils.train.TrainConfig` after it was written (their defaults are assumed),
and for a learning-rate decay that has not begun yet at the checkpoint's step.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

from gan_utils import distributed as dist_utils
from gan_utils.checkpoints import load_checkpoint, save_checkpoint

if TYPE_CHECKING:  # train imports this module; the names are only needed for the annotations
    from gan_utils.train import TrainState

# Options that change speed, not the run (at most rounding, or bf16 for autocast): a checkpoint may be
# resumed with other values, and checkpoints written before they existed resume with the defaults.
SPEED_FIELDS = ("channels_last", "autocast", "fused_adam", "compile")


def _comparable(config: dict) -> dict:
    """A stored config without the speed options (see ``SPEED_FIELDS``), for the resume check."""
    return {k: v for k, v in config.items() if k not in SPEED_FIELDS}


def _with_defaults(stored: dict, config_class: type) -> dict:
    """A stored config dict, completed with the defaults of fields added after it was written."""
    defaults = {f.name: f.default for f in dataclasses.fields(config_class) if f.default is not dataclasses.MISSING}
    return json.loads(json.dumps(defaults)) | stored


def _rng_key(rank: int) -> str:
    return "rng_state" if rank == 0 else f"rng_state_rank{rank}"


def save_train_state(path: str | Path, state: TrainState) -> str | None:
    """Checkpoint a run (models, optimizers, RNG, history, config); returns the sha256.

    Under torchrun every rank must call this (the ranks' RNG states are gathered, one per rank);
    only rank 0 writes, and the other ranks get ``None``.
    """
    states = dist_utils.gather_objects(state.rng.get_state())
    if not dist_utils.is_main_process():
        return None
    return save_checkpoint(
        path,
        models={"G": state.G, "D": state.D},
        optimizers={"G": state.opt_g, "D": state.opt_d},
        config=state.config,
        step=state.step,
        tensors={_rng_key(rank): rng_state for rank, rng_state in enumerate(states)},
        extra={"history": state.history.as_dict()},
    )


def restore_train_state(path: str | Path, state: TrainState, rank: int = 0) -> None:
    """Load the checkpoint at ``path`` into ``state`` (weights, optimizers, this rank's RNG, step, history).

    Raises ``ValueError`` if the checkpoint was made by another run (a different config, outside the
    exceptions of the module docstring) or by fewer processes than this rank needs.
    """
    config = state.config
    ckpt = load_checkpoint(path, device=state.device, models={"G": state.G, "D": state.D},
                           optimizers={"G": state.opt_g, "D": state.opt_d})
    stored = _with_defaults(ckpt.config, type(config))  # checkpoints older than a config field lack it
    wanted = json.loads(json.dumps(dataclasses.asdict(config))) | {"steps": stored["steps"]}
    if stored["lr_decay_from"] is None and (config.lr_decay_from is None or ckpt.step <= config.lr_decay_from):
        wanted["lr_decay_from"] = None  # decay not begun yet: the run so far is the same run
    if _comparable(stored) != _comparable(wanted):
        raise ValueError(f"checkpoint {path} was made with a different config: {ckpt.config}")
    if _rng_key(rank) not in ckpt.tensors:
        raise ValueError(f"checkpoint {path} holds no random state for rank {rank} "
                         "(it was written by fewer processes)")
    state.rng.set_state(ckpt.tensors[_rng_key(rank)].cpu())
    state.step = ckpt.step
    state.history = type(state.history)(**ckpt.extra["history"])
