"""A small MNIST digit classifier: the ruler for generated digits (book chapters 7 onward).

Generated digits are judged by what a fixed classifier makes of them (:mod:`gan_utils.digit_metrics`):
which classes appear and how often, how confident it is, and how far the generated images' features
lie from the real ones'. This module defines that classifier, trains it, and runs it in batches.

Architecture (input: images in [-1, 1], shape (N, 1, 28, 28), exactly as
:func:`gan_utils.data.load_mnist` returns them and a Tanh generator produces them)::

    conv 5x5, 16 -> BN -> ReLU -> maxpool 2     (16 x 14 x 14)
    conv 5x5, 32 -> BN -> ReLU -> maxpool 2     (32 x 7 x 7)
    conv 3x3, 64 -> BN -> ReLU -> maxpool 2     (64 x 3 x 3)
    linear 576 -> 128 -> ReLU                   penultimate features f(x), 128-d
    dropout -> linear 128 -> 10                 logits; p(y|x) = softmax(logits)

107 002 parameters (a 0.43 MB safetensors file). Training is plain supervised learning:
AdamW on the cross-entropy with a one-cycle learning-rate schedule, 4 epochs, and random shifts
of up to ``max_shift`` pixels as the only augmentation (no test-set tuning beyond this one
configuration). The shipped weights come from ``python scripts/train_classifier.py`` and
classify 99.45% of the 10 000 MNIST test images correctly (measured; see
:mod:`gan_utils.pretrained`, whose registry records it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from gan_utils.models import register_model
from gan_utils.runtime import seed_everything

IMAGE_SHAPE = (1, 28, 28)


@dataclass(frozen=True)
class MNISTClassifierConfig:
    """Widths of :class:`MNISTClassifier` (stored in its checkpoint, so the model rebuilds from file)."""

    channels: tuple[int, int, int] = (16, 32, 64)
    hidden: int = 128  # dimension of the penultimate features used by the Frechet distance
    num_classes: int = 10
    dropout: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))  # JSON gives a list
        if len(self.channels) != 3 or any(c <= 0 for c in self.channels):
            raise ValueError(f"channels must be three positive widths, got {self.channels}")
        if self.hidden <= 0 or self.num_classes < 2:
            raise ValueError(f"need hidden > 0 and num_classes >= 2: {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def _conv_block(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


class MNISTClassifier(nn.Module):
    """x (N, 1, 28, 28) in [-1, 1] -> class logits (N, num_classes); :meth:`features` gives f(x)."""

    def __init__(self, config: MNISTClassifierConfig | None = None):
        super().__init__()
        self.config = config = config or MNISTClassifierConfig()
        c1, c2, c3 = config.channels
        self.conv = nn.Sequential(_conv_block(1, c1, 5), _conv_block(c1, c2, 5), _conv_block(c2, c3, 3))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(c3 * 3 * 3, config.hidden), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(config.hidden, config.num_classes))

    @property
    def num_features(self) -> int:
        """Dimension of :meth:`features` (torchmetrics reads this name from a feature extractor)."""
        return self.config.hidden

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
            raise ValueError(f"expected images of shape (N, 1, 28, 28), got {tuple(x.shape)}")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate activations f(x), shape (N, hidden)."""
        self._check(x)
        return self.fc(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


register_model("MNISTClassifier", MNISTClassifier, MNISTClassifierConfig)


class FeatureExtractor(nn.Module):
    """Wraps a classifier so that ``forward`` returns its penultimate features f(x).

    This is the form torchmetrics' ``FrechetInceptionDistance(feature=...)`` accepts: an
    ``nn.Module`` mapping a batch of images to (N, d), with ``num_features = d``. Always in eval mode.
    """

    def __init__(self, classifier: MNISTClassifier):
        super().__init__()
        self.classifier = classifier
        self.num_features = classifier.num_features
        self.eval()

    def train(self, mode: bool = True) -> "FeatureExtractor":
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(x.float())


class ClassifierOutputs(NamedTuple):
    probs: torch.Tensor  # (N, num_classes) softmax probabilities p(y|x), float32, on the CPU
    features: torch.Tensor  # (N, hidden) penultimate features f(x), float32, on the CPU


@torch.no_grad()
def classify(classifier: MNISTClassifier, images: torch.Tensor, batch_size: int = 1000) -> ClassifierOutputs:
    """Run the classifier in eval mode over ``images`` in batches; return p(y|x) and f(x) on the CPU.

    Batches are moved to the classifier's device, so ``images`` may live anywhere.
    """
    if images.dim() != 4 or tuple(images.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(f"expected images of shape (N, 1, 28, 28), got {tuple(images.shape)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    was_training = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    probs, feats = [], []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].to(device=device, dtype=torch.float32)
            f = classifier.features(x)
            probs.append(torch.softmax(classifier.head(f), dim=1).cpu())
            feats.append(f.cpu())
    finally:
        classifier.train(was_training)
    if not probs:
        raise ValueError("need at least one image")
    return ClassifierOutputs(torch.cat(probs), torch.cat(feats))


def accuracy(classifier: MNISTClassifier, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Share of images whose arg-max class equals the label."""
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    pred = classify(classifier, images, batch_size).probs.argmax(dim=1)
    return float((pred == labels.cpu()).double().mean())


@dataclass(frozen=True)
class ClassifierTrainConfig:
    """Everything that defines the classifier's training run (stored in its checkpoint)."""

    epochs: int = 4
    batch_size: int = 128
    max_lr: float = 3e-3  # peak of the one-cycle schedule
    weight_decay: float = 1e-4
    max_shift: int = 2  # random translation in pixels, per image and axis (0 turns it off)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.max_lr <= 0 or self.max_shift < 0:
            raise ValueError(f"need epochs >= 1, batch_size >= 1, max_lr > 0, max_shift >= 0: {self}")


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by its own integer offset in [-max_shift, max_shift]^2, filling with -1 (black)."""
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    off = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator).to(x.device)
    rows = off[0][:, None] + torch.arange(h, device=x.device)  # (n, h)
    cols = off[1][:, None] + torch.arange(w, device=x.device)  # (n, w)
    idx = torch.arange(n, device=x.device)[:, None, None]
    return padded[idx, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    config: ClassifierTrainConfig = ClassifierTrainConfig(),
    model_config: MNISTClassifierConfig = MNISTClassifierConfig(),
    device: torch.device | str = "cpu",
    progress: bool = True,
    callback: Callable[[int, float], None] | None = None,
) -> tuple[MNISTClassifier, list[float]]:
    """Train a fresh classifier on (images, labels); return it (in eval mode) and the per-step losses.

    A loop of its own, not :func:`gan_utils.step.gan_step` or :mod:`gan_utils.fixed_opponent`: it minimises
    a supervised loss (cross-entropy against labels, with dropout and shifted batches), not a two-player game.

    All randomness (initial weights, dropout, batch order, shifts) follows ``config.seed``, so two
    runs on the same machine, library versions and thread count give the same weights.
    ``callback(step, loss)`` is called after every optimiser step.
    """
    if images.dim() != 4 or tuple(images.shape[1:]) != IMAGE_SHAPE or len(images) != len(labels):
        raise ValueError(f"need images (N, 1, 28, 28) and N labels; got {tuple(images.shape)}, {tuple(labels.shape)}")
    seed_everything(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = MNISTClassifier(model_config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=config.max_lr, weight_decay=config.weight_decay)
    steps_per_epoch = -(-len(images) // config.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.max_lr, total_steps=config.epochs * steps_per_epoch)
    losses: list[float] = []
    model.train()
    bar = tqdm(total=config.epochs * steps_per_epoch, desc="classifier", disable=not progress)
    for _ in range(config.epochs):
        order = torch.randperm(len(images), generator=gen)
        for start in range(0, len(images), config.batch_size):
            idx = order[start:start + config.batch_size]
            x = random_shift(images[idx.to(images.device)].to(device), config.max_shift, gen)
            y = labels[idx.to(labels.device)].to(device)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            if callback is not None:
                callback(len(losses), losses[-1])
            bar.update(1)
            if len(losses) % 50 == 0:
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
    bar.close()
    return model.eval(), losses
