"""Audio-visual classification: top-k accuracy (single-label) and mAP (multi-label, AudioSet style).

Accuracy follows sklearn ``accuracy_score`` of ``np.argmax`` (first index on ties) as in YuanGongND/cav-mae
``src/utilities/stats.py::calculate_stats`` at 68fe8c2a39, or sklearn ``top_k_accuracy_score`` (ties go to the
*last* index) for ``tie_rule="last"``. mAP is the mean over classes of sklearn ``average_precision_score``
(step-wise, no interpolation), as in ``calculate_stats``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.metrics._validation import as_binary, as_finite, as_labels, non_empty

__all__ = [
    "compute_average_precision",
    "compute_classification_statistics",
    "compute_topk_accuracy",
    "evaluate_classification_accuracy",
    "evaluate_multilabel_map",
]


def compute_classification_statistics(
    scores: ArrayLike,
    labels: ArrayLike,
    top_k: tuple[int, ...] = (1, 5),
    tie_rule: Literal["first", "last"] = "first",
) -> dict[str, NDArray]:
    """Per-sample top-k hits.

    Args:
        scores: ``[N, C]`` class scores.
        labels: ``[N]`` class indices.
        top_k: the k values.
        tie_rule: ``"first"`` (numpy argmax / stable descending) or ``"last"`` (sklearn
        ``top_k_accuracy_score``).

    Returns:
        ``{"top{k}_correct": float64 [N]}`` for each k.
    """
    score_array = as_finite(scores, "scores", 2)
    label_array = as_labels(labels, "labels", 1, score_array.shape[1])
    if len(label_array) != len(score_array):
        raise UsageError(f"labels has {len(label_array)} items but scores has {len(score_array)}")
    if tie_rule == "first":
        ranking = np.argsort(-score_array, axis=1, kind="stable")
    elif tie_rule == "last":
        ranking = np.argsort(score_array, axis=1, kind="stable")[:, ::-1]
    else:
        raise UsageError(f"tie_rule must be 'first' or 'last', got {tie_rule!r}")
    position = np.argmax(ranking == label_array[:, None], axis=1)
    return {f"top{k}_correct": (position < k).astype(np.float64) for k in top_k}


def compute_topk_accuracy(statistics: dict[str, NDArray]) -> dict[str, float]:
    """Top-k accuracies (fractions in [0, 1]) from :func:`compute_classification_statistics`."""
    result = {}
    for key, hits in statistics.items():
        non_empty(hits, f"statistics['{key}']")
        result[key.replace("_correct", "_accuracy")] = float(np.average(hits))
    return result


def evaluate_classification_accuracy(
    scores: ArrayLike,
    labels: ArrayLike,
    top_k: tuple[int, ...] = (1, 5),
    tie_rule: Literal["first", "last"] = "first",
) -> dict[str, float]:
    """Single-label top-k accuracy.

    Args:
        scores: ``[N, C]`` class scores or logits.
        labels: ``[N]`` class indices.
        top_k: which k to report.
        tie_rule: see :func:`compute_classification_statistics`.

    Returns:
        ``{"top1_accuracy": ..., "top5_accuracy": ...}`` in [0, 1], ``higher_is_better=True``.

    Example:
        >>> evaluate_classification_accuracy([[0.1, 0.9], [0.5, 0.5]], [1, 1], top_k=(1,))
        {'top1_accuracy': 0.5}
    """
    return compute_topk_accuracy(compute_classification_statistics(scores, labels, top_k, tie_rule))


def compute_average_precision(scores: ArrayLike, targets: ArrayLike) -> NDArray[np.float64]:
    """Per-class average precision ``[C]`` as sklearn ``average_precision_score`` (vectorized over classes).

    Args:
        scores: ``[N, C]`` scores.
        targets: ``[N, C]`` binary targets.

    Returns:
        AP per class; a class without positives gets 0.0 (sklearn warns and returns 0.0 too, as its recall is
        undefined).
    """
    score_array = as_finite(scores, "scores", 2).astype(np.float64)
    target_array = as_binary(targets, "targets", 2)
    if score_array.shape != target_array.shape:
        raise UsageError(f"scores {score_array.shape} and targets {target_array.shape} must both be [N, C]")
    non_empty(score_array, "scores")
    order = np.argsort(-score_array, axis=0, kind="stable")
    sorted_scores = np.take_along_axis(score_array, order, axis=0)
    sorted_targets = np.take_along_axis(target_array, order, axis=0).astype(np.float64)
    tp = np.cumsum(sorted_targets, axis=0)
    seen = np.arange(1, len(score_array) + 1, dtype=np.float64)[:, None]
    # a threshold ends where the next sorted score differs (sklearn's distinct thresholds)
    last_of_tie = np.vstack(
        [sorted_scores[1:] != sorted_scores[:-1], np.ones((1, score_array.shape[1]), bool)]
    )
    positives = tp[-1]
    precision = tp / seen
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(positives > 0, tp / positives, 0.0)
    ap = np.zeros(score_array.shape[1])
    for cls in range(score_array.shape[1]):
        rows = last_of_tie[:, cls]
        rec, prec = recall[rows, cls], precision[rows, cls]
        ap[cls] = np.sum(np.diff(np.concatenate([[0.0], rec])) * prec) if positives[cls] > 0 else 0.0
    return ap


def evaluate_multilabel_map(scores: ArrayLike, targets: ArrayLike) -> float:
    """Multi-label mean average precision (AudioSet / VGGSound style).

    Official: cav-mae ``src/utilities/stats.py::calculate_stats`` at 68fe8c2a39 (mean over classes of sklearn
    ``average_precision_score``). Not a mean over samples, so no per-sample statistics: shard by concatenating
    scores and targets.

    Args:
        scores: ``[N, C]`` scores.
        targets: ``[N, C]`` binary targets.

    Returns:
        mAP in [0, 1], ``higher_is_better=True``.

    Example:
        >>> evaluate_multilabel_map([[0.9, 0.2], [0.1, 0.8], [0.5, 0.3]], [[1, 1], [0, 1], [1, 0]])
        0.9166666666666666
    """
    return float(np.mean(compute_average_precision(scores, targets)))
