"""One task under one condition, for every model of it, chunk by chunk: each clip is decoded once for all.

:func:`plan_chunks` cuts the cell's samples (this process's share of them) into chunks of ``batch_size``
and says, per chunk, which samples each model still has to predict (not recorded yet, not in the run
cache); :func:`run_task` stores the cached outputs, has the run's engine predict the rest in plan order,
scores each record against its target and appends it to the cell's file. Padding slots of a distributed
run are predicted with their chunk (the ranks stay in step) and dropped.

Example:
    >>> from pathlib import Path
    >>> from avikit.eval.predict import OpaqueIds
    >>> from avikit.eval.run_plan import RunConfig
    >>> from avikit.eval.source import load_eval_data
    >>> from avikit.models.baselines import OracleModel
    >>> data = load_eval_data(None, "test", 3, 0)
    >>> config = RunConfig(tasks=("sync",), models=("oracle",), batch_size=2)
    >>> ctx = RunContext(config, data, Path("run"), OpaqueIds(b"k"))
    >>> plan, hits = plan_chunks(ctx, [OracleModel()], data.samples, {"oracle": {0, 2}}, None)
    >>> plan  # per chunk: its samples, and those each model still predicts
    [([0, 1], {'oracle': [0]}), ([2], {'oracle': [2]})]
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from avikit.data.sample import Sample
from avikit.eval.distributed import rank_slots
from avikit.eval.energy import EnergyMeter
from avikit.eval.engines import Plan
from avikit.eval.predict import ItemFactory
from avikit.eval.run_cache import TaskCache
from avikit.eval.run_context import RunContext
from avikit.eval.run_folder import cell_media_dir, energy_file
from avikit.eval.run_plan import Progress
from avikit.eval.source import Condition, load_sample_clip
from avikit.models.protocol import Model
from avikit.tasks import Task
from avikit.tasks.generation import GenerationTask

__all__ = ["plan_chunks", "run_task"]

Raw = list[tuple[int, dict[str, Any]]]
"""Raw records of the predict loop with their sample indices."""


def plan_chunks(
    ctx: RunContext,
    models: list[Model],
    samples: list[Sample],
    todo: dict[str, set[int]],
    cached: TaskCache | None,
) -> tuple[Plan, dict[str, dict[int, dict[str, Any]]]]:
    """This process's chunks and what each model predicts in each, and the cached outputs (not predicted).

    A padding slot (distributed runs) is predicted with its chunk only where the chunk has real work.
    """
    slots = rank_slots(len(samples), *ctx.shard, pad=ctx.world.distributed)
    hits: dict[str, dict[int, dict[str, Any]]] = {model.id: {} for model in models}
    plan: Plan = []
    for begin in range(0, len(slots), ctx.config.batch_size):
        chunk = slots[begin : begin + ctx.config.batch_size]
        padding = [i for i, pad in chunk if pad]
        wanted: dict[str, list[int]] = {}
        for model in models:
            real = [i for i, pad in chunk if not pad and i in todo[model.id]]
            if cached is not None and real:
                found, real = cached.lookup(model, real)
                hits[model.id].update(found)
            wanted[model.id] = real + padding if real else []
        plan.append(([i for i, _ in chunk], wanted))
    return plan, hits


def _records(
    ctx: RunContext,
    task: Task,
    model: Model,
    condition: Condition,
    samples: list[Sample],
    raw: Raw,
    factory: ItemFactory,
) -> list[dict[str, Any]]:
    """Raw records of the predict loop (``(index, record)``) as stored records with per-sample scores."""
    header = ctx.header(task, model, condition)
    out = []
    for index, record in raw:
        if "error" in record:
            out.append({**record, **header})
            continue
        scores: dict[str, float] = {}
        if not isinstance(task, GenerationTask):  # a generation record names files; scored with the cell
            sample = samples[index]
            checked = task.check_prediction(record["prediction"], factory.inputs(sample), record["id"])
            scores = task.sample_scores(checked, factory.load_target(sample))
        out.append({"id": record["id"], **header, "prediction": record["prediction"], "scores": scores,
                    "predict_seconds": record["predict_seconds"],
                    **({"cached": True} if record.get("cached") else {})})  # fmt: skip
    return out


def _todo(
    ctx: RunContext, task: Task, models: list[Model], condition: Condition, samples: list[Sample]
) -> tuple[dict[str, set[int]], dict[str, int], int]:
    """What is left to predict: per model, this process's samples without a successful record.

    Returns:
        ``(todo, finished, total)``: those sample indices and how many have a record, per model, and how
        many samples are this process's.
    """
    mine = [i for i, pad in rank_slots(len(samples), *ctx.shard, pad=False)]
    todo: dict[str, set[int]] = {}
    finished: dict[str, int] = {}
    for model in models:
        done = ctx.read_cell(task, model, condition)
        todo[model.id] = {i for i in mine if "error" in done.get(samples[i].id, {"error": None})}
        finished[model.id] = len(mine) - len(todo[model.id])
    return todo, finished, len(mine)


def run_task(
    ctx: RunContext,
    task: Task,
    models: list[Model],
    condition: Condition,
    progress: Progress | None,
    meter: EnergyMeter | None = None,
) -> None:
    """Every model of one task under one condition, chunk by chunk: each clip is decoded once for all.

    With a ``meter``, each model's share of each chunk is measured and appended to the cell's energy file
    (a chunk's decoding counts to the first model that needs it). Cached outputs are stored first; the
    engine predicts the rest; padding predictions are dropped.
    """
    samples = [ctx.resolve(s, condition) for s in ctx.cell_samples(task)]
    todo, finished, total = _todo(ctx, task, models, condition, samples)

    def report(model: Model) -> None:
        if progress is not None:
            progress(f"{task.name} / {model.id} / {condition.name}", finished[model.id], total)

    for model in models:
        report(model)
    cached = (
        None if ctx.cache is None else TaskCache(ctx.cache, task, samples, ctx.data.root, condition.control)
    )
    root, profile = ctx.data.root, ctx.data.profile
    factory = ItemFactory(task, lambda s: load_sample_clip(s, root, profile), ctx.ids, condition.control,
                          ctx.task_targets(task, condition), cached)  # fmt: skip
    plan, hits = plan_chunks(ctx, models, samples, todo, cached)

    def keep(model: Model, raw: Raw) -> None:
        ctx.store(task, model, condition).append(_records(ctx, task, model, condition, samples, raw, factory))
        finished[model.id] += len(raw)
        report(model)

    for model in models:
        if hits[model.id]:
            keep(model, sorted(hits[model.id].items()))
    folders = {model.id: cell_media_dir(ctx.out, task.name, model.id, condition.name)
               if task.spec.pillar == "generation" else None for model in models}  # fmt: skip
    results = iter(ctx.engine.run(task, models, samples, factory, plan, folders))
    for wanted, model in [(w, m) for _, w in plan for m in models if w.get(m.id)]:  # the engine's order
        with _metered(meter, ctx, task, model, condition, len(todo[model.id].intersection(wanted[model.id]))):
            model_id, indices, records = next(results)
            if model_id != model.id:
                raise RuntimeError(f"engine {ctx.engine.name} answered {model_id} out of plan order")
            real = [(i, r) for i, r in zip(indices, records, strict=True) if i in todo[model_id]]
            if cached is not None:
                for index, record in real:
                    cached.store(model, index, record)
            keep(model, real)
    if next(results, None) is not None:
        raise RuntimeError(f"engine {ctx.engine.name} answered more than its plan")


def _metered(
    meter: EnergyMeter | None, ctx: RunContext, task: Task, model: Model, condition: Condition, samples: int
) -> AbstractContextManager[None]:
    """The meter's span for one model's share of one chunk (appended to the cell's energy file)."""
    if meter is None:
        return nullcontext()
    record = {"model": model.id, "task": task.name, "condition": condition.name, "samples": samples}
    where = energy_file(ctx.out, task.name, model.id, condition.name)
    return meter.track(f"{task.name}/{model.id}/{condition.name}", record, where)
