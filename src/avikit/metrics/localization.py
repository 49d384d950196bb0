"""Sound source localisation: consensus IoU (cIoU) success rate and the AUC of the success curve.

Reproduces hche11/Localizing-Visual-Sounds-the-Hard-Way (LVS) at commit 8fe8cbbf81 (``test.py::main`` and
``utils.py::Evaluator.cal_CIOU``) and stoneMo/EZ-VSL at 95ff5bff30 (``test.py::validate`` and
``utils.py::Evaluator``). Both take a heatmap already resized to the ground-truth size and binarise it at
the value of sorted index ``H * W // 2`` of the min-max normalised map; the rules differ:

* ``"lvs"``: ``pred = 1 - normalize(-heatmap)``, then ``pred[pred > thr] = 1; pred[pred < 1] = 0`` and
  ``cal_CIOU(pred, gt, 0.5)``. The mask is therefore ``pred > thr`` *or* ``pred >= 1``: pixels at the
  maximum always count, even when more than half of the map ties at the maximum; a constant map (left
  unnormalised) gives a full mask if its value is >= 0 and an empty one otherwise.
* ``"ezvsl"``: ``pred = normalize(heatmap)`` and the mask is ``pred >= thr``; a constant map gives a full
  mask.

``normalize`` divides by ``max - min`` unless that is 0. The arithmetic runs in the heatmap's own float
dtype (float32 maps stay float32, as the official float32 model outputs do). cIoU = sum(M G) / (sum(G) +
sum(M [G = 0])); the reported cIoU is the fraction of images with cIoU >= 0.5 and AUC the trapezoidal area
(sklearn ``auc``) of that fraction over thresholds ``0.05 * i``, i = 0..20.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.metrics._validation import as_finite, non_empty

__all__ = [
    "CIOU_AUC_THRESHOLDS",
    "compute_localization_scores",
    "compute_localization_statistics",
    "evaluate_localization",
]

CIOU_AUC_THRESHOLDS: NDArray[np.float64] = np.array([0.05 * i for i in range(21)])
"""The AUC grid ``0.05 * i`` built as officially (0.15000000000000002, 0.30000000000000004, ...)."""


def _normalize(flat: NDArray) -> NDArray:
    """Per-row ``(x - min) / (max - min)``; rows with ``max == min`` are returned unchanged."""
    low, high = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    span = high - low
    constant = span == 0
    return np.where(constant, flat, (flat - low) / np.where(constant, 1, span))


def _binarize(maps: NDArray, rule: str) -> NDArray[np.bool_]:
    """The official prediction masks ``[N, H * W]`` of ``maps`` ``[N, H, W]``."""
    flat = maps.reshape(len(maps), -1)
    if rule == "lvs":
        pred = 1 - _normalize(-flat)
        threshold = np.sort(pred, axis=1)[:, flat.shape[1] // 2][:, None]
        return (pred > threshold) | (pred >= 1)
    pred = _normalize(flat)
    threshold = np.sort(pred, axis=1)[:, flat.shape[1] // 2][:, None]
    return pred >= threshold


def compute_localization_statistics(
    heatmaps: ArrayLike, gt_maps: ArrayLike, rule: Literal["lvs", "ezvsl"] = "lvs"
) -> dict[str, NDArray]:
    """Per-image cIoU.

    Args:
        heatmaps: ``[N, H, W]`` predicted localisation maps at the ground-truth resolution (224 x 224),
            higher = more likely sounding. float32 stays float32; other dtypes are scored in float64.
        gt_maps: ``[N, H, W]`` ground truth in [0, 1] (binary for VGG-SS; 0, 0.5, 1 consensus for Flickr).
        rule: ``"lvs"`` or ``"ezvsl"`` median threshold rule (see the module docstring).

    Returns:
        ``{"ciou": float64 [N]}`` (NaN where both the mask and the ground truth are empty).
    """
    maps = as_finite(heatmaps, "heatmaps", 3)
    maps = maps if maps.dtype == np.float32 else maps.astype(np.float64)
    truth = as_finite(gt_maps, "gt_maps", 3).astype(np.float64)
    if maps.shape != truth.shape:
        raise UsageError(f"heatmaps {maps.shape} and gt_maps {truth.shape} must both be [N, H, W]")
    if truth.size and (truth.min() < 0 or truth.max() > 1):
        raise UsageError("gt_maps must lie in [0, 1]")
    if rule not in ("lvs", "ezvsl"):
        raise UsageError(f"rule must be 'lvs' or 'ezvsl', got {rule!r}")
    mask = _binarize(maps, rule).astype(np.float64)
    gt = truth.reshape(len(truth), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ciou = np.sum(mask * gt, axis=1) / (np.sum(gt, axis=1) + np.sum(mask * (gt == 0), axis=1))
    return {"ciou": ciou}


def compute_localization_scores(statistics: dict[str, NDArray]) -> dict[str, float]:
    """``ciou`` (success rate at 0.5), ``auc`` and ``mean_ciou`` (not the paper number) in [0, 1]."""
    ciou = statistics["ciou"]
    non_empty(ciou, "statistics['ciou']")
    success = np.array([np.sum(ciou >= threshold) / len(ciou) for threshold in CIOU_AUC_THRESHOLDS])
    auc = float(np.sum(np.diff(CIOU_AUC_THRESHOLDS) * (success[1:] + success[:-1]) / 2.0))
    return {"ciou": float(np.sum(ciou >= 0.5) / len(ciou)), "auc": auc, "mean_ciou": float(np.mean(ciou))}


def evaluate_localization(
    heatmaps: ArrayLike, gt_maps: ArrayLike, rule: Literal["lvs", "ezvsl"] = "lvs"
) -> dict[str, float]:
    """Sound source localisation cIoU and AUC (Flickr-SoundNet, VGG-SS).

    Official: LVS ``test.py`` at 8fe8cbbf81 (``rule="lvs"``) and EZ-VSL ``test.py::validate`` at 95ff5bff30
    (``rule="ezvsl"``, whose "AP50(cIoU)" is ``ciou`` and "Avg-cIoU" is ``mean_ciou``).

    Args:
        heatmaps: ``[N, H, W]`` maps at the ground-truth resolution.
        gt_maps: ``[N, H, W]`` ground-truth maps in [0, 1].
        rule: median threshold rule (``"lvs"``: strict, plus the pixels at the maximum; ``"ezvsl"``:
            inclusive).

    Returns:
        ``{"ciou", "auc", "mean_ciou"}`` in [0, 1], ``higher_is_better=True``.

    Example:
        >>> truth = np.zeros((1, 4, 4))
        >>> truth[0, :2] = 1
        >>> heat = truth + 0.01 * np.arange(16).reshape(1, 4, 4)
        >>> evaluate_localization(heat, truth)["ciou"]
        1.0
    """
    return compute_localization_scores(compute_localization_statistics(heatmaps, gt_maps, rule))
