"""Percentile bootstrap confidence intervals for every score that is a mean over items."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from avikit.errors import UsageError
from avikit.metrics._validation import as_finite

__all__ = ["compute_bootstrap_ci"]


def compute_bootstrap_ci(
    values: ArrayLike, confidence: float = 0.95, num_resamples: int = 1000, seed: int = 0, scale: float = 1.0
) -> tuple[float, float]:
    """Seeded, vectorized percentile bootstrap interval of the mean of per-item values.

    Use it with the per-item statistics of a metric, e.g. ``statistics["segment_audio"]`` of LLP with
    ``scale=100``, ``statistics["correct"]`` of AVE or MUSIC-AVQA, or the 0/1 hits of retrieval.

    Args:
        values: ``[N]`` per-item values whose mean is the score.
        confidence: the interval's coverage in (0, 1).
        num_resamples: bootstrap resamples.
        seed: seed of ``numpy.random.default_rng``; equal seeds give equal intervals.
        scale: factor applied to the bounds (100 for scores in percent).

    Returns:
        ``(low, high)`` in the score's unit.

    Example:
        >>> low, high = compute_bootstrap_ci(np.r_[np.ones(80), np.zeros(20)], seed=0)
        >>> bool(0.7 < low < 0.8 < high < 0.9)
        True
    """
    array = as_finite(values, "values", 1).astype(np.float64)
    if len(array) == 0:
        raise UsageError("values is empty; a confidence interval needs at least one item")
    if not 0 < confidence < 1:
        raise UsageError(f"confidence must lie in (0, 1), got {confidence}")
    if num_resamples < 1:
        raise UsageError(f"num_resamples must be positive, got {num_resamples}")
    rng = np.random.default_rng(seed)
    means = np.empty(num_resamples)
    chunk = max(1, 2**24 // len(array))
    for begin in range(0, num_resamples, chunk):
        count = min(chunk, num_resamples - begin)
        means[begin : begin + count] = array[rng.integers(0, len(array), (count, len(array)))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low * scale), float(high * scale)
