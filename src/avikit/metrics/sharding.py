"""Merging the statistics of several shards, so sharded and one-shot evaluation give the same score."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from avikit.errors import UsageError

__all__ = ["merge_statistics"]


def merge_statistics(parts: Sequence[dict[str, NDArray]]) -> dict[str, NDArray]:
    """Concatenate per-item statistics of shards, in shard order.

    Every ``compute_*_statistics`` function returns arrays whose first axis is the item (video, frame, query,
    question). Detection statistics also carry ``thresholds`` (must be equal) and ``num_positives`` (summed).

    Args:
        parts: statistics dicts with the same keys.

    Returns:
        One statistics dict that the matching ``compute_*_scores`` function accepts.

    Example:
        >>> merge_statistics([{"correct": np.array([1.0])}, {"correct": np.array([0.0, 1.0])}])
        {'correct': array([1., 0., 1.])}
    """
    if not parts:
        raise UsageError("merge_statistics needs at least one statistics dict")
    keys = set(parts[0])
    for part in parts[1:]:
        if set(part) != keys:
            raise UsageError(
                f"statistics have different keys: {sorted(keys)} vs {sorted(part)}; merge like with like"
            )
    merged: dict[str, NDArray] = {}
    for key in parts[0]:
        values = [np.asarray(part[key]) for part in parts]
        if key == "thresholds":
            if any(not np.array_equal(values[0], value) for value in values[1:]):
                raise UsageError("shards were scored with different thresholds; use one grid")
            merged[key] = values[0]
        elif key == "num_positives":
            if len({len(value) for value in values}) != 1:
                raise UsageError(
                    "shards have different class counts; compute statistics with the same classes"
                )
            merged[key] = np.sum(values, axis=0)
        else:
            merged[key] = np.concatenate(values, axis=0)
    return merged
