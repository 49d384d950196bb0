"""Ref-AVS referring audio-visual segmentation: mIoU (J) and F-score on seen / unseen, S on the null set.

Reproduces GeWu-Lab/Ref-AVS at commit f0fbef3c1c: ``utils/metric/utility.py::mask_iou``, ``::Eval_Fmeasure``
and ``::metric_s_for_null`` as looped in ``scripts/train.py::test`` (test batches of 4 expressions of
10 frames each, ``run_refavs.py``). One scored unit (a "video" below) is one (clip, expression) pair.

- mIoU binarises at ``sigmoid > 0.4`` (AVSBench uses 0.5); a frame with an empty mask scores the fraction
  of true-negative pixels; the batch value is the mean over its frames, the score the mean over batches.
- F-score (beta^2 = 0.3) is AVSBench's: the F-curve over 255 thresholds averaged over the batch's frames
  with a non-empty mask, its maximum per batch (0.0 for a batch without one), the mean over batches
  (:func:`avikit.metrics.segmentation.compute_avs_binary_statistics`).
- S (null set, every mask empty, **lower is better**): per batch ``sqrt(#{sigmoid > 0.5} / #pixels)``
  over all its frames, the mean over batches.

The arithmetic is float32, as in the official torch code. Fractions in [0, 1].
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.metrics._validation import as_binary, as_finite, non_empty
from avikit.metrics.segmentation import compute_avs_binary_scores, compute_avs_binary_statistics

__all__ = [
    "REF_AVS_BATCH_SIZE",
    "REF_AVS_IOU_THRESHOLD",
    "compute_ref_avs_null_score",
    "compute_ref_avs_scores",
    "compute_ref_avs_statistics",
    "evaluate_ref_avs",
    "evaluate_ref_avs_null",
]

_F32 = np.float32
REF_AVS_BATCH_SIZE = 4
"""Expressions per test batch in the official ``run_refavs.py``."""
REF_AVS_IOU_THRESHOLD = 0.4
"""``mask_iou`` keeps the pixels with ``sigmoid(logit) > 0.4``."""
_NULL_THRESHOLD = 0.5


def _probabilities(logits: NDArray) -> NDArray[np.float32]:
    return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(_F32)


def compute_ref_avs_statistics(logits: ArrayLike, masks: ArrayLike) -> dict[str, NDArray]:
    """Per-frame IoU, F-curves and foreground counts of referring segmentation.

    Args:
        logits: ``[V, T, H, W]`` mask logits of V (clip, expression) pairs.
        masks: binary ground truth ``[V, T, H, W]`` (all zero for a null expression).

    Returns:
        ``{"iou": float32 [V, T], "f_curve": float32 [V, T, 255], "valid": bool [V, T],
        "foreground": int64 [V, T], "pixels": int64 [V, T]}``: ``foreground`` counts the pixels with
        ``sigmoid > 0.5`` (the null set's S), ``pixels`` is H * W. Shards merge by concatenation along V.
    """
    logit_array = as_finite(logits, "logits", 4)
    truth = as_binary(masks, "masks", 4)
    if logit_array.shape != truth.shape:
        raise UsageError(f"logits {logit_array.shape} and masks {truth.shape} must both be [V, T, H, W]")
    curves = compute_avs_binary_statistics(logit_array, truth)
    prob = _probabilities(logit_array)
    kept, gt = prob > _F32(REF_AVS_IOU_THRESHOLD), truth == 1
    inter = np.sum(kept & gt, axis=(2, 3))
    union = np.sum(kept | gt, axis=(2, 3))
    empty = gt.sum(axis=(2, 3)) == 0
    inter = np.where(empty, np.sum(~kept & ~gt, axis=(2, 3)), inter)
    union = np.where(empty, truth.shape[2] * truth.shape[3], union)
    return {
        "iou": inter.astype(_F32) / (union.astype(_F32) + _F32(1e-7)),
        "f_curve": curves["f_curve"],
        "valid": curves["valid"],
        "foreground": np.sum(prob > _F32(_NULL_THRESHOLD), axis=(2, 3)).astype(np.int64),
        "pixels": np.full(truth.shape[:2], truth.shape[2] * truth.shape[3], dtype=np.int64),
    }


def compute_ref_avs_scores(
    statistics: dict[str, NDArray], batch_size: int = REF_AVS_BATCH_SIZE
) -> dict[str, float]:
    """Seen / unseen mIoU and F-score from :func:`compute_ref_avs_statistics` (pairs in dataset order).

    Returns:
        ``{"miou": ..., "f_score": ...}``, fractions in [0, 1], ``higher_is_better=True``.
    """
    return compute_avs_binary_scores(statistics, batch_size)


def compute_ref_avs_null_score(statistics: dict[str, NDArray], batch_size: int = REF_AVS_BATCH_SIZE) -> float:
    """The null set's S from :func:`compute_ref_avs_statistics`.

    The mean over batches of the batch's ``sqrt(foreground pixels / pixels)``; a fraction in [0, 1],
    ``higher_is_better=False`` (0: nothing predicted).
    """
    if batch_size < 1:
        raise UsageError(f"batch_size must be a positive number of expressions, got {batch_size}")
    foreground, pixels = statistics["foreground"], statistics["pixels"]
    non_empty(foreground, "statistics['foreground']")
    values = [
        np.sqrt(_F32(foreground[b : b + batch_size].sum()) / _F32(pixels[b : b + batch_size].sum()))
        for b in range(0, len(foreground), batch_size)
    ]
    return float(np.mean(np.asarray(values, dtype=_F32), dtype=_F32))


def evaluate_ref_avs(
    logits: ArrayLike, masks: ArrayLike, batch_size: int = REF_AVS_BATCH_SIZE
) -> dict[str, float]:
    """Ref-AVS seen / unseen mIoU (Jaccard, ``sigmoid > 0.4``) and F-score (beta^2 = 0.3).

    The F-score is the maximum over 255 thresholds of the batch's mean F-curve; batches of ``batch_size``
    expressions.

    Official: ``utils/metric/utility.py::mask_iou`` and ``::Eval_Fmeasure`` with ``scripts/train.py::test`` at
    GeWu-Lab/Ref-AVS f0fbef3c1c.

    Args:
        logits: ``[V, T, H, W]`` mask logits (T = 10 frames in Ref-AVS).
        masks: ``[V, T, H, W]`` binary masks of the referred object.
        batch_size: expressions per batch (official: 4); both scores depend on it.

    Returns:
        ``{"miou": ..., "f_score": ...}`` in [0, 1], ``higher_is_better=True``.

    Example:
        >>> masks = np.zeros((2, 1, 4, 4), dtype=int)
        >>> masks[:, :, :2] = 1
        >>> logits = np.where(masks == 1, 0.0, -5.0)  # sigmoid 0.5: kept at 0.4 (Ref-AVS), not at 0.5
        >>> evaluate_ref_avs(logits, masks)["miou"]
        1.0
    """
    return compute_ref_avs_scores(compute_ref_avs_statistics(logits, masks), batch_size)


def evaluate_ref_avs_null(logits: ArrayLike, batch_size: int = REF_AVS_BATCH_SIZE) -> float:
    """Ref-AVS null-set S of logits ``[V, T, H, W]`` (the referred object is absent: every mask is empty).

    Official: ``utils/metric/utility.py::metric_s_for_null`` with ``scripts/train.py::test`` (``--val
    test_n``) at GeWu-Lab/Ref-AVS f0fbef3c1c. Lower is better; 0 when no pixel has ``sigmoid > 0.5``.

    Example:
        >>> logits = np.full((1, 1, 4, 4), -5.0)
        >>> logits[0, 0, 0, :] = 5.0  # a quarter of the pixels on: sqrt(1/4)
        >>> evaluate_ref_avs_null(logits)
        0.5
    """
    logit_array = as_finite(logits, "logits", 4)
    return compute_ref_avs_null_score(
        compute_ref_avs_statistics(logit_array, np.zeros(logit_array.shape, dtype=np.int64)), batch_size
    )
