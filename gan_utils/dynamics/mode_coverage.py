"""The 2-D mode-collapse benchmarks of PacGAN (Lin et al. 2018, Table 1; book chapter 6, section 6.3).

* ring: 8 Gaussians, means at angle 2 pi k / 8 on a circle of radius 1, std 0.01;
* grid: 25 Gaussians, means {-4, -2, 0, 2, 4}^2, std 0.05.

A generator is scored on ``n = 2500`` samples with :func:`mode_coverage`, which
follows the authors' released code (``MetricLogger`` of github.com/fjxmlzn/PacGAN): each sample goes to
its nearest mean; it is *high quality* when its Mahalanobis distance to that mean, ||x - mu_k|| / std,
is below 3; a mode is *captured* when it receives at least one high-quality sample; the reverse KL is
KL(q || uniform) of the histogram q of the high-quality samples over the modes (book eq.
``eq-ch06-reverse-kl-hist``). This module adds the benchmark specifications, a scorer for a generator,
the mean +- standard error over seeds, and the published rows (:data:`PUBLISHED`).
"""
from __future__ import annotations

import dataclasses
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence, cast

import numpy as np
import torch

from gan_utils.checkpoints import load_pinned_json
from gan_utils.data import ToyData, grid_means, ring_means, sample_mixture
from gan_utils.dynamics.minibatch_std import EnsembleMinibatchStdDiscriminator
from gan_utils.dynamics.pacgan import PackedDiscriminator
from gan_utils.dynamics.unrolled import unrolled_ensemble_discriminator
from gan_utils.dynamics.wasserstein import batched_spectral_norm_
from gan_utils.ensemble import EnsembleMLP, EnsembleMLPConfig, EnsembleState, ensemble_generate, train_ensemble
from gan_utils.models import generate
from gan_utils.runtime import torch_threads
from gan_utils.train import TrainConfig

N_EVAL = 2500  # samples per evaluation in the protocol
THRESHOLD = 3.0  # high quality: within 3 standard deviations of the nearest mean


class ModeCoverage(NamedTuple):
    modes_captured: int  # modes with at least ``min_count`` high-quality samples
    high_quality_fraction: float  # share of samples within ``threshold`` std of their nearest mode
    reverse_kl: float  # KL(q || uniform) of the mode histogram q of the high-quality samples, nats
    counts: np.ndarray  # high-quality samples assigned to each mode


def mode_coverage(
    samples: torch.Tensor | np.ndarray, means: torch.Tensor | np.ndarray, std: float,
    threshold: float = 3.0, min_count: int = 1,
) -> ModeCoverage:
    """Score samples from a mixture of isotropic Gaussians N(mean_k, std^2 I) with equal weights.

    Each sample is assigned to its nearest mean; it is *high quality* when its Mahalanobis distance
    to that mean, ||x - mu_k|| / std, is below ``threshold`` (3 in the protocol). A mode is
    *captured* when at least ``min_count`` high-quality samples are assigned to it. The reverse KL
    is sum_k q_k log(q_k K) for the histogram q over the K modes of the high-quality samples (empty
    bins contribute 0); it is 0 for a perfectly balanced generator and log K when all high-quality
    samples sit on one mode. With no high-quality sample at all it is reported as inf.
    """
    x = torch.as_tensor(samples, dtype=torch.float64).cpu()
    mu = torch.as_tensor(means, dtype=torch.float64).cpu()
    if x.dim() != 2 or mu.dim() != 2 or x.shape[1] != mu.shape[1]:
        raise ValueError(f"samples (n, d) and means (K, d) must agree in d; got {tuple(x.shape)} and {tuple(mu.shape)}")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    dist = torch.cdist(x, mu)  # (n, K)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist / std < threshold
    counts = torch.bincount(nearest[good], minlength=len(mu)).numpy()
    n_good = int(counts.sum())
    if n_good == 0:
        rev_kl = float("inf")
    else:
        q = counts / n_good
        nz = q > 0
        rev_kl = float(np.sum(q[nz] * np.log(q[nz] * len(mu))))
    return ModeCoverage(int((counts >= min_count).sum()), n_good / max(len(x), 1), rev_kl, counts)


