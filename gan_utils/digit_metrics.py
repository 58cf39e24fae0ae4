"""Scores of generated MNIST digits, read by the fixed classifier of :mod:`gan_utils.classifier`.

* :func:`class_histogram` and :func:`kl_to_uniform` (class balance), :func:`mean_confidence`,
  :func:`inception_score` (Salimans et al. 2016, with our classifier), :func:`frechet_distance` and
  :func:`classifier_frechet_distance` (the FID formula of Heusel et al. 2017 in the classifier's
  features), all at once in :func:`evaluate_generator_samples`; optionally the real
  :func:`inception_fid`. These numbers live in our classifier's feature space and are not
  comparable to the Inception Score / FID reported in papers.

The 2-D mode-coverage protocol is in :mod:`gan_utils.dynamics.mode_coverage`; divergences between
densities on a grid are in :mod:`gan_utils.foundations.divergences`.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
from scipy import linalg, special

from gan_utils.classifier import MNISTClassifier, classify

# ---------------------------------------------------------------------------------------------
# Generated MNIST digits, judged by the fixed classifier of gan_utils.classifier
# ---------------------------------------------------------------------------------------------
#
# Every number below lives in the feature space of OUR small MNIST classifier
# (gan_utils.pretrained.load("mnist-classifier")). They are useful to compare generators with
# each other, against the real-data references computed with the same classifier, and at equal
# sample sizes; they are NOT comparable to the Inception Score or Inception FID of papers, which
# use an ImageNet Inception-v3 network (see :func:`inception_fid` for that, where it can load).


def _check_probs(probs: torch.Tensor | np.ndarray) -> np.ndarray:
    p = torch.as_tensor(probs).detach().cpu().to(torch.float64).numpy()
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 2:
        raise ValueError(f"probabilities must have shape (N, K) with N >= 1, K >= 2; got {p.shape}")
    if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("each row of probabilities must be non-negative and sum to 1")
    return p


def class_histogram(probs: torch.Tensor | np.ndarray) -> np.ndarray:
    """Counts of the predicted class arg max_y p(y|x) over the N images, shape (K,)."""
    p = _check_probs(probs)
    return np.bincount(p.argmax(axis=1), minlength=p.shape[1])


def kl_to_uniform(counts: np.ndarray | torch.Tensor) -> float:
    """KL(q || u) = sum_k q_k log(q_k K) (nats) of the histogram q = counts / sum(counts) against the
    uniform u_k = 1/K. Empty bins contribute 0; 0 for a perfectly balanced histogram, log K when
    every sample falls into one class (the mode-collapse extreme)."""
    c = torch.as_tensor(counts).detach().cpu().to(torch.float64).numpy()
    if c.ndim != 1 or c.size < 2 or (c < 0).any() or c.sum() <= 0:
        raise ValueError("counts must be a 1-D array of K >= 2 non-negative values with a positive sum")
    q = c / c.sum()
    nz = q > 0
    return float(np.sum(q[nz] * np.log(q[nz] * c.size)))


def mean_confidence(probs: torch.Tensor | np.ndarray) -> float:
    """E_x max_y p(y|x): how sure the classifier is, on average (1/K .. 1). Blurry or
    in-between digits score low; it says nothing about diversity. Inputs far from any digit can
    still score high (the shipped classifier calls uniform noise one digit with near certainty),
    so read it together with the class KL and the Fréchet distance."""
    return float(_check_probs(probs).max(axis=1).mean())


def inception_score(probs: torch.Tensor | np.ndarray, splits: int = 1) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) with p(y) = E_x p(y|x), from the class probabilities (N, K).

    The Inception Score of Salimans et al. (2016), computed with our MNIST classifier instead of
    Inception-v3 ("MNIST inception score"). It lies in [1, K]: K when each image is classified with
    certainty and the classes are balanced, 1 when every p(y|x) is the same. Like the paper, the N
    images are cut into ``splits`` consecutive equal parts (any remainder is dropped), the score is
    computed within each part (its own p(y)), and the mean and standard deviation over the parts
    are returned (sd = 0 for one split). The score grows with the number of images per part, so
    compare values only at equal part sizes.
    """
    p = _check_probs(probs)
    if not 1 <= splits <= len(p):
        raise ValueError(f"splits must be in [1, N={len(p)}], got {splits}")
    size = len(p) // splits
    scores = []
    for i in range(splits):
        part = p[i * size:(i + 1) * size]
        marginal = part.mean(axis=0, keepdims=True)
        kl = special.xlogy(part, part) - special.xlogy(part, marginal)  # 0 log 0 = 0
        scores.append(float(np.exp(kl.sum(axis=1).mean())))
    return float(np.mean(scores)), float(np.std(scores))


