"""Pretrained networks shipped inside the package, loaded by name and verified by sha256.

    clf = pretrained.load("mnist-classifier")          # one model -> the nn.Module
    G, D = pretrained.load("dcgan-mnist")               # several -> a named tuple, in REGISTRY order

Each entry of :data:`REGISTRY` names a checkpoint pair ``gan_utils/assets/<stem>.safetensors`` +
``<stem>.json`` written by :func:`gan_utils.checkpoints.save_checkpoint`, and pins its sha256.
Loading recomputes the hash of the safetensors file and refuses it unless it equals both the hash
pinned here and the one recorded in the JSON, so a corrupted, truncated or swapped file never loads
silently. Only safetensors and JSON are read; nothing is unpickled. Models come back on ``device``
(the CPU unless given), in eval mode, with ``requires_grad`` off (they are fixed instruments; call
``requires_grad_(True)`` to fine-tune one).

Adding a network is one dict item: train it, save it with ``save_checkpoint`` into ``assets/``,
and add ``"name": Pretrained(stem, sha256, models, description, command, module)``.
"""
from __future__ import annotations

import importlib
import json
import os
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from gan_utils.checkpoints import ChecksumError, load_checkpoint

ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass(frozen=True)
class Pretrained:
    """One shipped checkpoint."""

    stem: str  # file name in assets/ without suffix
    sha256: str  # hex sha256 of <stem>.safetensors
    models: tuple[str, ...]  # model names inside the checkpoint, in the order load() returns them
    description: str
    command: str  # the committed command that reproduces the file
    module: str = "gan_utils.models"  # imported before loading: it registers the model classes


REGISTRY: dict[str, Pretrained] = {
    "mnist-classifier": Pretrained(
        stem="mnist_classifier",
        sha256="62de365e4fa581005294aae877085fd7b5ae6f4c76c0efa816e6d3e533fd697e",
        models=("classifier",),
        description="small CNN on MNIST in [-1, 1] (gan_utils.classifier.MNISTClassifier); "
                    "test accuracy 0.9945 on the 10 000 MNIST test images",
        command="python scripts/train_classifier.py",
        module="gan_utils.classifier",
    ),
    "dcgan-mnist": Pretrained(
        stem="dcgan-mnist",
        sha256="0be268ef34d2018d00900d80df82e30aef359aad68b2fea4ec6dd93fdf07902f",
        models=("G", "D"),
        description="DCGAN generator and discriminator for 28x28 MNIST in [-1, 1] "
                    "(gan_utils.dcgan.DCGANGenerator/DCGANDiscriminator, ngf = ndf = 64, nz = 100, one extra "
                    "3x3 block at 7x7 in each; 50 000 steps; book chapter 7)",
        command="python scripts/train_dcgan.py",
        module="gan_utils.dcgan",
    ),
    "stacked-dcgan": Pretrained(
        stem="stacked-dcgan",
        sha256="535b06bfa7444a4fc05117ca9977b556b32532fecd82a9d36c5ff026de44f524",
        models=("G",),
        description="DCGAN generator for Stacked MNIST (3 x 28 x 28, one MNIST digit per channel, in [-1, 1]; "
                    "gan_utils.dcgan.DCGANGenerator, nc = 3, ngf = 32, nz = 100, one extra 3x3 block at 7x7); "
                    "trained against a DCGAN discriminator at the same budget as stacked-pacdcgan2 "
                    "(32 000 steps, lr decaying over the last 10 000, "
                    "batch 64, 1 CPU thread); book chapter 6",
        command="python scripts/train_stacked_mnist.py --model dcgan",
        module="gan_utils.dcgan",
    ),
    "stacked-pacdcgan2": Pretrained(
        stem="stacked-pacdcgan2",
        sha256="b02b552bb30e29cf11b7c5baf89cf75f8a9ec0fd116c687bd9fda72c148c3425",
        models=("G",),
        description="PacDCGAN2 generator for Stacked MNIST: the same generator as stacked-dcgan, trained at the "
                    "same budget against PackedDiscriminator(DCGANDiscriminator(nc = 6), 2) (Lin et al. 2018); "
                    "book chapter 6",
        command="python scripts/train_stacked_mnist.py --model pacdcgan2",
        module="gan_utils.dcgan",
    ),
}


def available() -> list[str]:
    """Names accepted by :func:`load`, sorted."""
    return sorted(REGISTRY)


def load(name: str, device: torch.device | str | None = None, root: str | os.PathLike | None = None) -> Any:
    """Load the pretrained network(s) ``name`` after verifying the file's sha256.

    Returns the ``nn.Module`` when the entry holds one model, else a named tuple of modules with
    the entry's model names as fields (e.g. ``G, D = load("dcgan-mnist")``). ``device`` defaults to
    the CPU. ``root`` overrides the folder holding the files (tests use it).
    Raises ``KeyError`` for an unknown name, ``FileNotFoundError`` for missing files and
    :class:`gan_utils.checkpoints.ChecksumError` when the hash differs from the pinned one.
    """
    if name not in REGISTRY:
        raise KeyError(f"no pretrained network {name!r}; available: {', '.join(available())}")
    entry = REGISTRY[name]
    importlib.import_module(entry.module)
    path = Path(root) if root is not None else ASSETS
    path = path / entry.stem
    try:
        ckpt = load_checkpoint(path, device=device or "cpu", expected_sha256=entry.sha256)
    except ChecksumError as exc:
        raise ChecksumError(
            f"pretrained {name!r} failed verification ({exc}); the file is corrupt or not the shipped "
            f"one: reinstall gan_utils or re-create it with `{entry.command}`"
        ) from None
    missing = [m for m in entry.models if m not in ckpt.models]
    if missing:
        raise ValueError(f"pretrained {name!r}: checkpoint lacks model(s) {missing}; it holds {sorted(ckpt.models)}")
    models: list[nn.Module] = []
    for key in entry.models:
        model = ckpt.models[key].eval()
        model.requires_grad_(False)
        models.append(model)
    if len(models) == 1:
        return models[0]
    # cast: the field names are known only at run time, so mypy sees a plain tuple class
    return cast(Any, namedtuple("PretrainedModels", entry.models))(*models)


def info(name: str) -> dict[str, Any]:
    """The entry's registry fields plus the JSON's training config and extras (without loading weights)."""
    if name not in REGISTRY:
        raise KeyError(f"no pretrained network {name!r}; available: {', '.join(available())}")
    entry = REGISTRY[name]
    meta = json.loads((ASSETS / f"{entry.stem}.json").read_text())
    return {"name": name, "stem": entry.stem, "sha256": entry.sha256, "models": entry.models,
            "description": entry.description, "command": entry.command,
            "config": meta.get("config"), "extra": meta.get("extra", {})}
