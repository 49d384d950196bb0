"""Percentile bootstrap intervals over the unit a task resamples, and paired comparisons.

A score is either a mean over items (segments, frames, questions, clips) or a set metric (FD, mAP over a
set, a set-level mIoU). The bootstrap resamples *units* (clips or videos) with replacement:

- a mean over items is recomputed as ``sum of the chosen units' item values / their item count``
  (the cluster bootstrap: the items of a unit stay together, so a clip's ten segments are not ten
  independent draws);
- a set metric is recomputed on the chosen units (:func:`compute_set_replicates`).

The interval is the percentile interval of the recomputed scores, never re-centred on the estimate. Every
resample is drawn by :func:`bootstrap_indices` from ``(seed, unit count)`` alone, so two scores of the same
units under the same seed see the *same* resamples: the difference of their replicates is the paired
bootstrap of the difference (:func:`compute_paired_difference`), and ``AV - max(audio-only, video-only)``
is one more function of paired replicates (:func:`compute_av_gain`).

Example:
    >>> low, high = compute_bootstrap_ci([1, 1, 0, 0, 1, 1], units=[0, 0, 1, 1, 2, 2], num_resamples=200)
    >>> 0.0 <= low <= 2 / 3 <= high <= 1.0
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.metrics._validation import as_finite

__all__ = [
    "NUM_RESAMPLES",
    "Comparison",
    "bootstrap_indices",
    "compute_av_gain",
    "compute_bootstrap_ci",
    "compute_mean_replicates",
    "compute_paired_difference",
    "compute_percentile_interval",
    "compute_set_replicates",
    "unit_index",
]

NUM_RESAMPLES = 1000
"""Default bootstrap resamples (a 95% percentile interval's ends move by about 0.1 standard errors)."""

_CHUNK = 2**22
"""Index entries drawn per chunk (bounds the memory of a resample matrix to 32 MB)."""


def _check(confidence: float, num_resamples: int) -> None:
    if not 0 < confidence < 1:
        raise UsageError(f"confidence must lie in (0, 1), got {confidence}")
    if num_resamples < 1:
        raise UsageError(f"num_resamples must be positive, got {num_resamples}")


def bootstrap_indices(count: int, num_resamples: int = NUM_RESAMPLES, seed: int = 0) -> NDArray[np.int64]:
    """The resamples ``[num_resamples, count]`` of ``count`` units, drawn with replacement.

    The draw depends on ``(count, num_resamples, seed)`` only, so every score over the same units shares
    it (what makes comparisons paired).

    Example:
        >>> bootstrap_indices(3, 2, seed=0).shape
        (2, 3)
        >>> bool((bootstrap_indices(5, 4, 1) == bootstrap_indices(5, 4, 1)).all())
        True
    """
    if count < 1:
        raise UsageError("a bootstrap needs at least one unit")
    if num_resamples < 1:
        raise UsageError(f"num_resamples must be positive, got {num_resamples}")
    return np.random.default_rng(seed).integers(0, count, (num_resamples, count))


def unit_index(units: ArrayLike | None, count: int) -> tuple[NDArray[np.int64], int]:
    """Unit labels (any hashable values, or ``None``: each item its own unit) as ``0..U-1`` and ``U``.

    Units are numbered in order of first appearance.

    Example:
        >>> unit_index(["b", "b", "a"], 3)
        (array([0, 0, 1]), 2)
    """
    if units is None:
        return np.arange(count, dtype=np.int64), count
    labels = list(np.asarray(units).tolist()) if not isinstance(units, list) else units
    if len(labels) != count:
        raise UsageError(f"units has {len(labels)} labels for {count} values; give one label per value")
    numbers: dict[object, int] = {}
    index = np.array([numbers.setdefault(label, len(numbers)) for label in labels], dtype=np.int64)
    return index, len(numbers)


def compute_mean_replicates(
    values: ArrayLike, units: ArrayLike | None = None, num_resamples: int = NUM_RESAMPLES, seed: int = 0
) -> NDArray[np.float64]:
    """Bootstrap replicates ``[num_resamples]`` of the mean of per-item ``values``, resampling units.

    Each replicate draws units with replacement (:func:`bootstrap_indices`) and divides the sum of their
    items' values by the number of those items (cluster bootstrap). With one item per unit this is the
    ordinary bootstrap of the mean.

    Args:
        values: ``[N]`` per-item values whose mean is the score.
        units: ``[N]`` the unit (clip, video) each item belongs to; ``None``: each item is a unit.
        num_resamples: replicates.
        seed: seed of the resamples.

    Example:
        >>> reps = compute_mean_replicates([0.0, 1.0, 1.0], units=[0, 1, 1], num_resamples=4, seed=0)
        >>> reps.shape, bool(((reps >= 0) & (reps <= 1)).all())
        ((4,), True)
    """
    array = as_finite(values, "values", 1).astype(np.float64)
    if len(array) == 0:
        raise UsageError("values is empty; a confidence interval needs at least one item")
    index, count = unit_index(units, len(array))
    sums = np.bincount(index, weights=array, minlength=count)
    sizes = np.bincount(index, minlength=count).astype(np.float64)
    picks = bootstrap_indices(count, num_resamples, seed)
    out = np.empty(num_resamples)
    step = max(1, _CHUNK // count)
    for begin in range(0, num_resamples, step):
        chosen = picks[begin : begin + step]
        out[begin : begin + len(chosen)] = sums[chosen].sum(axis=1) / sizes[chosen].sum(axis=1)
    return out


def compute_set_replicates(
    score: Callable[[NDArray[np.int64]], float],
    count: int,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = 0,
) -> NDArray[np.float64]:
    """Bootstrap replicates of a set metric: ``score(units)`` on every resample of ``count`` units.

    ``score`` receives the resampled unit positions (with repeats) and recomputes the metric on them, e.g.
    FD of the chosen generated and real clips, or a task's mAP on the chosen clips' predictions.

    Example:
        >>> values = np.array([3.0, 1.0, 2.0])
        >>> reps = compute_set_replicates(lambda rows: float(values[rows].max()), 3, 50)
        >>> bool(set(reps) <= {1.0, 2.0, 3.0})
        True
    """
    picks = bootstrap_indices(count, num_resamples, seed)
    return np.array([score(rows) for rows in picks], dtype=np.float64)


def compute_percentile_interval(replicates: ArrayLike, confidence: float = 0.95) -> tuple[float, float]:
    """The ``(low, high)`` percentile interval of bootstrap replicates (NaN replicates are an error).

    Example:
        >>> [round(end, 9) for end in compute_percentile_interval(np.arange(101.0), 0.9)]
        [5.0, 95.0]
    """
    array = np.asarray(replicates, dtype=np.float64).reshape(-1)
    if len(array) == 0 or not np.isfinite(array).all():
        raise UsageError("the bootstrap replicates are empty or not finite; no interval")
    _check(confidence, len(array))
    alpha = (1 - confidence) / 2
    low, high = np.quantile(array, [alpha, 1 - alpha])
    return float(low), float(high)


def compute_bootstrap_ci(
    values: ArrayLike,
    confidence: float = 0.95,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = 0,
    scale: float = 1.0,
    units: ArrayLike | None = None,
) -> tuple[float, float]:
    """Seeded percentile bootstrap interval of the mean of per-item values, resampling their units.

    Use it with the per-item statistics of a metric, e.g. ``statistics["correct"]`` of AVE (one value per
    segment, ``units`` the clip of each segment) or of MUSIC-AVQA (per question, ``units`` the video).

    Args:
        values: ``[N]`` per-item values whose mean is the score.
        confidence: the interval's coverage in (0, 1).
        num_resamples: bootstrap resamples.
        seed: seed of the resamples; equal seeds give equal intervals.
        scale: factor applied to the bounds (100 for scores in percent).
        units: ``[N]`` the unit each item belongs to (``None``: each item is its own unit).

    Returns:
        ``(low, high)`` in the score's unit.

    Example:
        >>> low, high = compute_bootstrap_ci(np.r_[np.ones(80), np.zeros(20)], seed=0)
        >>> bool(0.7 < low < 0.8 < high < 0.9)
        True
    """
    _check(confidence, num_resamples)
    replicates = compute_mean_replicates(values, units, num_resamples, seed)
    low, high = compute_percentile_interval(replicates, confidence)
    return low * scale, high * scale


@dataclass(frozen=True)
class Comparison:
    """A paired difference: the estimate, its percentile interval and whether the interval excludes 0.

    Attributes:
        difference: the difference of the two point scores (in the scores' unit).
        low: the interval's lower end.
        high: the interval's upper end.
        significant: ``low > 0`` or ``high < 0``; an interval that touches or crosses 0 is not significant.
    """

    difference: float
    low: float
    high: float
    significant: bool

    @classmethod
    def from_replicates(
        cls, difference: float, replicates: ArrayLike, confidence: float = 0.95, scale: float = 1.0
    ) -> Comparison:
        """The comparison of a point difference and its paired replicates (both before ``scale``).

        Example:
            >>> Comparison.from_replicates(0.5, [0.1, 0.4, 0.6, 0.9], confidence=0.5).significant
            True
        """
        low, high = compute_percentile_interval(replicates, confidence)
        return cls(difference * scale, low * scale, high * scale, bool(low > 0 or high < 0))

    def to_dict(self) -> dict[str, object]:
        """The JSON-able form: ``{"difference", "ci": [low, high], "significant"}``."""
        return {"difference": self.difference, "ci": [self.low, self.high], "significant": self.significant}


def compute_paired_difference(
    first: ArrayLike,
    second: ArrayLike,
    units: ArrayLike | None = None,
    confidence: float = 0.95,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = 0,
    scale: float = 1.0,
) -> Comparison:
    """``mean(first) - mean(second)`` over the same items, with its paired cluster-bootstrap interval.

    Example:
        >>> result = compute_paired_difference([1, 1, 1, 0], [0, 1, 0, 0], num_resamples=200)
        >>> result.difference
        0.5
    """
    a = as_finite(first, "first", 1).astype(np.float64)
    b = as_finite(second, "second", 1).astype(np.float64)
    if a.shape != b.shape:
        raise UsageError(f"paired values need the same items: {a.shape} vs {b.shape}")
    _check(confidence, num_resamples)
    replicates = compute_mean_replicates(a - b, units, num_resamples, seed)
    return Comparison.from_replicates(float(a.mean() - b.mean()), replicates, confidence, scale)


def compute_av_gain(
    av: ArrayLike,
    audio_only: ArrayLike,
    video_only: ArrayLike,
    scale: float = 1.0,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = 0,
    units: ArrayLike | None = None,
    confidence: float = 0.95,
) -> Comparison:
    """AV gain = mean(AV) - max(mean(audio-only), mean(video-only)), with its paired bootstrap interval.

    The three conditions score the same items; every resample takes the same units in all three, so the
    interval is paired. ``higher`` scores are assumed better (negate the values of a lower-is-better score).

    Example:
        >>> gain = compute_av_gain([1, 1, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0])
        >>> gain.difference, bool(gain.low <= gain.difference <= gain.high)
        (0.5, True)
    """
    rows = [as_finite(v, name, 1).astype(np.float64) for v, name in
            ((av, "av"), (audio_only, "audio_only"), (video_only, "video_only"))]  # fmt: skip
    if len({r.shape for r in rows}) != 1 or len(rows[0]) == 0:
        raise UsageError("AV gain needs the same non-empty items under AV, audio-only and video-only")
    _check(confidence, num_resamples)
    reps = [compute_mean_replicates(r, units, num_resamples, seed) for r in rows]
    means = [float(r.mean()) for r in rows]
    return Comparison.from_replicates(
        means[0] - max(means[1], means[2]), reps[0] - np.maximum(reps[1], reps[2]), confidence, scale
    )
