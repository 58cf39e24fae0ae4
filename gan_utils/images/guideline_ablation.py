"""The DCGAN guideline ablation of book chapter 7 (section "The guidelines, tested"): one guideline off at a time.

Every variant trains from the same seeds, for the same number of generator steps, at the same width,
and is scored on the same noise batch and reference set. The baseline follows every guideline of
Radford et al. (2016); each entry of :data:`VARIANTS` changes exactly one thing, as a pair
(changes to :class:`gan_utils.dcgan.DCGANConfig`, changes to :class:`gan_utils.train.TrainConfig`).

A run (:func:`run_variant`) is scored every ``eval_every`` generator steps (class KL to uniform,
confidence, Fréchet distance in the classifier's features), so the table can report *when* a run
left the collapsed start (:func:`escape_step`), where it ended, and how much its Fréchet distance
still moved over the last part of the run (:func:`late_sd`): the instability the paper says the
guidelines prevent. It also records ``d_gap``, the mean of D(x) - D(G(z)) over the last 10% of steps.
A run whose loss became NaN/inf counts as diverged: its metrics are NaN and :func:`mean_sd` prints
"diverged".

The runs the chapter quotes are too long for a CPU build (18 runs of thousands of steps), so
``scripts/guideline_ablation.py`` makes them once with :func:`run_ablation` and ships the result as
``gan_utils/assets/guideline-ablation.json``, whose sha256 is pinned in :data:`REFERENCE_SHA256`
(:func:`load_reference` checks it). The notebook repeats the start of the runs with the same code
(:func:`run_variant`) and checks that it lands on the recorded numbers.

Why the seeds are not batched into one tensor problem: stacking the seeds' networks as grouped
convolutions (groups = seeds) computes exactly the same maps, but on a CPU one step of three stacked
seeds took longer than three separate steps (measured while writing this module: 74 ms against
3 x 21 ms at width 16, batch 64), so the script runs seeds in parallel processes instead.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from gan_utils.checkpoints import load_pinned_json
from gan_utils.classifier import MNISTClassifier, classify
from gan_utils.dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from gan_utils.digit_metrics import evaluate_generator_samples
from gan_utils.models import generate
from gan_utils.runtime import seed_everything
from gan_utils.train import RealSampler, TrainConfig, TrainState, every, train_gan

BASELINE = "baseline (all guidelines)"
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    BASELINE: ({}, {}),
    "pooling + upsampling": ({"resampling": "pool_upsample"}, {}),
    "no BatchNorm": ({"batchnorm": False}, {}),
    "ReLU in D": ({"d_activation": "relu"}, {}),
    "β1 = 0.9": ({}, {"betas": (0.9, 0.999)}),
    "lr = 1e-3": ({}, {"lr_g": 1e-3, "lr_d": 1e-3}),
}
KEYS = ("frechet_distance", "class_kl", "confidence", "d_gap")
CURVE_KEYS = ("class_kl", "confidence", "frechet_distance")
HEAD = 20  # generator steps whose losses a run records one by one (the notebook's reproduction check)

#: The shipped ablation (made by ``scripts/guideline_ablation.py``) and its pinned sha256.
REFERENCE_PATH = Path(__file__).resolve().parents[1] / "assets" / "guideline-ablation.json"
REFERENCE_SHA256 = "328ea4294ba9d1cbae11c593538d1eb0a4496edcac8a1b0c966e6ab6347aef0b"


@dataclass(frozen=True)
class AblationProtocol:
    """Everything that defines the ablation: networks, budget, seeds and scoring."""

    width: int = 16  # ngf = ndf
    steps: int = 2500  # generator steps of every run
    batch_size: int = 64
    nz: int = 100
    seeds: tuple[int, ...] = (0, 1, 2)
    eval_every: int = 100  # generator steps between scorings
    n_eval: int = 1000  # generated images per scoring (and real test images in the reference set)
    noise_seed: int = 1234  # seed of the scoring noise z_eval
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    def __post_init__(self) -> None:
        if min(self.width, self.steps, self.batch_size, self.nz, self.eval_every, self.n_eval) < 1:
            raise ValueError(f"width, steps, batch_size, nz, eval_every and n_eval must be positive: {self}")
        if not self.seeds:
            raise ValueError("need at least one seed")
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "betas", tuple(self.betas))


@dataclass
class VariantRun:
    """One (variant, seed) run: its scored curve, final metrics and a preview of its samples."""

    variant: str
    seed: int
    steps: list[int] = field(default_factory=list)  # generator steps at which it was scored (0 included)
    curve: dict[str, list[float]] = field(default_factory=dict)  # CURVE_KEYS -> values at ``steps``
    d_gap: float = float("nan")
    head_d_loss: list[float] = field(default_factory=list)  # losses of the first HEAD steps
    head_g_loss: list[float] = field(default_factory=list)
    diverged: bool = False
    preview: torch.Tensor | None = None  # (16, 1, 28, 28) G(z_preview) at the end, in [-1, 1]

    def final(self, key: str) -> float:
        """The last scored value of ``key`` (NaN if the run diverged)."""
        if key == "d_gap":
            return self.d_gap
        return float("nan") if self.diverged or not self.curve.get(key) else float(self.curve[key][-1])

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "preview"}
        out["preview"] = None if self.preview is None else encode_images(self.preview)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "VariantRun":
        data = dict(data)
        preview = data.pop("preview", None)
        return cls(**data, preview=None if preview is None else decode_images(preview))


def encode_images(x: torch.Tensor) -> dict[str, Any]:
    """Images in [-1, 1] as 8-bit grey levels, base64 (a compact JSON field): {"shape", "uint8"}."""
    u8 = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    return {"shape": list(u8.shape), "uint8": base64.b64encode(u8.tobytes()).decode("ascii")}


def decode_images(data: dict[str, Any]) -> torch.Tensor:
    """Inverse of :func:`encode_images` (to within half a grey level, 1/255 of the range)."""
    u8 = np.frombuffer(base64.b64decode(data["uint8"]), dtype=np.uint8).reshape(data["shape"])
    return torch.from_numpy(u8.astype(np.float32) / 127.5 - 1.0)


def eval_noise(protocol: AblationProtocol, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(z_eval (n_eval, nz, 1, 1), z_preview (16, nz, 1, 1)): the fixed scoring and preview noise, drawn
    on the CPU from ``protocol.noise_seed`` (the same numbers on every device)."""
    g = torch.Generator().manual_seed(protocol.noise_seed)
    z = torch.randn(protocol.n_eval + 16, protocol.nz, 1, 1, generator=g)
    return z[:protocol.n_eval].to(device), z[protocol.n_eval:].to(device)


