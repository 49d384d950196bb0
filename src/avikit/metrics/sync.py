"""Audio-visual synchronisation as offset classification: exact accuracy and accuracy within one class.

Reproduces v-iashin/Synchformer at commit b66668a152, ``scripts/train_utils.py::calc_cls_metrics`` as called
by the test loop (logits concatenated and cast to float32 with ``.float()``):

* ``accuracy`` (``accuracy_1``): sklearn ``top_k_accuracy_score(targets, softmax(logits), k=1)`` on the
  float32 softmax. Among tied probabilities the *last* class wins. With two classes sklearn takes the
  binary branch instead: class 1 is predicted iff its probability is > 0.5, so a tie goes to class 0.
* ``accuracy_within_one`` (``accuracy_1_tol1``): the top-1 class of ``torch.topk(logits)`` is correct if it
  is the true class or a neighbour (clamped to ``[0, K - 1]``), over ``n + 1e-7``. ``torch.topk`` has no
  specified order among exactly tied logits; avikit takes the first maximal logit.

The 21 classes are offsets ``linspace(-2, 2, 21)`` s; see :data:`SYNCHFORMER_OFFSETS`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.metrics._validation import as_finite, as_labels, non_empty

__all__ = ["SYNCHFORMER_OFFSETS", "compute_sync_scores", "compute_sync_statistics", "evaluate_sync"]

SYNCHFORMER_OFFSETS: NDArray[np.float64] = np.linspace(-2.0, 2.0, 21)
"""Offset (seconds) of each Synchformer class; a positive offset means the audio is taken from later."""


def _softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """Softmax in float32, so that probabilities that round to the same float32 value tie as officially."""
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def compute_sync_statistics(logits: ArrayLike, labels: ArrayLike) -> dict[str, NDArray]:
    """Per-clip exact and within-one-class hits.

    Args:
        logits: ``[N, K]`` offset-class logits; scored in float32, as officially.
        labels: ``[N]`` true offset classes.

    Returns:
        ``{"exact_correct": float64 [N], "within_one_correct": float64 [N]}``.
    """
    logit_array = as_finite(logits, "logits", 2).astype(np.float32)
    label_array = as_labels(labels, "labels", 1, logit_array.shape[1])
    if len(label_array) != len(logit_array):
        raise UsageError(f"labels has {len(label_array)} items but logits has {len(logit_array)}")
    probabilities = _softmax(logit_array)
    if probabilities.shape[1] == 2:  # sklearn's binary branch: positive iff p1 > 0.5
        predicted = (probabilities[:, 1] > 0.5).astype(np.int64)
    else:
        predicted = probabilities.shape[1] - 1 - np.argmax(probabilities[:, ::-1], axis=1)
    first_max = np.argmax(logit_array, axis=1)
    return {
        "exact_correct": (predicted == label_array).astype(np.float64),
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
