"""Watching a generator train (book chapter 7, section "Training from scratch").

:class:`DigitMonitor` is a :func:`gan_utils.train.train_gan` callback. It keeps two records that
make runs comparable over time:

* ``snapshots[step]``: G(z_fixed) at the chosen steps, for one noise batch drawn *once* before
  training, so the grids differ only because G changed (the pytorch/examples DCGAN habit);
* ``curve``: the MNIST-classifier metrics of :func:`gan_utils.digit_metrics.evaluate_generator_samples`
  (class KL to uniform, confidence, inception score, Fréchet distance) of G(z_eval) every
  ``eval_every`` steps and at ``last_step``.

G is run in eval mode (BatchNorm's running statistics, as a shipped generator is used) through
:func:`gan_utils.models.generate`, which restores its mode; the monitor draws no random numbers, so
watching a run does not change it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from gan_utils.classifier import MNISTClassifier, classify
from gan_utils.digit_metrics import evaluate_generator_samples
from gan_utils.models import generate

CURVE_KEYS = ("class_kl", "confidence", "frechet_distance", "inception_score")


@dataclass
class DigitMonitor:
    """Fixed-noise snapshots and classifier metrics of G over training (a train_gan callback)."""

    classifier: MNISTClassifier
    reference: torch.Tensor  # real images (N, 1, 28, 28) in [-1, 1] for the Fréchet distance
    z_fixed: torch.Tensor  # the noise batch drawn at every snapshot step
    z_eval: torch.Tensor  # the noise batch scored every eval_every steps
    snapshot_steps: tuple[int, ...]
    eval_every: int
    last_step: int  # always scored, even when not a multiple of eval_every
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)  # step -> images on the CPU
    curve: dict[str, list[float]] = field(default_factory=lambda: {"step": [], **{k: [] for k in CURVE_KEYS}})

    def __post_init__(self) -> None:
        if self.eval_every < 1:
            raise ValueError(f"eval_every must be >= 1, got {self.eval_every}")
        self._reference_features: torch.Tensor | None = None

    def record(self, step: int, G: nn.Module) -> None:
        """Draw the snapshot grid if ``step`` is a snapshot step; score G if it is an evaluation step."""
        if step in self.snapshot_steps:
            self.snapshots[step] = generate(G, self.z_fixed).cpu()
        if step % self.eval_every == 0 or step == self.last_step:
            if self._reference_features is None:  # the real set's features, computed once
                self._reference_features = classify(self.classifier, self.reference).features
            m = evaluate_generator_samples(generate(G, self.z_eval), self.classifier,
                                           reference_features=self._reference_features)
            self.curve["step"].append(step)
            for key in CURVE_KEYS:
                self.curve[key].append(getattr(m, key))

    def __call__(self, state) -> None:  # state: gan_utils.train.TrainState
        self.record(state.step, state.G)
