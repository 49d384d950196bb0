"""A run's ``results.json``: every cell scored from all its records, with intervals, baselines, comparisons.

Under ``torchrun`` the records of every rank are gathered to rank 0 first.

A cell is scored from all its records in dataset order, so sharded and whole runs agree; a cell with a
missing or failed sample is incomplete (no scores). A generation cell keeps the per-item values of every
metric (``items``); other cells keep those of their primary metric. A score that is not finite (the PSNR of
identical frames) is stored as text (:func:`json_number`) and has no interval.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from avikit import __version__
from avikit.data.manifest import atomic_writer
from avikit.eval.comparisons import compare_cells, strongest_baselines
from avikit.eval.distributed import gather_object
from avikit.eval.energy import read_energy, summarize_energy
from avikit.eval.intervals import cell_intervals, sample_units
from avikit.eval.revision import git_revision
from avikit.eval.run_context import RunContext
from avikit.eval.run_folder import cell_store, energy_file
from avikit.eval.run_plan import ModelPlan
from avikit.eval.source import Condition
from avikit.models.baselines import is_trivial_baseline
from avikit.models.protocol import Model
from avikit.tasks import Task
from avikit.tasks.generation import GenerationTask

__all__ = ["gather_records", "json_number", "score_cell", "summarize_run", "write_results"]


def json_number(value: float) -> float | str:
    """``value``, or its text (``"inf"``, ``"-inf"``, ``"nan"``) when not finite: JSON has no infinity.

    ``float()`` reads the text back; a score is infinite e.g. for the PSNR of identical frames (the oracle).

    Example:
        >>> json_number(0.5), json_number(float("inf"))
        (0.5, 'inf')
    """
    return float(value) if math.isfinite(value) else str(float(value))


def score_cell(ctx: RunContext, task: Task, model: Model, condition: Condition) -> dict[str, Any]:
    """One cell's entry of ``results.json``: counts, scores, intervals and per-item values.

    The cell's bootstrap replicates are kept in ``ctx.replicates`` for the comparisons.
    """
    samples = ctx.cell_samples(task)
    records = ctx.read_cell(task, model, condition)
    errors = [records[s.id] for s in samples if "error" in records.get(s.id, {})]
    result = {**ctx.header(task, model, condition), "count": len(records) - len(errors),
              "expected": len(samples), "errors": len(errors)}  # fmt: skip
    for key in ("package_version", "git_revision", "seed"):
        result.pop(key)
    if errors:
        result["error_examples"] = [f"{e['id']}: {e['error']}" for e in errors[:3]]
    if errors or any(s.id not in records for s in samples):
        return {**result, "complete": False, "scores": {}, "ci": {}, "items": {}}
    resolved = [ctx.resolve(s, condition) for s in samples]
    views = {s.id: task.build_inputs(r) for s, r in zip(samples, resolved, strict=True)}
    predictions = [task.check_prediction(records[s.id]["prediction"], views[s.id], s.id) for s in samples]
    targets = ctx.task_targets(task, condition).of(resolved)
    evaluation = task.evaluate(predictions, targets)
    finite = {key: value for key, value in evaluation.item_values.items() if np.isfinite(value[0]).all()}
    units = sample_units(task, samples)
    ci, replicates = cell_intervals(task, evaluation, predictions, targets, units, ctx.config.seed)
    ctx.replicates[(task.name, model.id, condition.name)] = replicates
    if is_trivial_baseline(model):
        result["baseline"] = True
    primary = task.spec.primary_metric
    kept = finite if isinstance(task, GenerationTask) else {k: v for k, v in finite.items() if k == primary}
    items = {key: values.tolist() for key, (values, _) in kept.items()}
    scores = {key: json_number(value) for key, value in evaluation.scores.items()}
    return {**result, "complete": True, "scores": scores, "ci": ci, "items": items,
            "scale": {k: s for k, (_, s) in evaluation.item_values.items()}}  # fmt: skip


def gather_records(ctx: RunContext, tasks: list[Task], plan: ModelPlan) -> None:
    """Every rank's records of every cell to rank 0, which appends those its run folder lacks.

    On a shared run folder (one machine) rank 0 already sees every shard file and appends nothing.
    """
    for model, conditions in plan:
        for condition in conditions:
            for task in [t for t in tasks if t.name in model.tasks]:
                mine = ctx.store(task, model, condition).read()
                gathered = gather_object(mine, ctx.world)
                if gathered is None:
                    continue
                for rank, records in enumerate(gathered):
                    shard = (rank, ctx.world.size)
                    store = cell_store(ctx.out, task.name, model.id, condition.name, shard)
                    have = {json.dumps(r, sort_keys=True) for r in store.read()}
                    store.append([r for r in records if json.dumps(r, sort_keys=True) not in have])


def _task_specs(tasks: list[Task]) -> dict[str, dict[str, Any]]:
    return {
        task.name: {
            "primary_metric": task.spec.primary_metric,
            "unit": task.spec.unit,
            "units": {m: task.spec.unit_of(m) for m in task.spec.metrics},
            "metrics": list(task.spec.metrics),
            "lower_is_better": list(task.spec.lower_is_better),
            "resampling_unit": task.spec.resampling_unit,
        }
        for task in tasks
    }


def write_results(ctx: RunContext, tasks: list[Task], plan: ModelPlan, energy: str | None = None) -> dict:
    """Score every cell and write ``results.json`` (with the energy summary, given the meter's status)."""
    cells = [
        score_cell(ctx, task, model, condition)
        for task in tasks for model, listed in plan if task.name in model.tasks for condition in listed
    ]  # fmt: skip
    specs = _task_specs(tasks)
    baselines = {task: {"model": c["model_id"], "score": c["scores"][specs[task]["primary_metric"]]}
                 for task, c in strongest_baselines(specs, cells).items()}  # fmt: skip
    results = {
        "run": {
            "config": ctx.config.to_dict(),
            "package_version": __version__,
            "git_revision": git_revision(),
            "seed": ctx.config.seed,
            "datasets": [ctx.data.card],
            "subset": ctx.data.subset,
            "use": ctx.config.use,
        },
        "tasks": specs,
        "cells": cells,
        "baselines": baselines,
        "comparisons": compare_cells(specs, cells, ctx.replicates),
    }  # fmt: skip
    if energy is not None:
        records = [r for t in tasks for m, listed in plan if t.name in m.tasks for c in listed
                   for r in read_energy(energy_file(ctx.out, t.name, m.id, c.name))]  # fmt: skip
        results["energy"] = summarize_energy(records, energy)
    with atomic_writer(ctx.out / "results.json") as f:
        json.dump(results, f, indent=1, allow_nan=False)
    return results


def summarize_run(results: Mapping[str, Any]) -> list[tuple[str, str, str, str, float | None]]:
    """``(task, model, condition, primary metric, value)`` per cell (value None if incomplete)."""
    rows = []
    for cell in results["cells"]:
        primary = results["tasks"][cell["task"]]["primary_metric"]
        rows.append((cell["task"], cell["model_id"], cell["condition"], primary, cell["scores"].get(primary)))
    return rows