@dataclass(frozen=True)
class Benchmark:
    name: str
    means: torch.Tensor  # (K, 2)
    std: float

    @property
    def modes(self) -> int:
        return len(self.means)

    def sample(self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> ToyData:
        """n samples of the equal-weight mixture with their modes (``.samples`` (n, 2), ``.labels`` (n,)),
        by :func:`gan_utils.data.sample_mixture`: the same draws as :func:`gan_utils.data.ring` and
        :func:`gan_utils.data.grid` for the same generator."""
        return sample_mixture(n, self.means, self.std, generator, device)

    def sampler(self) -> Callable[[int, torch.Generator], torch.Tensor]:
        """A ``sample_real(n, generator)`` for :func:`gan_utils.train.train_gan`: the samples (n, 2) only."""
        return lambda n, generator: self.sample(n, generator, generator.device).samples

    def score(self, samples: torch.Tensor) -> ModeCoverage:
        return mode_coverage(samples, self.means, self.std, threshold=THRESHOLD, min_count=1)


BENCHMARKS: dict[str, Benchmark] = {
    "ring": Benchmark("ring", ring_means(8, 1.0), 0.01),
    "grid": Benchmark("grid", grid_means(5, 2.0), 0.05),
}

# Lin et al. (2018), Table 1: mean +- standard error over 10 trials (modes, high-quality %, reverse KL).
PUBLISHED: dict[str, dict[str, tuple[float, float, float]]] = {
    "ring": {"GAN (published)": (6.3, 98.2, 0.45), "PacGAN2 (published)": (7.9, 95.6, 0.07)},
    "grid": {"GAN (published)": (17.3, 94.8, 0.70), "PacGAN4 (published)": (24.8, 93.6, 0.04)},
}


def distinct_points(points: torch.Tensor, tol: float = 1e-6) -> int:
    """How many distinct rows ``points`` (K, d) has, two rows being equal when closer than ``tol``."""
    p = torch.as_tensor(points, dtype=torch.float64)
    d = torch.cdist(p, p)
    keep: list[int] = []
    for i in range(len(p)):
        if all(d[i, j] >= tol for j in keep):
            keep.append(i)
    return len(keep)


@torch.no_grad()
def score_generator(G: torch.nn.Module, benchmark: Benchmark, z_dim: int, n: int = N_EVAL, seed: int = 12345,
                    device: torch.device | str = "cpu") -> ModeCoverage:
    """Draw n samples G(z), z ~ N(0, I) from a fixed seed, and score them (:func:`gan_utils.models.generate`:
    eval mode, one batch)."""
    rng = torch.Generator(device=device).manual_seed(seed)
    return benchmark.score(generate(G, torch.randn(n, z_dim, generator=rng, device=device), batch_size=None))


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (sample sd / sqrt(n); 0 for one value); (inf, 0) if any value is inf."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("need at least one value")
    if not np.isfinite(v).all():  # a run without any high-quality sample has reverse KL = inf
        return float("inf"), 0.0
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0
    return float(v.mean()), se


def results_table(results: dict[str, list[ModeCoverage]],
                  published: dict[str, tuple[float, float, float]] | None = None, title: str = "") -> str:
    """A fixed-width text table: method, modes, high-quality %, reverse KL as mean +- se over runs,
    followed by the published rows (if given)."""
    head = f"{'method':<22}{'runs':>5}{'modes':>16}{'high quality %':>18}{'reverse KL':>18}"
    lines = ([title] if title else []) + [head, "-" * len(head)]
    for name, runs in results.items():
        if not runs:
            raise ValueError(f"method {name!r} has no runs")
        mo = mean_se([r.modes_captured for r in runs])
        hq = mean_se([100 * r.high_quality_fraction for r in runs])
        kl = mean_se([r.reverse_kl for r in runs])
        kl_text = f"{kl[0]:>11.2f} ± {kl[1]:<4.2f}" if math.isfinite(kl[0]) else f"{'inf':>11}{'':7}"
        lines.append(f"{name:<22}{len(runs):>5}{mo[0]:>9.1f} ± {mo[1]:<4.1f}{hq[0]:>11.1f} ± {hq[1]:<4.1f}{kl_text}")
    for name, (p_mo, p_hq, p_kl) in (published or {}).items():
        lines.append(f"{name:<22}{10:>5}{p_mo:>9.1f}{'':7}{p_hq:>11.1f}{'':7}{p_kl:>11.2f}")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------------
# The training protocol, and every method trained as a batched ensemble of seeds
# -------------------------------------------------------------------------------------------------
METHODS = ("GAN", "Unrolled5", "PacGAN2", "PacGAN3", "PacGAN4", "MBStd")

# --- chapter 11: critics (a separate, delimited addition) --------------------------------------------
#: TrainConfig settings of the chapter-11 methods, applied on top of a protocol's
#: (:meth:`BenchmarkProtocol.train_config`). WGAN-GP: the Wasserstein loss with the gradient penalty at the
#: released toy code's lambda = 0.1 (github.com/igul222/improved_wgan_training, ``gan_toy.py``; the paper's
#: image experiments use 10) and its Adam betas (0.5, 0.9), but one critic step per generator step (the code:
#: 5) and a learning rate of 3e-3 (the code: 1e-4 for 100,000 steps) to fit the CPU budget. SN-GAN: the hinge
#: loss with every layer of D spectrally normalised per member
#: (:func:`gan_utils.dynamics.wasserstein.batched_spectral_norm_`), one D step per G step, Adam 5e-4, (0.5, 0.999).
#: Chapter 11's notebook trains both with a leaky-ReLU critic and PyTorch's default initialisation.
CRITIC_METHODS: dict[str, dict[str, object]] = {
    "WGAN-GP": {"loss": "wasserstein", "gp_weight": 0.1, "k": 1, "betas": (0.5, 0.9), "lr_g": 3e-3, "lr_d": 3e-3},
    "SN-GAN": {"loss": "hinge", "betas": (0.5, 0.999), "lr_g": 5e-4, "lr_d": 5e-4},
}
#: Chapter 6's methods and chapter 11's critics: what :func:`make_ensemble_pair` and :func:`train_benchmark` accept.
ALL_METHODS = METHODS + tuple(CRITIC_METHODS)
# --- end of chapter 11's addition ---------------------------------------------------------------------


@dataclass(frozen=True)
class BenchmarkProtocol:
    """How a method is trained on the ring or the grid. The defaults are the released code of Lin et al.
    (github.com/fjxmlzn/PacGAN, ``synthetic_data_experiments/2D*_GAN&PacGAN/config.py`` and
    ``pacgan_task.py``): G has four hidden layers of 400 ReLU units with BatchNorm (population
    statistics updated with momentum 0.05, used when sampling) and no biases except the output's,
    z ~ N(0, I_2); D has three maxout layers of 200 units with 5 pieces and a linear output; weights
    N(0, 0.02^2), biases 0; Adam with learning rate 1e-4 and beta_1 = 0.8 (beta_2 = 0.999, the default of
    the Blocks library they used) for both players; a batch of 100 *packs* (PacGANm draws 100 m real and
    100 m generated points); 400 epochs of a 100,000-point training set (400,000 steps); 10 runs.
    :data:`FIXED_DEVIATIONS` lists what this book's code does differently in every profile.
    """

    hidden_g: tuple[int, ...] = (400, 400, 400, 400)
    g_batchnorm: bool = True
    g_hidden_bias: bool = False
    hidden_d: tuple[int, ...] = (200, 200, 200)
    d_activation: str = "maxout"
    maxout_pieces: int = 5
    init_std: float | None = 0.02
    bn_momentum: float = 0.05
    lr: float = 1e-4
    betas: tuple[float, float] = (0.8, 0.999)
    packs_per_batch: int = 100
    steps: int = 400_000
    seeds: int = 10
    z_dim: int = 2
    n_eval: int = N_EVAL
    mbstd_group: int = 4
    # fraction of the steps after which both learning rates decay linearly to 0 (None: constant)
    lr_decay_from: float | None = None
    # ((benchmark, steps), ...): generator steps on a named benchmark, in place of ``steps``
    benchmark_steps: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for name in ("hidden_g", "hidden_d", "betas"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "benchmark_steps", tuple((str(b), int(n)) for b, n in self.benchmark_steps))
        if any(n < 1 for _, n in self.benchmark_steps):
            raise ValueError(f"benchmark_steps must be >= 1: {self.benchmark_steps}")
        if self.steps < 1 or self.seeds < 1 or self.packs_per_batch < 4 or self.n_eval < 1:
            raise ValueError(f"need steps, seeds, n_eval >= 1 and packs_per_batch >= 4: {self}")

    def for_benchmark(self, name: str) -> BenchmarkProtocol:
        """This protocol with the steps of benchmark ``name`` (``benchmark_steps``, else ``steps``)."""
        if not self.benchmark_steps:
            return self
        return dataclasses.replace(self, steps=dict(self.benchmark_steps).get(name, self.steps), benchmark_steps=())

    def batch_size(self, method: str) -> int:
        """Samples per batch: ``packs_per_batch`` times the packing degree (1 for the unpacked methods)."""
        return self.packs_per_batch * packing_degree(method)

    def train_config(self, method: str) -> TrainConfig:
        decay = None if self.lr_decay_from is None else int(self.lr_decay_from * self.steps)
        config = TrainConfig(steps=self.steps, z_shape=(self.z_dim,), batch_size=self.batch_size(method),
                             lr_g=self.lr, lr_d=self.lr, betas=self.betas, lr_decay_from=decay)
        return dataclasses.replace(config, **CRITIC_METHODS.get(method, {}))  # type: ignore[arg-type]


#: The released protocol (:class:`BenchmarkProtocol`'s defaults).
PROTOCOL = BenchmarkProtocol()

#: What the book's code does differently from the released code in every profile (setting, released code, here).
FIXED_DEVIATIONS: tuple[tuple[str, str, str], ...] = (
    ("updates", "simultaneous: D and G step from the same batch (the ALI algorithm)",
     "alternating (Algorithm 1, k = 1): D steps, then G steps on fresh noise"),
    ("training data", "a fixed set of 100,000 points (packs), shuffled each epoch",
     "fresh draws from the mixture at every step"),
    ("G's BatchNorm with packing", "statistics of each pack slot's 100 samples",
     "statistics of all 100 m samples of the batch"),
    ("evaluation noise", "2,500 codes from one fixed Theano stream", "2,500 codes from one fixed PyTorch stream"),
)


#: The protocols of the book's profiles (the notebook picks its profile's; scripts/mode_collapse_2d.py any).
#: ``full`` is the released code; the others keep its scoring and its optimiser family and shrink what the
#: CPU cannot afford (see :func:`protocol_table`).
PROTOCOLS: dict[str, BenchmarkProtocol] = {
    "full": PROTOCOL,
    "standard": BenchmarkProtocol(hidden_g=(128, 128, 128), hidden_d=(64, 64), lr=3e-3, lr_decay_from=0.3,
                                  packs_per_batch=32, steps=20_000, benchmark_steps=(("grid", 30_000),), seeds=10),
    "smoke": BenchmarkProtocol(hidden_g=(16, 16), hidden_d=(16,), maxout_pieces=2, lr=1.5e-3, lr_decay_from=0.3,
                               packs_per_batch=8, steps=30, seeds=2, n_eval=500),
    # the standard networks trained twice as long, for the grid (whose high-quality share is still rising at
    # standard's 30,000 steps); the shipped run has the grid only
    "reference-cpu": BenchmarkProtocol(hidden_g=(128, 128, 128), hidden_d=(64, 64), lr=3e-3, lr_decay_from=0.3,
                                       packs_per_batch=32, steps=60_000, seeds=10),
}

#: The shipped reference run (made by ``scripts/mode_collapse_2d.py``) and its pinned sha256.
REFERENCE_PATH = Path(__file__).resolve().parents[1] / "assets" / "mode-collapse-2d-reference.json"
REFERENCE_SHA256 = "35c663a68eb1d671029b5a04b90f93e298f561e1708e4527ac2957b0d67a12dd"

FIELD_LABELS = {
    "hidden_g": "generator hidden layers", "g_batchnorm": "generator BatchNorm",
    "g_hidden_bias": "generator hidden biases",
    "hidden_d": "discriminator hidden layers", "d_activation": "discriminator units", "maxout_pieces": "maxout pieces",
    "init_std": "initial weights", "bn_momentum": "BatchNorm momentum", "lr": "Adam learning rate",
    "betas": "Adam betas",
    "packs_per_batch": "packs per batch", "steps": "generator steps", "seeds": "runs (seeds)", "z_dim": "noise",
    "n_eval": "samples scored", "mbstd_group": "minibatch-std group", "lr_decay_from": "learning-rate schedule",
    "benchmark_steps": "generator steps per benchmark",
}


def _field_text(name: str, value: object) -> str:
    if name == "init_std":
        return "PyTorch default" if value is None else f"N(0, {value}²)"
    if name == "lr_decay_from":
        return "constant" if value is None else f"linear decay to 0 after {100 * cast(float, value):.0f}% of the steps"
    if name in ("hidden_g", "hidden_d"):
        v = cast(tuple, value)
        return f"{len(v)} × {v[0]}" if len(set(v)) == 1 else str(v)
    if name == "benchmark_steps":
        v = cast(tuple, value)
        return "; ".join(f"{b} {n:,}" for b, n in v) if v else "the same on both"
    if name == "z_dim":
        return f"N(0, I_{value})"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 10_000:
        return f"{value:,}"
    return str(value)


def protocol_table(protocols: dict[str, BenchmarkProtocol]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the deviations table: every setting in which one of ``protocols`` differs from the
    released code (:data:`PROTOCOL`), then :data:`FIXED_DEVIATIONS`. Columns: setting, released code, then
    one per protocol."""
    header = ["setting", "released code", *protocols]
    rows = []
    for f in dataclasses.fields(BenchmarkProtocol):
        ref = getattr(PROTOCOL, f.name)
        values = [getattr(p, f.name) for p in protocols.values()]
        if any(v != ref for v in values):
            rows.append([FIELD_LABELS.get(f.name, f.name), _field_text(f.name, ref),
                         *[_field_text(f.name, v) if v != ref else "as released" for v in values]])
    for setting, released, here in FIXED_DEVIATIONS:
        rows.append([setting, released, *[here] * len(protocols)])
    return header, rows


def load_reference(path: str | Path | None = None, expected_sha256: str | None = None) -> dict:
    """The shipped reference run (JSON of ``scripts/mode_collapse_2d.py``), after checking its sha256
    against :data:`REFERENCE_SHA256` (or ``expected_sha256``). Raises ``ValueError`` on a mismatch."""
    path = Path(path) if path is not None else REFERENCE_PATH
    expected = REFERENCE_SHA256 if expected_sha256 is None else expected_sha256
    return load_pinned_json(path, expected)


def reference_scores(reference: dict, benchmark: str, method: str) -> list[ModeCoverage]:
    """A method's per-seed scores in a reference run, as :class:`ModeCoverage` (a missing KL is inf)."""
    rows = reference["results"][benchmark][method]["runs"]
    return [ModeCoverage(r["modes"], r["high_quality"], float("inf") if r["reverse_kl"] is None else r["reverse_kl"],
                         np.asarray(r["counts"])) for r in rows]


def packing_degree(method: str) -> int:
    """m of PacGANm; 1 for every other method."""
    if method not in ALL_METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {ALL_METHODS}")
    return int(method[len("PacGAN"):]) if method.startswith("PacGAN") else 1


def make_ensemble_pair(method: str, protocol: BenchmarkProtocol, seeds: Sequence[int]
                       ) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Batched G and D of ``method`` for the members ``seeds`` (:mod:`gan_utils.ensemble`). PacGANm widens
    only D's input layer to 2m inputs; MBStd adds one input to D's output layer."""
    m = packing_degree(method)
    p = protocol
    G = EnsembleMLP(EnsembleMLPConfig(p.z_dim, 2, p.hidden_g, "relu", batchnorm=p.g_batchnorm,
                                      bn_momentum=p.bn_momentum, hidden_bias=p.g_hidden_bias,
                                      init_std=p.init_std), seeds)
    d_cfg = EnsembleMLPConfig(2 * m, 1, p.hidden_d, p.d_activation, maxout_pieces=p.maxout_pieces,
                              init_std=p.init_std, head_extra=1 if method == "MBStd" else 0)
    D: torch.nn.Module
    if method == "MBStd":
        D = EnsembleMinibatchStdDiscriminator(d_cfg, seeds, p.mbstd_group)
    elif m > 1:
        D = PackedDiscriminator(EnsembleMLP(d_cfg, seeds), m, batch_dim=1)
    else:
        D = EnsembleMLP(d_cfg, seeds)
    if method == "SN-GAN":  # chapter 11: every layer of D spectrally normalised, per member
        batched_spectral_norm_(D)
    return G, D


class EnsembleRun(NamedTuple):
    scores: list[ModeCoverage]  # one per seed, at the end
    curve: list[tuple[int, list[ModeCoverage]]]  # (step, scores per seed) at the snapshot steps
    snapshots: list[tuple[int, np.ndarray]]  # (step, samples (S, snapshot_n, 2)) at the snapshot steps
    seconds: float  # wall time of training and scoring


def eval_noise(n: int, z_dim: int, seed: int = 12345, device: torch.device | str = "cpu") -> torch.Tensor:
    """The fixed evaluation codes (n, z_dim): every run of every method is scored on the same z."""
    return torch.randn(n, z_dim, generator=torch.Generator(device=device).manual_seed(seed), device=device)


def train_benchmark(method: str, benchmark: Benchmark, protocol: BenchmarkProtocol, seeds: Sequence[int],
                    device: torch.device | str = "cpu", snapshot_steps: Sequence[int] = (), snapshot_n: int = 500,
                    progress: bool = False, callbacks: Sequence[Callable[[EnsembleState], None]] = ()) -> EnsembleRun:
    """Train ``method`` on ``benchmark`` for every seed at once (one batched model,
    :func:`gan_utils.ensemble.train_ensemble`)
    under ``protocol``, and score each member on ``protocol.n_eval`` samples (the same codes for all).
    At each of ``snapshot_steps`` the members are scored too and ``snapshot_n`` of their samples kept.
    ``callbacks`` run after every generator step, after the snapshot (chapter 11 reads the trained critics)."""
    t0 = time.perf_counter()
    protocol = protocol.for_benchmark(benchmark.name)
    G, D = make_ensemble_pair(method, protocol, seeds)
    z = eval_noise(protocol.n_eval, protocol.z_dim, device=device)
    wanted = set(snapshot_steps)
    curve: list[tuple[int, list[ModeCoverage]]] = []
    snaps: list[tuple[int, np.ndarray]] = []

    def score_members() -> tuple[list[ModeCoverage], np.ndarray]:
        x = ensemble_generate(G, z).cpu()
        return [benchmark.score(xs) for xs in x], x[:, :snapshot_n].numpy()

    def snap(state: EnsembleState) -> None:
        if state.step in wanted:
            scores, x = score_members()
            curve.append((state.step, scores))
            snaps.append((state.step, x))

    if 0 in wanted:
        G.to(device)
        scores0, x0 = score_members()
        curve.append((0, scores0))
        snaps.append((0, x0))
    config = protocol.train_config(method)
    d_for_g = None
    if method.startswith("Unrolled"):
        k = int(method[len("Unrolled"):])
        d_for_g = lambda state: unrolled_ensemble_discriminator(state, benchmark.sampler(), k)  # noqa: E731
    train_ensemble(G, D, benchmark.sampler(), config, device, callbacks=[snap, *callbacks], progress=progress,
                   d_for_g=d_for_g, desc=f"{method} on the {benchmark.name}")
    # the last snapshot, when taken at the final step, already scored the trained members
    final = curve[-1][1] if curve and curve[-1][0] == config.steps else score_members()[0]
    return EnsembleRun(final, curve, snaps, time.perf_counter() - t0)


class BenchmarkJob(NamedTuple):
    """One ensemble of :func:`train_benchmark`: ``method`` on ``BENCHMARKS[benchmark]`` for ``seeds``."""
    method: str
    benchmark: str
    protocol: BenchmarkProtocol
    seeds: tuple[int, ...]
    snapshot_steps: tuple[int, ...] = ()


def _run_job(job: BenchmarkJob, device: str) -> EnsembleRun:
    with torch_threads(1):
        return train_benchmark(job.method, BENCHMARKS[job.benchmark], job.protocol, job.seeds, device,
                               snapshot_steps=job.snapshot_steps)


def job_cost(job: BenchmarkJob) -> float:
    """A relative cost for scheduling: generator steps times samples per batch (Unrolled: K + 1 D passes)."""
    unroll = int(job.method[len("Unrolled"):]) + 1 if job.method.startswith("Unrolled") else 1
    return job.protocol.for_benchmark(job.benchmark).steps * job.protocol.batch_size(job.method) * unroll


def train_benchmarks(jobs: Sequence[BenchmarkJob], device: torch.device | str = "cpu", workers: int = 1
                     ) -> list[EnsembleRun]:
    """Run ``jobs`` (:func:`train_benchmark`, each ensemble on one thread), in their order.

    ``workers > 1`` on the CPU runs them on that many fresh (spawned) processes, costliest first
    (:func:`job_cost`): small ensembles are bound by per-call overhead, so a second core gains little
    inside one run but almost 2x across two runs. Every run depends only on its job, so the results are
    the same as with ``workers = 1`` on the same machine.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    for job in jobs:
        if job.benchmark not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {job.benchmark!r}; use one of {sorted(BENCHMARKS)}")
        packing_degree(job.method)  # raises on an unknown method before any process starts
    dev = str(device)
    if workers == 1 or len(jobs) < 2 or torch.device(dev).type != "cpu":
        return [_run_job(job, dev) for job in jobs]
    order = sorted(range(len(jobs)), key=lambda i: -job_cost(jobs[i]))
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {i: pool.submit(_run_job, jobs[i], dev) for i in order}
        return [futures[i].result() for i in range(len(jobs))]


def balanced_floor(n_high_quality: float, modes: int, trials: int = 2000, seed: int = 0) -> tuple[float, float]:
    """What a perfectly balanced generator scores with the same number of high-quality samples: the
    mean number of modes captured and the mean reverse KL when ``round(n_high_quality)`` samples fall
    uniformly on ``modes`` modes (Monte Carlo over ``trials`` draws). Modes: K (1 - (1 - 1/K)^n) in
    expectation; the KL is the plug-in estimate's bias, about (K - 1) / (2 n) for large n."""
    n = int(round(n_high_quality))
    if n < 1:
        return 0.0, float("inf")
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(modes, 1 / modes), size=trials)
    q = counts / n
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(q > 0, q * np.log(q * modes), 0.0).sum(axis=1)
    return float((counts > 0).sum(axis=1).mean()), float(kl.mean())
