"""Checkpoints as safetensors plus a small JSON file, with a recorded sha256.

``name.safetensors`` holds every tensor (model weights, optimizer moments, RNG states);
``name.json`` holds the rest: each model's class and frozen config (so it rebuilds from the file
alone), optimizer hyper-parameters, the step, the training config, and the sha256 of the
safetensors file. Loading recomputes the hash and refuses a file that does not match. Both files
are written to a temporary name and renamed, so a crash never leaves a half-written checkpoint.
Nothing here unpickles: safetensors stores raw tensors only.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from gan_utils.models import build_model

FORMAT_VERSION = 1


class ChecksumError(RuntimeError):
    """The checkpoint's bytes do not match the sha256 recorded beside them."""


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in {".safetensors", ".json"} else path
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


def _atomic_write(target: Path, write: Any) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _config_dict(config: Any) -> Any:
    if config is None:
        return None
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, dict):
        return config
    raise TypeError(f"config must be a dataclass or dict, got {type(config).__name__}")


def save_checkpoint(
    path: str | os.PathLike,
    *,
    models: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    config: Any = None,
    step: int = 0,
    tensors: dict[str, torch.Tensor] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Save models (+ optimizers, config, step, extra tensors and JSON) and return the sha256."""
    st_path, json_path = _paths(path)
    flat: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {"format": FORMAT_VERSION, "step": int(step), "config": _config_dict(config),
                            "models": {}, "optimizers": {}, "extra": extra or {}}
    for name, model in models.items():
        for key, value in model.state_dict().items():
            flat[f"model/{name}/{key}"] = value.detach().cpu().contiguous().clone()
        model_config = getattr(model, "config", None)
        meta["models"][name] = {
            "class": type(model).__name__,
            "config": _config_dict(model_config) if dataclasses.is_dataclass(model_config) else None,
        }
    for name, opt in (optimizers or {}).items():
        state = opt.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for idx, param_state in state["state"].items():
            for key, value in param_state.items():
                if torch.is_tensor(value):
                    flat[f"optim/{name}/{idx}/{key}"] = value.detach().cpu().contiguous().clone()
                else:
                    scalars.setdefault(str(idx), {})[key] = value
        meta["optimizers"][name] = {"class": type(opt).__name__, "param_groups": state["param_groups"],
                                    "scalars": scalars}
    for key, value in (tensors or {}).items():
        flat[f"tensor/{key}"] = value.detach().cpu().contiguous().clone()

    _atomic_write(st_path, lambda tmp: save_file(flat, tmp))
    meta["sha256"] = sha256_of(st_path)
    _atomic_write(json_path, lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1, sort_keys=True)))
    return meta["sha256"]


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns: rebuilt (or filled) models and everything else saved."""

    models: dict[str, nn.Module]
    step: int
    config: Any
    sha256: str
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def load_checkpoint(
    path: str | os.PathLike,
    *,
    device: torch.device | str = "cpu",
    models: dict[str, nn.Module] | None = None,
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    expected_sha256: str | None = None,
) -> Checkpoint:
    """Verify the sha256, then rebuild models from their stored configs (or fill ``models``).

    ``optimizers`` given here get their saved state loaded. ``expected_sha256`` additionally pins
    the file to a known hash (e.g. one shipped in the package).
    """
    st_path, json_path = _paths(path)
    if not st_path.exists() or not json_path.exists():
        raise FileNotFoundError(f"checkpoint needs both {st_path} and {json_path}")
    meta = json.loads(json_path.read_text())
    actual = sha256_of(st_path)
    for label, wanted in (("recorded", meta.get("sha256")), ("expected", expected_sha256)):
        if wanted is not None and wanted != actual:
            raise ChecksumError(f"{st_path}: sha256 {actual} does not match the {label} {wanted}; refusing to load")
    flat = load_file(str(st_path), device=str(device))

    out_models: dict[str, nn.Module] = {}
    for name, info in meta["models"].items():
        model = (models or {}).get(name)
        if model is None:
            if info["config"] is None:
                raise ValueError(f"model {name!r} has no stored config; pass it in models={{...}}")
            model = build_model(info["class"], info["config"])
        prefix = f"model/{name}/"
        model.load_state_dict({k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix)})
        out_models[name] = model.to(device)

    for name, opt in (optimizers or {}).items():
        info = meta["optimizers"][name]
        state: dict[int, dict[str, Any]] = {}
        prefix = f"optim/{name}/"
        for key, value in flat.items():
            if key.startswith(prefix):
                idx, sub = key[len(prefix):].split("/", 1)
                state.setdefault(int(idx), {})[sub] = value
        for idx, scalars in info["scalars"].items():
            state.setdefault(int(idx), {}).update(scalars)
        opt.load_state_dict({"state": state, "param_groups": info["param_groups"]})

    tensors = {k[len("tensor/"):]: v for k, v in flat.items() if k.startswith("tensor/")}
    return Checkpoint(out_models, meta["step"], meta["config"], actual, tensors, meta["extra"])


def load_pinned_json(path: str | os.PathLike, expected_sha256: str | None) -> Any:
    """The JSON in ``path`` after checking the file's sha256 against ``expected_sha256`` (skipped when empty or
    None). Raises ``ValueError`` on a mismatch: the file is not the shipped one."""
    path = Path(path)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 and digest != expected_sha256:
        raise ValueError(f"{path.name}: sha256 {digest} differs from the pinned {expected_sha256}; "
                         "the file is not the shipped one")
    return json.loads(data)