def frechet_distance(features_a: torch.Tensor | np.ndarray, features_b: torch.Tensor | np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2}) of Gaussians fitted to two feature sets.

    The Fréchet (2-Wasserstein) distance between N(mu_a, S_a) and N(mu_b, S_b), the formula of the
    FID (Heusel et al. 2017), with means and unbiased covariances of the (N, d) and (M, d) feature
    sets, in float64. Tr (S_a S_b)^{1/2} is computed as Tr (R S_b R)^{1/2} with R = S_a^{1/2}: the two
    matrices have the same eigenvalues, and the second is symmetric, so ``scipy.linalg.eigh`` gives
    real, clipped-at-zero eigenvalues even when S_a or S_b is singular (dead ReLU units), where
    ``scipy.linalg.sqrtm(S_a @ S_b)`` can return complex round-off.

    Why not torchmetrics: its ``FrechetInceptionDistance`` does accept our classifier as feature
    extractor (an ``nn.Module`` with ``num_features``; see :class:`gan_utils.classifier.FeatureExtractor`)
    and gives the same number (tests/test_mnist_metrics.py checks this), but importing torchmetrics
    costs several seconds of CPU time in every notebook that scores digits, for a three-line formula.

    The estimate is biased upwards at finite sample sizes (two samples of one distribution give a
    positive value), so compare values computed at equal sizes.
    """
    a = torch.as_tensor(features_a).detach().cpu().to(torch.float64).numpy()
    b = torch.as_tensor(features_b).detach().cpu().to(torch.float64).numpy()
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (N, d) and (M, d); got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("need at least 2 feature vectors in each set")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    w, v = linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    middle = root_a @ cov_b @ root_a
    ev = linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(ev, 0.0, None)).sum())
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt)


def classifier_frechet_distance(
    images_a: torch.Tensor, images_b: torch.Tensor, classifier: MNISTClassifier, batch_size: int = 1000
) -> float:
    """Fréchet distance between two image sets (N, 1, 28, 28) in [-1, 1], in the classifier's
    penultimate features f(x) (128-d for the shipped classifier): a "Fréchet MNIST distance".

    Not comparable to the Inception FID of papers (other network, other features). The floor to
    read it against is the distance between two real sets of the same sizes, e.g. MNIST test vs
    an equally large part of MNIST train.
    """

    return frechet_distance(classify(classifier, images_a, batch_size).features,
                            classify(classifier, images_b, batch_size).features)


@dataclasses.dataclass(frozen=True)
class GeneratedDigitMetrics:
    """What :func:`evaluate_generator_samples` measures (all in the shipped classifier's terms)."""

    n: int  # number of images scored
    class_counts: tuple[int, ...]  # histogram of predicted classes
    class_kl: float  # KL(histogram || uniform), nats; 0 balanced, log 10 one class only
    confidence: float  # mean max-softmax
    confidence_se: float  # its standard error over the n images, sd / sqrt(n) (0 for one image)
    inception_score: float  # exp(E KL(p(y|x) || p(y))), mean over splits; in [1, 10]
    inception_score_std: float  # sd over splits (0 with one split)
    frechet_distance: float | None  # to the reference images in f(x) space; None without them

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def evaluate_generator_samples(
    images: torch.Tensor,
    classifier: MNISTClassifier,
    reference: torch.Tensor | None = None,
    splits: int = 1,
    batch_size: int = 1000,
    reference_features: torch.Tensor | None = None,
) -> GeneratedDigitMetrics:
    """Score generated digits (N, 1, 28, 28) in [-1, 1] with the MNIST classifier.

    ``reference`` (real images, e.g. the MNIST test set) enables the Fréchet distance; pass an
    equally large real set so numbers are comparable across calls. When scoring many sets against
    one reference (e.g. during training), compute its features once with
    ``gan_utils.classifier.classify(classifier, reference).features`` and pass them as
    ``reference_features`` instead. Apply the function to real images to get the references: real
    test images give the ceiling of the inception score and confidence (and the class KL of the
    real label balance); real test vs real train gives the Fréchet floor.
    """

    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"expected images of shape (N, 1, 28, 28), got {tuple(images.shape)}")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1.0 - 1e-3 or hi > 1.0 + 1e-3:
        raise ValueError(f"images must lie in [-1, 1] (like load_mnist and a Tanh generator); got [{lo:.3g}, {hi:.3g}]")
    out = classify(classifier, images, batch_size)
    counts = class_histogram(out.probs)
    is_mean, is_std = inception_score(out.probs, splits)
    if reference is not None and reference_features is not None:
        raise ValueError("pass either reference images or reference_features, not both")
    if reference is not None:
        reference_features = classify(classifier, reference, batch_size).features
    fd = None if reference_features is None else frechet_distance(reference_features, out.features)
    top = _check_probs(out.probs).max(axis=1)  # each image's max-softmax
    se = float(top.std(ddof=1) / np.sqrt(len(top))) if len(top) > 1 else 0.0
    return GeneratedDigitMetrics(
        n=len(images), class_counts=tuple(int(c) for c in counts), class_kl=kl_to_uniform(counts),
        confidence=mean_confidence(out.probs), confidence_se=se, inception_score=is_mean,
        inception_score_std=is_std, frechet_distance=fd,
    )


