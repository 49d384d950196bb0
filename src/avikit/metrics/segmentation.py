"""AVSBench audio-visual segmentation: mIoU (J) and F-score (beta^2 = 0.3) for S4/MS3 and for AVSS.

Reproduces OpenNLPLab/AVSBench at commit f7414aff6a: ``avs_scripts/avs_{s4,ms3}/utils/utility.py::mask_iou``
and ``::Eval_Fmeasure`` as looped in ``test.py`` (per-batch values, then the mean over batches, so the result
depends on the batch size: the official ``test.sh`` uses 4 videos), and
``avs_scripts/avss/utils/compute_color_metrics.py::_batch_miou_fscore`` as accumulated in ``avss/test.py``.
The arithmetic is float32, as in the official torch code. Fractions in [0, 1].
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.metrics._validation import as_binary, as_finite, as_labels, non_empty

__all__ = [
    "AVSBENCH_F_THRESHOLDS",
    "compute_avs_binary_scores",
    "compute_avs_binary_statistics",
    "compute_avs_semantic_scores",
    "compute_avs_semantic_statistics",
    "evaluate_avs_binary",
    "evaluate_avs_semantic",
]

_F32 = np.float32


def _torch_linspace_float32(start: float, end: float, steps: int) -> NDArray[np.float32]:
    """``torch.linspace(start, end, steps)`` in float32, bit for bit (CPU kernel: two halves)."""
    first, last = _F32(start), _F32(end)
    step = _F32((last - first) / _F32(steps - 1))
    index = np.arange(steps)
    low = (first + np.float64(step) * index).astype(_F32)
    high = (np.float64(last) - np.float64(step) * (steps - 1 - index)).astype(_F32)
    return np.where(index < steps // 2, low, high)


AVSBENCH_F_THRESHOLDS: NDArray[np.float32] = _torch_linspace_float32(0.0, 1 - 1e-10, 255)
"""The 255 F-score thresholds ``torch.linspace(0, 1 - 1e-10, 255)`` (float32; the last one is exactly 1.0)."""


def _sigmoid(logits: NDArray) -> NDArray[np.float32]:
    return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(_F32)


def compute_avs_binary_statistics(logits: ArrayLike, masks: ArrayLike) -> dict[str, NDArray]:
    """Per-frame IoU and F-curves of binary (S4, MS3) segmentation.

    Args:
        logits: ``[V, T, H, W]`` mask logits (videos, frames, height, width); probabilities are
            ``sigmoid(logits)``.
        masks: binary ground truth ``[V, T, H, W]``.

    Returns:
        ``{"iou": float32 [V, T], "f_curve": float32 [V, T, 255], "valid": bool [V, T]}``; ``valid``
        marks frames
        with a non-empty mask (only those enter the F-score). Shards merge by concatenation along videos.
    """
    logit_array = as_finite(logits, "logits", 4)
    truth = as_binary(masks, "masks", 4)
    if logit_array.shape != truth.shape:
        raise UsageError(f"logits {logit_array.shape} and masks {truth.shape} must both be [V, T, H, W]")
    videos, frames, height, width = truth.shape
    prob = _sigmoid(logit_array).reshape(videos * frames, -1)
    truth = truth.reshape(videos * frames, -1)
    binary = prob > 0.5
    inter, union = np.sum(binary & (truth == 1), axis=1), np.sum(binary | (truth == 1), axis=1)
    empty = truth.sum(axis=1) == 0
    inter = np.where(empty, np.sum(~binary & (truth == 0), axis=1), inter)
    union = np.where(empty, height * width, union)
    iou = inter.astype(_F32) / (union.astype(_F32) + _F32(1e-7))
    bins = np.searchsorted(AVSBENCH_F_THRESHOLDS, prob, side="right")  # thresholds each pixel reaches
    offsets = np.arange(len(bins))[:, None] * 256
    size = len(bins) * 256
    selected = np.bincount((bins + offsets).ravel(), minlength=size).reshape(-1, 256)
    hits = np.bincount((bins + offsets).ravel(), weights=truth.ravel(), minlength=size).reshape(-1, 256)
    selected = np.cumsum(selected[:, ::-1], axis=1)[:, ::-1][:, 1:].astype(_F32)  # |prob >= t_i|
    tp = np.cumsum(hits[:, ::-1], axis=1)[:, ::-1][:, 1:].astype(_F32)
    precision = tp / (selected + _F32(1e-20))
    recall = tp / (truth.sum(axis=1)[:, None].astype(_F32) + _F32(1e-20))
    with np.errstate(invalid="ignore", divide="ignore"):
        f_curve = _F32(1.3) * precision * recall / (_F32(0.3) * precision + recall)
    f_curve = np.where(np.isnan(f_curve), _F32(0), f_curve).astype(_F32)
    return {
        "iou": iou.reshape(videos, frames),
        "f_curve": f_curve.reshape(videos, frames, -1),
        "valid": ~empty.reshape(videos, frames),
    }


def compute_avs_binary_scores(statistics: dict[str, NDArray], batch_size: int = 4) -> dict[str, float]:
    """S4/MS3 mIoU and F-score from :func:`compute_avs_binary_statistics`.

    Args:
        statistics: per-frame statistics, videos in dataset order.
        batch_size: videos per test batch (official ``test.sh``: 4; the argparse default is 1).

    Returns:
        ``{"miou": ..., "f_score": ...}``, fractions in [0, 1], ``higher_is_better=True``.
    """
    if batch_size < 1:
        raise UsageError(f"batch_size must be a positive number of videos, got {batch_size}")
    iou, f_curve, valid = statistics["iou"], statistics["f_curve"], statistics["valid"]
    non_empty(iou, "statistics['iou']")
    iou_total, f_values = _F32(0.0), []
    for begin in range(0, len(iou), batch_size):
        batch_iou = iou[begin : begin + batch_size].ravel()
        iou_total = _F32(iou_total + _F32(np.cumsum(batch_iou, dtype=_F32)[-1] / _F32(batch_iou.size)))
        curves = f_curve[begin : begin + batch_size][valid[begin : begin + batch_size]]
        if len(curves) == 0:
            f_values.append(0.0)
            continue
        mean_curve = np.cumsum(curves, axis=0, dtype=_F32)[-1] / _F32(len(curves))
        f_values.append(float(mean_curve.max()))
    num_batches = len(f_values)
    return {"miou": float(iou_total / _F32(num_batches)), "f_score": sum(f_values) / num_batches}


def evaluate_avs_binary(logits: ArrayLike, masks: ArrayLike, batch_size: int = 4) -> dict[str, float]:
    """AVSBench S4 / MS3 mIoU (Jaccard) and F-score (beta^2 = 0.3, max over 255 thresholds).

    Official: ``avs_scripts/avs_s4/utils/utility.py::mask_iou``, ``::Eval_Fmeasure`` and ``test.py`` at
    f7414aff6a (MS3 is identical). mIoU binarises at ``sigmoid > 0.5``; a frame with an empty mask scores the
    fraction of true-negative pixels. The F-curve is averaged over the non-empty frames of a batch, the batch
    scores its maximum (0.0 if it has no such frame), and both metrics average the batch values.

    Args:
        logits: ``[V, T, H, W]`` mask logits (T = 5 frames in AVSBench).
        masks: ``[V, T, H, W]`` binary masks.
        batch_size: videos per batch; the F-score depends on it.

    Returns:
        ``{"miou": ..., "f_score": ...}`` in [0, 1], ``higher_is_better=True``.

    Example:
        >>> masks = np.zeros((2, 1, 4, 4), dtype=int)
        >>> masks[:, :, :2] = 1
        >>> logits = np.where(masks == 1, 5.0, -5.0)
        >>> evaluate_avs_binary(logits, masks)
        {'miou': 1.0, 'f_score': 1.0}
    """
    return compute_avs_binary_scores(compute_avs_binary_statistics(logits, masks), batch_size)


def compute_avs_semantic_statistics(predictions: ArrayLike, labels: ArrayLike, num_classes: int = 71) -> dict:
    """Per-frame, per-class IoU and F-score of semantic (AVSS) segmentation.

    Args:
        predictions: class logits ``[V, T, C, H, W]`` (argmax over C, first index on ties) or predicted class
            indices ``[V, T, H, W]``.
        labels: class indices ``[V, T, H, W]`` in ``[0, num_classes)``, background = 0.
        num_classes: C (71 for AVSBench-semantic, background included).

    Returns:
        ``{"iou": float32 [V, T, C], "f_score": float32 [V, T, C], "present": bool [V, T, C]}``; ``present``
        marks a non-empty union. Shards merge by concatenation along videos.
    """
    truth = as_labels(labels, "labels", 4, num_classes)
    pred = as_finite(predictions, "predictions", (4, 5))
    pred = np.argmax(pred, axis=2) if pred.ndim == 5 else as_labels(pred, "predictions", 4, num_classes)
    if pred.shape != truth.shape:
        raise UsageError(f"predictions {pred.shape} must match labels {truth.shape} as [V, T, H, W]")
    videos, frames = truth.shape[:2]
    pred, truth = pred.reshape(videos * frames, -1), truth.reshape(videos * frames, -1)
    offsets = np.arange(len(pred))[:, None] * num_classes
    size = len(pred) * num_classes

    def count(values: NDArray, weights: NDArray | None = None) -> NDArray[np.float32]:
        return np.bincount((values + offsets).ravel(), weights, size).reshape(-1, num_classes).astype(_F32)

    area_inter = count(truth, (pred == truth).ravel().astype(np.float64))
    area_pred, area_label = count(pred), count(truth)
    area_union = area_pred + area_label - area_inter
    iou = area_inter / (area_union + _F32(2.220446049250313e-16))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision, recall = area_inter / area_pred, area_inter / area_label
        f_score = _F32(1.3) * precision * recall / (_F32(0.3) * precision + recall)
    f_score = np.where(np.isnan(f_score), _F32(0), f_score).astype(_F32)
    shape = (videos, frames, num_classes)
    return {
        "iou": iou.reshape(shape),
        "f_score": f_score.reshape(shape),
        "present": area_union.reshape(shape) > 0,
    }


def compute_avs_semantic_scores(statistics: dict[str, NDArray], batch_size: int = 1) -> dict[str, float]:
    """AVSS mIoU and F-score from :func:`compute_avs_semantic_statistics`.

    Per class, the per-frame values are summed over the whole test set and divided by the number of frames
    where the class is in the prediction or the ground truth; the score is the mean over the classes that
    occur (see the module docstring: the official per-batch value, equal to the official final value when
    every class occurs). ``batch_size`` only changes the float32 summation order (per batch, then across
    batches), as officially.

    Returns:
        ``miou``, ``f_score`` (official), ``miou_nobg`` / ``f_score_nobg`` (official ``*_noBg``: drops the
        *last* class) and ``miou_nobg_corrected`` / ``f_score_nobg_corrected`` (drop the background, class 0;
        AVSBench#23); fractions in [0, 1], ``higher_is_better=True``; NaN where no class of the mean occurs.
    """
    if batch_size < 1:
        raise UsageError(f"batch_size must be a positive number of videos, got {batch_size}")
    non_empty(statistics["iou"], "statistics['iou']")
    totals = {}
    for key in ("iou", "f_score", "present"):
        values = statistics[key].astype(_F32)
        starts = range(0, len(values), batch_size)
        flat = [values[b : b + batch_size].reshape(-1, values.shape[-1]) for b in starts]
        batch_sums = [np.cumsum(batch, axis=0, dtype=_F32)[-1] for batch in flat]
        totals[key] = np.cumsum(np.stack(batch_sums), axis=0, dtype=_F32)[-1]
    occurs = totals["present"] > 0

    def mean(values: NDArray, chosen: slice) -> float:
        kept = values[chosen][occurs[chosen]]
        return float(np.mean(kept, dtype=_F32)) if kept.size else float("nan")

    scores = {}
    for key, name in (("iou", "miou"), ("f_score", "f_score")):
        with np.errstate(invalid="ignore", divide="ignore"):
            per_class = (totals[key] / totals["present"]).astype(_F32)
        scores[name] = mean(per_class, slice(None))
        scores[f"{name}_nobg"] = mean(per_class, slice(None, -1))
        scores[f"{name}_nobg_corrected"] = mean(per_class, slice(1, None))
    return scores


def evaluate_avs_semantic(
    predictions: ArrayLike, labels: ArrayLike, num_classes: int = 71, batch_size: int = 1
) -> dict[str, float]:
    """AVSBench-semantic (AVSS) mIoU and F-score over the classes that occur.

    Official: ``avs_scripts/avss/utils/compute_color_metrics.py::_batch_miou_fscore`` and ``avss/test.py`` at
    f7414aff6a (the released test.py unpacks 3 of the 4 returned values; the accumulation it intends is
    reproduced). Padded frames of V1 videos count like any other frame, as officially.

    Args:
        predictions: ``[V, T, C, H, W]`` logits or ``[V, T, H, W]`` class indices.
        labels: ``[V, T, H, W]`` class indices, background = 0.
        num_classes: number of classes including background.
        batch_size: videos per batch (float32 summation order only).

    Returns:
        See :func:`compute_avs_semantic_scores`.

    Example:
        >>> labels = np.zeros((1, 2, 4, 4), dtype=int)
        >>> labels[0, :, :2] = 1
        >>> evaluate_avs_semantic(labels, labels, num_classes=3)["miou"]  # class 2 never occurs: not counted
        1.0
    """
    return compute_avs_semantic_scores(
        compute_avs_semantic_statistics(predictions, labels, num_classes), batch_size
    )
