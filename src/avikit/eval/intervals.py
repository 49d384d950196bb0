"""Confidence intervals of a run's cells over each task's resampling unit, and the replicates behind them.

A task declares what its intervals resample (:attr:`avikit.tasks.TaskSpec.resampling_unit`): ``"clip"``
(every scored sample with all its items) or ``"video"`` (the samples cut from one media file together).
:func:`sample_units` numbers the units of a cell's samples; :func:`cell_intervals` turns a task's
:class:`~avikit.tasks.Evaluation` into percentile intervals:

- a score that is a mean of per-item values (segments, frames, questions, clips) resamples units and keeps
  each unit's items together (:func:`avikit.metrics.compute_mean_replicates`);
- a set metric (mAP over the set, AVSS mIoU over the set) resamples units and recomputes the task's scores
  on the chosen samples (:meth:`avikit.tasks.Task.resampled_scores`), for the tasks whose primary score is
  a set metric (a breakdown that is not a mean of items, like AVQA's per-type accuracies, has no interval).

Every cell of a task over the same samples draws the same resamples (seed and unit count fix them), so the
replicates of two cells give paired comparisons (:mod:`avikit.eval.comparisons`).

Example:
    >>> from avikit.data.synth import generate
    >>> from avikit.tasks import get_task
    >>> samples = [generate("test", i)[0] for i in range(3)]
    >>> sample_units(get_task("avel"), samples).tolist()
    [0, 1, 2]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avikit.data.sample import Sample
from avikit.errors import UsageError
from avikit.metrics import bootstrap_indices, compute_mean_replicates, compute_percentile_interval
from avikit.metrics.bootstrap import NUM_RESAMPLES, unit_index
from avikit.tasks import Evaluation, Task

__all__ = ["cell_intervals", "item_units", "sample_units"]


def sample_units(task: Task, samples: Sequence[Sample]) -> NDArray[np.int64]:
    """The resampling unit ``0..U-1`` of each sample: itself (``"clip"``) or its media file (``"video"``)."""
    unit = getattr(task.spec, "resampling_unit", "clip")
    labels = [s.media.path for s in samples] if unit == "video" else [s.id for s in samples]
    return unit_index(labels, len(samples))[0]


def item_units(task: Task, evaluation: Evaluation, key: str, units: NDArray[np.int64]) -> NDArray[np.int64]:
    """The unit of every item behind score ``key`` (its sample's unit).

    Raises:
        UsageError: if the task gives more or fewer items than samples without saying whose they are.
    """
    values = evaluation.item_values[key][0]
    samples = getattr(evaluation, "item_samples", {}).get(key)
    if samples is None:
        if len(values) != len(units):
            raise UsageError(
                f"task {task.name}: score {key!r} has {len(values)} items for {len(units)} samples; the task "
                "must give Evaluation.item_samples for it"
            )
        return units
    return units[np.asarray(samples, dtype=np.int64)]


def _set_replicates(
    task: Task,
    predictions: Sequence[Mapping[str, Any]],
    targets: Sequence[Mapping[str, Any]],
    units: NDArray[np.int64],
    keys: Sequence[str],
    seed: int,
    num_resamples: int,
) -> dict[str, NDArray[np.float64]]:
    """Replicates of set scores ``keys``: resample units, recompute the task's scores on their samples."""
    scores = task.resampled_scores(predictions, targets)
    members = [np.flatnonzero(units == unit) for unit in range(int(units.max()) + 1)]
    rows = []
    for chosen in bootstrap_indices(len(members), num_resamples, seed):
        try:
            rows.append(scores(np.concatenate([members[u] for u in chosen]).tolist()))
        except UsageError:  # a resample where the metric is undefined (no positive of any class)
            rows.append({})
    return {key: np.array([row.get(key, math.nan) for row in rows]) for key in keys}


def cell_intervals(
    task: Task,
    evaluation: Evaluation,
    predictions: Sequence[Mapping[str, Any]],
    targets: Sequence[Mapping[str, Any]],
    units: NDArray[np.int64],
    seed: int = 0,
    num_resamples: int = NUM_RESAMPLES,
) -> tuple[dict[str, list[float]], dict[str, NDArray[np.float64]]]:
    """95% percentile intervals of every finite score of a cell, and the bootstrap replicates behind them.

    Args:
        task: the task.
        evaluation: the task's evaluation of ``predictions`` against ``targets``.
        predictions: checked predictions, in sample order.
        targets: the samples' targets, in the same order.
        units: :func:`sample_units` of the samples.
        seed: bootstrap seed (the same for every cell of a run: paired replicates).
        num_resamples: bootstrap resamples.

    Returns:
        ``(ci, replicates)``: score -> ``[low, high]`` in the score's unit, and score -> ``[R]`` replicates
        in the same unit. A score whose replicates are not all finite (a set metric undefined on some
        resamples) has neither.
    """
    ci: dict[str, list[float]] = {}
    replicates: dict[str, NDArray[np.float64]] = {}
    for key, (values, scale) in evaluation.item_values.items():
        if not np.isfinite(values).all() or len(values) == 0:
            continue
        reps = compute_mean_replicates(values, item_units(task, evaluation, key, units), num_resamples, seed)
        replicates[key] = reps * scale
    missing = [
        k for k, v in evaluation.scores.items() if k not in evaluation.item_values and math.isfinite(v)
    ]
    if missing and task.spec.primary_metric not in evaluation.item_values:  # a set-metric task
        replicates |= _set_replicates(task, predictions, targets, units, missing, seed, num_resamples)
    for key, reps in list(replicates.items()):
        if not np.isfinite(reps).all():
            del replicates[key]
            continue
        ci[key] = list(compute_percentile_interval(reps))
    return ci, replicates
