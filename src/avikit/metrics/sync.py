"""Audio-visual synchronisation as offset classification: exact accuracy and accuracy within one class.

Reproduces v-iashin/Synchformer at commit b66668a152, ``scripts/train_utils.py::calc_cls_metrics``: Acc@1 is
sklearn ``top_k_accuracy_score(k=1)`` on the softmax (ties go to the last index); "±1 class" takes the first
maximal logit and accepts the true class or a neighbour (clamped to the grid), over ``n + 1e-7``.
The 21 classes are offsets ``linspace(-2, 2, 21)`` s; see :data:`SYNCHFORMER_OFFSETS`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.metrics._validation import as_finite, as_labels, non_empty

__all__ = ["SYNCHFORMER_OFFSETS", "compute_sync_scores", "compute_sync_statistics", "evaluate_sync"]

SYNCHFORMER_OFFSETS: NDArray[np.float64] = np.linspace(-2.0, 2.0, 21)
"""Offset (seconds) of each Synchformer class; a positive offset means the audio is taken from later."""


def _softmax(logits: NDArray) -> NDArray[np.float64]:
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def compute_sync_statistics(logits: ArrayLike, labels: ArrayLike) -> dict[str, NDArray]:
    """Per-clip exact and within-one-class hits.

    Args:
        logits: ``[N, K]`` offset-class logits.
        labels: ``[N]`` true offset classes.

    Returns:
        ``{"exact_correct": float64 [N], "within_one_correct": float64 [N]}``.
    """
    logit_array = as_finite(logits, "logits", 2)
    label_array = as_labels(labels, "labels", 1, logit_array.shape[1])
    if len(label_array) != len(logit_array):
        raise ValueError(f"labels has {len(label_array)} items but logits has {len(logit_array)}")
    probabilities = _softmax(logit_array)
    last_max = probabilities.shape[1] - 1 - np.argmax(probabilities[:, ::-1], axis=1)
    first_max = np.argmax(logit_array, axis=1)
    return {
        "exact_correct": (last_max == label_array).astype(np.float64),
        "within_one_correct": (np.abs(first_max - label_array) <= 1).astype(np.float64),
    }


def compute_sync_scores(statistics: dict[str, NDArray]) -> dict[str, float]:
    """``accuracy`` (exact) and ``accuracy_within_one`` (±1 class), fractions in [0, 1]."""
    exact, within = statistics["exact_correct"], statistics["within_one_correct"]
    non_empty(exact, "statistics['exact_correct']")
    return {
        "accuracy": float(np.average(exact)),
        "accuracy_within_one": float(within.sum() / (len(within) + 1e-7)),
    }


def evaluate_sync(logits: ArrayLike, labels: ArrayLike) -> dict[str, float]:
    """Offset-classification accuracy, exact and within one class.

    Official: Synchformer ``scripts/train_utils.py::calc_cls_metrics`` at b66668a152 (``accuracy_1`` and
    ``accuracy_1_tol1``; pooled runs concatenate logits and targets, so merge statistics by concatenation).

    Args:
        logits: ``[N, K]`` logits over K offset classes (21 for Synchformer).
        labels: ``[N]`` true classes.

    Returns:
        ``{"accuracy", "accuracy_within_one"}`` in [0, 1], ``higher_is_better=True``.

    Example:
        >>> scores = evaluate_sync(np.eye(21)[[3, 5]], [3, 6])
        >>> scores["accuracy"], round(scores["accuracy_within_one"], 6)
        (0.5, 1.0)
    """
    return compute_sync_scores(compute_sync_statistics(logits, labels))