def run_variant(
    variant: str, seed: int, protocol: AblationProtocol, *, sample_real: RealSampler, device: torch.device | str,
    classifier: MNISTClassifier, reference: torch.Tensor, steps: int | None = None,
    reference_features: torch.Tensor | None = None,
) -> VariantRun:
    """Train ``variant`` (a key of :data:`VARIANTS`) from ``seed`` under ``protocol``, scoring G(z_eval)
    in eval mode at step 0 and every ``protocol.eval_every`` steps against ``reference`` (real images).

    ``steps`` (default ``protocol.steps``) stops the run early: the notebook repeats the start of the
    shipped runs. Returns the :class:`VariantRun`; a run whose loss became NaN/inf is marked diverged.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; use one of {list(VARIANTS)}")
    steps = protocol.steps if steps is None else steps
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    model_changes, train_changes = VARIANTS[variant]
    z_eval, z_preview = eval_noise(protocol, device)
    feats = classify(classifier, reference).features if reference_features is None else reference_features
    seed_everything(seed)
    cfg = DCGANConfig(image_size=28, nz=protocol.nz, ngf=protocol.width, ndf=protocol.width, **model_changes)
    G, D = DCGANGenerator(cfg).to(device), DCGANDiscriminator(cfg).to(device)
    base: dict[str, Any] = {"steps": steps, "z_shape": (protocol.nz, 1, 1), "batch_size": protocol.batch_size,
                            "lr_g": protocol.lr, "lr_d": protocol.lr, "betas": protocol.betas, "seed": seed}
    tc = TrainConfig(**(base | train_changes))
    run = VariantRun(variant, seed, curve={k: [] for k in CURVE_KEYS})

    def score(state_step: int, G_now: torch.nn.Module) -> None:
        m = evaluate_generator_samples(generate(G_now, z_eval), classifier, reference_features=feats)
        run.steps.append(state_step)
        run.curve["class_kl"].append(m.class_kl)
        run.curve["confidence"].append(m.confidence)
        run.curve["frechet_distance"].append(float(m.frechet_distance))  # type: ignore[arg-type]

    score(0, G)
    callback: Callable[[TrainState], None] = every(protocol.eval_every, lambda s: score(s.step, s.G))
    try:
        h = train_gan(G, D, sample_real, tc, device, callbacks=[callback], progress=False)
    except FloatingPointError:
        run.diverged = True
        return run
    if steps % protocol.eval_every:  # always score the last step
        score(steps, G)
    last = slice(-max(1, steps // 10), None)
    run.d_gap = float(np.mean(h.d_real[last]) - np.mean(h.d_fake[last]))
    run.head_d_loss, run.head_g_loss = h.d_loss[:HEAD], h.g_loss[:HEAD]
    run.preview = generate(G, z_preview).cpu()
    return run


def escape_step(run: VariantRun, collapsed_kl: float) -> int | None:
    """The first scored step at which the class KL is at most ``collapsed_kl`` (the run has left the
    collapsed start); None if it never did (or diverged)."""
    if run.diverged:
        return None
    return next((s for s, kl in zip(run.steps, run.curve["class_kl"]) if kl <= collapsed_kl), None)


def late_sd(run: VariantRun, key: str = "frechet_distance", fraction: float = 1 / 3) -> float:
    """Standard deviation (ddof 1) of ``key`` over the scorings in the last ``fraction`` of the run: how much
    the metric still moves late in training (NaN if diverged or fewer than two scorings fall there)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if run.diverged or not run.steps:
        return float("nan")
    start = round(run.steps[-1] * (1 - fraction), 6)  # rounded: 300 * (1 - 1/3) must include step 200
    vals = [v for s, v in zip(run.steps, run.curve[key]) if s >= start]
    return float(np.std(vals, ddof=1)) if len(vals) > 1 else float("nan")


