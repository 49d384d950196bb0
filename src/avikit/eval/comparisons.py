"""The comparisons a report states, each a paired bootstrap interval: AV gain and model vs baseline.

The cells of one task score the same samples, and :func:`avikit.eval.intervals.cell_intervals` draws the
same resamples for each (one seed, one unit count), so a difference of two cells' replicates is the paired
bootstrap of their difference:

- ``av_gain``: AV - max(audio only, video only), the clean cell against the ``video_blanked`` (audio only)
  and ``audio_muted`` (video only) cells of the same model;
- ``vs_baseline``: the clean cell against the strongest trivial baseline of the task (the baseline cell
  with the best clean score).

Differences are oriented so that a positive value is an improvement (a lower-is-better score is negated).
A difference whose 95% interval touches or crosses 0 is not significant (``"significant": false``); reports
mark it.

Example:
    >>> cells = [{"task": "t", "model_id": m, "condition": "clean", "complete": True, "baseline": b,
    ...           "scores": {"acc": s}} for m, b, s in (("model", False, 0.8), ("prior", True, 0.5))]
    >>> replicates = {("t", "model", "clean"): {"acc": np.full(10, 0.8)},
    ...               ("t", "prior", "clean"): {"acc": np.full(10, 0.5)}}
    >>> [c["kind"] for c in compare_cells({"t": {"primary_metric": "acc"}}, cells, replicates)]
    ['vs_baseline']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avikit.metrics import Comparison

__all__ = ["compare_cells", "significance_mark", "strongest_baselines"]

Cell = Mapping[str, Any]
Replicates = Mapping[tuple[str, str, str], Mapping[str, NDArray[np.float64]]]
CONTROLS = ("video_blanked", "audio_muted")
"""Audio only (video blanked) and video only (audio muted)."""


def significance_mark(comparison: Mapping[str, Any] | None) -> str:
    """``""`` for a significant difference, ``" (n.s.)"`` for one whose interval touches or crosses 0.

    Example:
        >>> significance_mark({"significant": False}), significance_mark({"significant": True})
        (' (n.s.)', '')
    """
    return "" if comparison is None or comparison.get("significant", True) else " (n.s.)"


def _sign(spec: Mapping[str, Any], metric: str) -> float:
    return -1.0 if metric in spec.get("lower_is_better", ()) else 1.0


def strongest_baselines(specs: Mapping[str, Mapping[str, Any]], cells: Sequence[Cell]) -> dict[str, Cell]:
    """Task -> the clean, complete baseline cell with the best primary score (the first of equals)."""
    out: dict[str, Cell] = {}
    for cell in cells:
        task = cell["task"]
        if not (cell.get("baseline") and cell["complete"] and cell["condition"] == "clean"):
            continue
        metric = specs[task]["primary_metric"]
        if metric not in cell["scores"]:
            continue
        sign = _sign(specs[task], metric)
        best = out.get(task)
        if best is None or sign * float(cell["scores"][metric]) > sign * float(best["scores"][metric]):
            out[task] = cell
    return out


def _entry(kind: str, cell: Cell, metric: str, reference: str, result: Comparison) -> dict[str, Any]:
    return {"kind": kind, "task": cell["task"], "model": cell["model_id"], "metric": metric,
            "reference": reference, **result.to_dict()}  # fmt: skip


def compare_cells(
    specs: Mapping[str, Mapping[str, Any]], cells: Sequence[Cell], replicates: Replicates
) -> list[dict[str, Any]]:
    """Every ``vs_baseline`` and ``av_gain`` comparison of a run's primary scores (see the module docstring).

    Args:
        specs: task -> ``{"primary_metric", "lower_is_better"}`` (``results["tasks"]``).
        cells: the run's cells (a trivial baseline's cell has ``"baseline": true``).
        replicates: ``(task, model id, condition)`` -> score -> bootstrap replicates (paired draws).
    """
    index = {(c["task"], c["model_id"], c["condition"]): c for c in cells if c["complete"]}
    baselines = strongest_baselines(specs, cells)
    out = []
    for (task, model, condition), cell in index.items():
        if condition != "clean" or cell.get("baseline"):
            continue
        metric = specs[task]["primary_metric"]
        sign = _sign(specs[task], metric)
        reps = replicates.get((task, model, "clean"), {}).get(metric)
        if reps is None or metric not in cell["scores"]:
            continue
        base = baselines.get(task)
        base_reps = (
            None if base is None else replicates.get((task, base["model_id"], "clean"), {}).get(metric)
        )
        if base is not None and base_reps is not None and len(base_reps) == len(reps):
            point = sign * (float(cell["scores"][metric]) - float(base["scores"][metric]))
            result = Comparison.from_replicates(point, sign * (reps - base_reps))
            out.append(_entry("vs_baseline", cell, metric, base["model_id"], result))
        controls = [index.get((task, model, c)) for c in CONTROLS]
        control_reps = [replicates.get((task, model, c), {}).get(metric) for c in CONTROLS]
        if any(c is None for c in controls) or any(r is None or len(r) != len(reps) for r in control_reps):
            continue
        singles = [sign * float(c["scores"][metric]) for c in controls if c is not None]
        point = sign * float(cell["scores"][metric]) - max(singles)
        best_single = np.maximum(*(sign * r for r in control_reps if r is not None))
        out.append(_entry("av_gain", cell, metric, "max(audio only, video only)",
                          Comparison.from_replicates(point, sign * reps - best_single)))  # fmt: skip
    return out