class InceptionUnavailableError(RuntimeError):
    """The Inception-v3 FID cannot run here (torch-fidelity missing or its weights not downloadable)."""


def inception_fid(
    images_a: torch.Tensor, images_b: torch.Tensor, device: torch.device | str = "cpu", batch_size: int = 200
) -> float:
    """The standard Inception FID (torchmetrics, ImageNet Inception-v3 pool features, 2048-d) of two
    sets of MNIST-shaped images in [-1, 1], for comparison with published numbers.

    Optional: it needs the ``torch-fidelity`` package and a download of the Inception weights
    (works on Colab, not offline). Grey digits are repeated to 3 channels, mapped to [0, 1] and
    resized to 299 x 299 by torchmetrics. Raises :class:`InceptionUnavailableError` with a one-line
    reason when it cannot run. Slow on a CPU (Inception-v3 at 299 x 299 per image).
    """
    try:
        from torchmetrics.image.fid import FrechetInceptionDistance  # noqa: PLC0415  (optional: needs torch-fidelity)

        fid = FrechetInceptionDistance(feature=2048, normalize=True).to(device)
    except Exception as exc:  # ModuleNotFoundError (torch-fidelity), URLError (no network), ...
        raise InceptionUnavailableError(
            f"Inception FID unavailable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "it needs `pip install torch-fidelity` and network access for the weights"
        ) from None
    for images, real in ((images_a, True), (images_b, False)):
        if images.dim() != 4 or images.shape[1] != 1:
            raise ValueError(f"expected grey images (N, 1, H, W), got {tuple(images.shape)}")
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].to(device=device, dtype=torch.float32)
            fid.update(((x + 1) / 2).clamp(0, 1).repeat(1, 3, 1, 1), real=real)
    return float(fid.compute())
