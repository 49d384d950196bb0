"""The report's comparisons: which cells are baselines, the strongest of them, paired gains and the AV gain.

A trivial baseline is a reference baseline other than the oracle (a cell made with ``reads_targets`` whose
model is not ``oracle``, e.g. ``chance-seed0``); the oracle is an upper bound, never the bar to clear. A
model's gain over the strongest baseline is the paired difference of their per-clip scores on the same clips
of the same run, with a paired bootstrap 95% interval; the gain is significant when the interval excludes 0.

Example:
    >>> gain, (low, high) = paired_gain([1, 1, 1, 1, 0, 1], [0, 0, 1, 0, 0, 0])
    >>> round(gain, 3), low > 0
    (0.667, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from avikit.metrics import compute_av_gain as metric_av_gain
from avikit.metrics import compute_paired_difference

__all__ = ["cell_role", "compute_av_gain", "gain_over_baseline", "paired_gain", "strongest_baseline"]

Cell = Mapping[str, Any]


def cell_role(cell: Cell) -> str:
    """``"oracle"``, ``"baseline"`` (a trivial reference baseline) or ``"model"``.

    Example:
        >>> cell_role({"model_id": "chance-seed0", "reads_targets": True}), cell_role({"model_id": "avel"})
        ('baseline', 'model')
        >>> oracle = {"model_id": "oracle", "reads_targets": True}
        >>> cell_role({"model_id": "prior", "baseline": True}), cell_role(oracle)
        ('baseline', 'oracle')
    """
    name = str(cell["model_id"])
    if cell.get("baseline") or (cell.get("reads_targets") and name.startswith("chance")):
        return "baseline"  # the runner marks trivial baselines (chance, constant, prior)
    return "oracle" if cell.get("reads_targets") and name.startswith("oracle") else "model"


def strongest_baseline(cells: Sequence[Cell], metric: str, lower_is_better: bool = False) -> Cell | None:
    """The baseline cell with the best ``metric`` among ``cells`` (one task, run and condition), or None."""
    scored = [c for c in cells if cell_role(c) == "baseline" and _finite(c["scores"].get(metric))]
    if not scored:
        return None
    sign = -1.0 if lower_is_better else 1.0
    return max(scored, key=lambda c: sign * float(c["scores"][metric]))


def _finite(value: Any) -> bool:
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def paired_gain(
    model: Sequence[float],
    baseline: Sequence[float],
    scale: float = 1.0,
    num_resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, tuple[float, float]]:
    """mean(model - baseline) x ``scale`` over the same items, with its paired bootstrap 95% interval.

    The arithmetic is :func:`avikit.metrics.compute_paired_difference` (one bootstrap for the project).
    """
    result = compute_paired_difference(model, baseline, num_resamples=num_resamples, seed=seed, scale=scale)
    return result.difference, (result.low, result.high)


def gain_over_baseline(
    cell: Cell, baseline: Cell, metric: str, lower_is_better: bool = False
) -> tuple[float, tuple[float, float] | None, bool | None]:
    """``(gain, 95% CI, significant)`` of ``cell`` over ``baseline`` (gain > 0 is better).

    Without per-clip values for both (a score that is not a mean over clips, e.g. mAP) the gain is the
    difference of the scores, with no interval and ``significant`` None.
    """
    sign = -1.0 if lower_is_better else 1.0
    ours, theirs = cell.get("items", {}).get(metric), baseline.get("items", {}).get(metric)
    if ours is None or theirs is None or len(ours) != len(theirs) or not ours:
        return sign * (float(cell["scores"][metric]) - float(baseline["scores"][metric])), None, None
    scale = float(cell.get("scale", {}).get(metric, 1.0))
    gain, (low, high) = paired_gain(ours, theirs, scale)
    gain, low, high = sign * gain, *sorted((sign * low, sign * high))
    return gain, (low, high), bool(low > 0)


def compute_av_gain(
    av: Sequence[float], audio_only: Sequence[float], video_only: Sequence[float], scale: float = 1.0,
    num_resamples: int = 1000, seed: int = 0,
) -> tuple[float, tuple[float, float]]:  # fmt: skip
    """AV gain = mean(AV) - max(mean(audio-only), mean(video-only)) and its paired bootstrap 95% interval.

    The arithmetic is :func:`avikit.metrics.compute_av_gain`; this form returns ``(gain, (low, high))``.

    Example:
        >>> gain, (low, high) = compute_av_gain([1, 1, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0])
        >>> gain, bool(low <= gain <= high)
        (0.5, True)
    """
    result = metric_av_gain(av, audio_only, video_only, scale, num_resamples, seed)
    return result.difference, (result.low, result.high)
