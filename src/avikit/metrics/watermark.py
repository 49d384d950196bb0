"""Watermark detection metrics: TPR at a fixed FPR, AUC, bit accuracy, message p-value, localization IoU.

Definitions follow the AudioSeal evaluation (San Roman et al., "Proactive Detection of Voice Cloning with
Localized Watermarking", ICML 2024, sec. 5) and omnisealbench (facebookresearch/omnisealbench, commit
``2c3a2b1``, ``metrics/detection.py``):

- a detector gives every clip a score; a clip is flagged when its score is **strictly above** a threshold
  set on the *null* distribution (scores of clean, unwatermarked clips): the threshold is the smallest
  null score such that at most ``floor(fpr * N)`` of the ``N`` null scores lie above it, so the realised
  false-positive rate never exceeds the requested one. TPR is the flagged share of watermarked clips;
- AUC is the Mann-Whitney probability that a watermarked clip scores above a clean one (ties count half);
- bit accuracy is the share of message bits decoded right;
- the p-value of a decoded message with ``k`` of ``n`` bits right is ``P(X >= k)`` for ``X ~ Bin(n, 1/2)``:
  the chance that an unwatermarked clip matches the message that well;
- localization IoU compares the per-sample watermark mask the detector predicts with the true one.

Per-clip statistics come first (:func:`compute_watermark_statistics`), scores from them
(:func:`compute_watermark_scores`), and :func:`evaluate_watermark` chains the two.

Example:
    >>> null = np.linspace(0.0, 0.5, 1000)
    >>> scores = evaluate_watermark(np.r_[0.4, 0.9, 0.95, 1.0], null, np.ones((4, 16)), np.ones((4, 16)))
    >>> scores["tpr@fpr=0.01"], scores["bit_accuracy"]
    (0.75, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.metrics._validation import as_finite

__all__ = [
    "FPR_LEVELS",
    "compute_auc",
    "compute_binomial_p_value",
    "compute_bit_accuracy",
    "compute_detection_threshold",
    "compute_localization_iou",
    "compute_tpr_at_fpr",
    "compute_watermark_scores",
    "compute_watermark_statistics",
    "evaluate_watermark",
]

FPR_LEVELS = (1e-2, 1e-3)
"""The false-positive rates at which detection is reported."""


def compute_detection_threshold(null_scores: ArrayLike, fpr: float) -> float:
    """The threshold on clean scores that flags at most ``floor(fpr * N)`` of the ``N`` clean clips.

    A clip is flagged when its score is strictly above the threshold.

    Args:
        null_scores: ``[N]`` detector scores of clean (unwatermarked) clips; ``N >= 1 / fpr``.
        fpr: the false-positive rate, in (0, 1).

    Returns:
        The ``(floor(fpr * N) + 1)``-th largest null score.

    Example:
        >>> compute_detection_threshold(np.arange(100.0), 0.01)
        98.0
    """
    null = as_finite(null_scores, "null_scores", 1).astype(np.float64)
    if not 0 < fpr < 1:
        raise ValueError(f"fpr must lie in (0, 1), got {fpr}")
    if len(null) * fpr < 1:
        raise ValueError(
            f"an FPR of {fpr:g} needs at least {math.ceil(1 / fpr)} clean scores, got {len(null)}; "
            "score more clean clips"
        )
    allowed = math.floor(fpr * len(null) + 1e-9)  # 1e-9: fpr * N is an integer up to rounding
    return float(np.sort(null)[::-1][allowed])


def compute_tpr_at_fpr(scores: ArrayLike, null_scores: ArrayLike, fpr: float) -> dict[str, float]:
    """Share of watermarked clips flagged at the threshold of :func:`compute_detection_threshold`.

    Args:
        scores: ``[M]`` detector scores of watermarked (possibly attacked) clips.
        null_scores: ``[N]`` scores of clean clips.
        fpr: the requested false-positive rate.

    Returns:
        ``{"tpr", "threshold", "fpr"}``: TPR in [0, 1] (``higher_is_better``), the threshold and the
        realised FPR on the clean scores (at most ``fpr``).

    Example:
        >>> compute_tpr_at_fpr([0.5, 2.0, 3.0], np.arange(100) / 100, 0.01)["tpr"]
        0.6666666666666666
    """
    positive = as_finite(scores, "scores", 1).astype(np.float64)
    null = as_finite(null_scores, "null_scores", 1).astype(np.float64)
    threshold = compute_detection_threshold(null, fpr)
    return {
        "tpr": float(np.mean(positive > threshold)) if len(positive) else math.nan,
        "threshold": threshold,
        "fpr": float(np.mean(null > threshold)),
    }


def compute_auc(scores: ArrayLike, null_scores: ArrayLike) -> float:
    """Area under the ROC curve: ``P(positive > clean) + P(positive == clean) / 2`` (Mann-Whitney U).

    Computed from midranks in ``O((M + N) log(M + N))``.

    Example:
        >>> compute_auc([1.0, 2.0], [0.0, 1.0])
        0.875
    """
    positive = as_finite(scores, "scores", 1).astype(np.float64)
    null = as_finite(null_scores, "null_scores", 1).astype(np.float64)
    if not len(positive) or not len(null):
        raise ValueError("AUC needs at least one watermarked and one clean score")
    joined = np.concatenate([positive, null])
    order = np.argsort(joined, kind="mergesort")
    ranks = np.empty(len(joined))
    ranks[order] = np.arange(1, len(joined) + 1)
    _, inverse, counts = np.unique(joined, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    midranks = sums[inverse] / counts[inverse]
    u = midranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return float(u / (len(positive) * len(null)))


def compute_bit_accuracy(decoded: ArrayLike, message: ArrayLike) -> NDArray[np.float64]:
    """Per clip, the share of bits decoded right.

    Args:
        decoded: ``[M, B]`` decoded bits (0/1, or probabilities rounded at 0.5).
        message: ``[M, B]`` or ``[B]`` embedded bits.

    Returns:
        ``float64 [M]`` in [0, 1], ``higher_is_better=True``.

    Example:
        >>> compute_bit_accuracy([[1, 0, 1, 1]], [1, 1, 1, 1])
        array([0.75])
    """
    bits = as_finite(decoded, "decoded", 2) >= 0.5
    truth = np.broadcast_to(as_finite(message, "message", (1, 2)) >= 0.5, bits.shape)
    return np.mean(bits == truth, axis=-1, dtype=np.float64)


def compute_binomial_p_value(correct: ArrayLike, num_bits: int) -> NDArray[np.float64]:
    """``P(X >= k)`` for ``X ~ Bin(num_bits, 1/2)``: how likely chance matches ``k`` or more bits.

    Exact: ``sum_{i >= k} C(n, i) / 2^n`` in integers.

    Args:
        correct: ``[M]`` bits right per clip (integers in ``[0, num_bits]``).
        num_bits: message length ``n``.

    Returns:
        ``float64 [M]`` in (0, 1]; lower means stronger evidence of the message.

    Example:
        >>> compute_binomial_p_value([16, 8], 16)
        array([1.52587891e-05, 5.98190308e-01])
    """
    k = np.asarray(correct)
    if k.ndim > 1 or np.any(k < 0) or np.any(k > num_bits) or np.any(k != np.round(k)):
        raise ValueError(f"correct must hold integer bit counts in [0, {num_bits}], got {k!r}")
    tails = np.cumsum([math.comb(num_bits, i) for i in range(num_bits, -1, -1)])[
        ::-1
    ]  # tails[k] = sum_{i>=k}
    return np.array([tails[int(v)] / 2**num_bits for v in np.atleast_1d(k)], dtype=np.float64).reshape(
        k.shape
    )


def compute_localization_iou(predicted: ArrayLike, truth: ArrayLike, threshold: float = 0.5) -> float:
    """IoU of the samples flagged as watermarked (``predicted > threshold``) with the true mask.

    Args:
        predicted: ``[..., N]`` per-sample watermark probabilities.
        truth: ``[..., N]`` true per-sample mask (1 where the watermark is).
        threshold: probability above which a sample counts as watermarked.

    Returns:
        IoU over all samples, in [0, 1] (1 when both masks are empty).

    Example:
        >>> compute_localization_iou([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0])
        0.5
    """
    flagged = as_finite(predicted, "predicted", tuple(range(1, 6))) > threshold
    marked = as_finite(truth, "truth", flagged.ndim) >= 0.5
    if flagged.shape != marked.shape:
        raise ValueError(f"predicted {flagged.shape} and truth {marked.shape} must have equal shapes")
    union = np.logical_or(flagged, marked).sum()
    return 1.0 if union == 0 else float(np.logical_and(flagged, marked).sum() / union)


def compute_watermark_statistics(
    scores: ArrayLike, decoded: ArrayLike, message: ArrayLike
) -> dict[str, NDArray[np.float64]]:
    """Per watermarked clip: its detection score, bit accuracy, bits right and message p-value.

    Args:
        scores: ``[M]`` detection scores.
        decoded: ``[M, B]`` decoded bits.
        message: ``[M, B]`` or ``[B]`` embedded bits.

    Returns:
        ``{"score", "bit_accuracy", "bits_correct", "p_value"}``, each ``[M]``.
    """
    score = as_finite(scores, "scores", 1).astype(np.float64)
    accuracy = compute_bit_accuracy(decoded, message)
    if len(accuracy) != len(score):
        raise ValueError(f"{len(score)} scores but {len(accuracy)} decoded messages")
    num_bits = np.shape(decoded)[-1]
    correct = np.round(accuracy * num_bits)
    return {
        "score": score,
        "bit_accuracy": accuracy,
        "bits_correct": correct,
        "p_value": compute_binomial_p_value(correct, num_bits),
    }


def compute_watermark_scores(
    statistics: dict[str, NDArray[np.float64]], null_scores: ArrayLike, fprs: Sequence[float] = FPR_LEVELS
) -> dict[str, float]:
    """Scores of one set of watermarked clips against clean ones.

    Returns:
        ``tpr@fpr=<f>`` and ``threshold@fpr=<f>`` per FPR level, ``auc``, mean ``bit_accuracy`` and the
        median ``p_value`` of the decoded messages.
    """
    out: dict[str, float] = {}
    for fpr in fprs:
        found = compute_tpr_at_fpr(statistics["score"], null_scores, fpr)
        out[f"tpr@fpr={fpr:g}"] = found["tpr"]
        out[f"threshold@fpr={fpr:g}"] = found["threshold"]
    out["auc"] = compute_auc(statistics["score"], null_scores)
    out["bit_accuracy"] = float(np.mean(statistics["bit_accuracy"]))
    out["p_value"] = float(np.median(statistics["p_value"]))
    return out


def evaluate_watermark(
    scores: ArrayLike,
    null_scores: ArrayLike,
    decoded: ArrayLike,
    message: ArrayLike,
    fprs: Sequence[float] = FPR_LEVELS,
) -> dict[str, float]:
    """:func:`compute_watermark_statistics` then :func:`compute_watermark_scores`."""
    return compute_watermark_scores(compute_watermark_statistics(scores, decoded, message), null_scores, fprs)