def mean_sd(values: Sequence[float], digits: int = 3) -> str:
    """'mean ± sd' over seeds (sd with ddof 1, NaNs of diverged runs left out); 'diverged' if all are NaN."""
    v = np.asarray(values, dtype=float)
    if np.isnan(v).all():
        return "diverged"
    sd = f" ± {np.nanstd(v, ddof=1):.{digits}f}" if np.isfinite(v).sum() > 1 else ""
    return f"{np.nanmean(v):.{digits}f}{sd}"


def summarise(runs: Sequence[VariantRun], collapsed_kl: float) -> dict[str, dict[str, list[float]]]:
    """Per variant (in :data:`VARIANTS` order), per-seed lists of: ``escape`` (step, NaN = never),
    the final ``class_kl``, ``confidence``, ``frechet_distance``, ``d_gap`` and ``late_fd_sd``."""
    out: dict[str, dict[str, list[float]]] = {}
    for name in VARIANTS:
        mine = [r for r in runs if r.variant == name]
        if not mine:
            continue
        rows = out.setdefault(name, {k: [] for k in ("escape", *KEYS, "late_fd_sd")})
        for r in mine:
            e = escape_step(r, collapsed_kl)
            rows["escape"].append(float("nan") if e is None else float(e))
            for k in KEYS:
                rows[k].append(r.final(k))
            rows["late_fd_sd"].append(late_sd(r))
    return out


def run_ablation(protocol: AblationProtocol, *, sample_real: RealSampler, device: torch.device | str,
                 classifier: MNISTClassifier, reference: torch.Tensor, variants: Sequence[str] | None = None,
                 seeds: Sequence[int] | None = None, log: Callable[[str], None] = print) -> list[VariantRun]:
    """Every (variant, seed) run of the protocol (or of the given subsets), in order."""
    feats = classify(classifier, reference).features
    runs = []
    for name in (variants or list(VARIANTS)):
        for seed in (seeds or protocol.seeds):
            runs.append(run_variant(name, seed, protocol, sample_real=sample_real, device=device,
                                    classifier=classifier, reference=reference, reference_features=feats))
            r = runs[-1]
            log(f"{name} seed {seed}: final class KL {r.final('class_kl'):.3f}, "
                f"Fréchet {r.final('frechet_distance'):.1f}")
    return runs


def load_reference(path: str | Path | None = None, expected_sha256: str | None = None) -> dict[str, Any]:
    """The shipped ablation (JSON of ``scripts/guideline_ablation.py``) after checking its sha256 against
    :data:`REFERENCE_SHA256` (or ``expected_sha256``): {"protocol": AblationProtocol, "runs": [VariantRun],
    "meta": {...}}. Raises ``ValueError`` on a mismatch."""
    path = Path(path) if path is not None else REFERENCE_PATH
    expected = REFERENCE_SHA256 if expected_sha256 is None else expected_sha256
    raw = load_pinned_json(path, expected)
    return {"protocol": AblationProtocol(**raw["protocol"]), "runs": [VariantRun.from_json(r) for r in raw["runs"]],
            "meta": raw.get("meta", {})}


def save_reference(path: str | Path, protocol: AblationProtocol, runs: Sequence[VariantRun],
                   meta: dict[str, Any]) -> str:
    """Write the ablation as JSON (protocol, runs, meta); return the file's sha256."""
    text = json.dumps({"protocol": asdict(protocol), "runs": [r.to_json() for r in runs], "meta": meta},
                      ensure_ascii=False, indent=None, separators=(",", ":"))
    Path(path).write_text(text + "\n")
    return hashlib.sha256((text + "\n").encode()).hexdigest()
