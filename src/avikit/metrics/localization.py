"""Sound source localisation: consensus IoU (cIoU) success rate and the AUC of the success curve.

Reproduces hche11/Localizing-Visual-Sounds-the-Hard-Way (LVS) at commit 8fe8cbbf81 (``utils.py::Evaluator.
cal_CIOU`` and the AUC of ``test.py``) and stoneMo/EZ-VSL at 95ff5bff30 (``utils.py::Evaluator``): the
heatmap (already resized to the ground-truth size) is min-max normalised and binarised at its value at sorted
index ``H * W // 2``; cIoU = sum(M G) / (sum(G) + sum(M [G = 0])); the reported cIoU is the fraction of images
with cIoU >= 0.5 and AUC the trapezoidal area of the success rate over thresholds ``0.05 * i``, i = 0..20.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.metrics._validation import as_finite, non_empty

__all__ = [
    "CIOU_AUC_THRESHOLDS",
    "compute_localization_scores",
    "compute_localization_statistics",
    "evaluate_localization",
]

CIOU_AUC_THRESHOLDS: NDArray[np.float64] = np.array([0.05 * i for i in range(21)])
"""The AUC grid ``0.05 * i`` built as officially (0.15000000000000002, 0.30000000000000004, ...)."""


def compute_localization_statistics(
    heatmaps: ArrayLike, gt_maps: ArrayLike, rule: Literal["lvs", "ezvsl"] = "lvs"
) -> dict[str, NDArray]:
    """Per-image cIoU.

    Args:
        heatmaps: ``[N, H, W]`` predicted localisation maps at the ground-truth resolution (224 x 224).
        gt_maps: ``[N, H, W]`` ground truth in [0, 1] (binary for VGG-SS; 0, 0.5, 1 consensus for Flickr).
        rule: ``"lvs"`` binarises with ``>`` the median value, ``"ezvsl"`` with ``>=``.

    Returns:
        ``{"ciou": float64 [N]}``.
    """
    maps = as_finite(heatmaps, "heatmaps", 3).astype(np.float64)
    truth = as_finite(gt_maps, "gt_maps", 3).astype(np.float64)
    if maps.shape != truth.shape:
        raise ValueError(f"heatmaps {maps.shape} and gt_maps {truth.shape} must both be [N, H, W]")
    if truth.size and (truth.min() < 0 or truth.max() > 1):
        raise ValueError("gt_maps must lie in [0, 1]")
    if rule not in ("lvs", "ezvsl"):
        raise ValueError(f"rule must be 'lvs' or 'ezvsl', got {rule!r}")
    flat = maps.reshape(len(maps), -1)
    low, high = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    flat = np.where(high > low, (flat - low) / span, flat)
    threshold = np.sort(flat, axis=1)[:, flat.shape[1] // 2][:, None]
    mask = flat > threshold if rule == "lvs" else flat >= threshold
    gt = truth.reshape(len(truth), -1)
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

    Args:
        heatmaps: ``[N, H, W]`` maps at the ground-truth resolution.
        gt_maps: ``[N, H, W]`` ground-truth maps in [0, 1].
        rule: median threshold rule (``"lvs"``: strict, ``"ezvsl"``: inclusive).

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
