"""The evaluation runner: tasks x models x conditions, cached per sample, resumable, shardable.

Every finished sample is a record in its cell's JSONL file (``RUN/cells/<task>/<model>/<condition>.jsonl``)
carrying the task version, protocol hash, model id and weights hash, package version, git revision and
seed, and ``predict_seconds``, its share of the wall time of the ``predict`` call that made it. A rerun
skips every sample already recorded, so a killed run resumes losing nothing finished. Shards
(``shard=(k, n)``: the samples whose index in the task's sample list is ``k`` modulo ``n``) write their own
files; scores are always computed from all records of a cell, in dataset order, so sharded and whole runs
give identical results. ``results.json`` holds the run's metadata, dataset cards and every cell's scores
with 95% bootstrap intervals.

Tasks are bound to the dataset's profile (its geometry and vocabularies,
:meth:`avikit.tasks.Task.for_dataset`) and clips are decoded at that geometry. A model that brings the
media to its own input geometry says so (``input_resampling(task)``); its records and cells then carry a
``resampled`` note.

Models get only what their task declares (:mod:`avikit.eval.predict`), under opaque ids whose secret is
kept in ``RUN/run.json`` with the arguments that fix the data (dataset, split, sample count, seed, use): a
resume with other data arguments is refused, naming the difference. Tasks are run condition by condition,
and every clip is decoded once per condition for all the models of a task. A model that fails on a sample
leaves an error record: the cell is incomplete (``errors`` counts them) and a resume retries those samples.

Scale: an engine runs the model inference (:mod:`avikit.eval.engines`: ``local``, or ``ray`` for a Ray
actor pool); under ``torchrun`` each rank takes its strided, padded share of every cell and rank 0 gathers
the records and writes ``results.json`` (:mod:`avikit.eval.distributed`); a :class:`~avikit.eval.run_cache.
RunCache` reuses task inputs and model outputs of earlier runs. None of them changes a record or a score.

Generation tasks predict files: each item names the cell's own media folder
(``RUN/cells/<task>/<model>/<condition>_media``, absolute) as its ``output_dir``, where a generator writes
its ``.npy`` arrays; the records name those files, so they stay next to the run and a resumed run reuses them.
A generation cell keeps the per-item values of every metric (``items``), in dataset order, and its records
carry no per-item scores (scoring decodes the files once). A score that is not finite (the PSNR of
identical frames) is stored as text (``"inf"``; ``float()`` reads it back) and has no interval.

The parts: :mod:`~avikit.eval.run_plan` (the config, which model runs under which conditions),
:mod:`~avikit.eval.run_folder` (where the files go, the run's secret), :mod:`~avikit.eval.run_context`
(record headers, a cell's samples and records), :mod:`~avikit.eval.target_cache` (targets built once),
:mod:`~avikit.eval.chunked_run` (one task under one condition, chunk by chunk) and
:mod:`~avikit.eval.run_results` (``results.json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from avikit.errors import UsageError
from avikit.eval.chunked_run import run_task
from avikit.eval.distributed import broadcast_object, current_world, leave
from avikit.eval.energy import EnergyMeter
from avikit.eval.engines import Engine, make_engine
from avikit.eval.predict import OpaqueIds
from avikit.eval.revision import git_revision
from avikit.eval.run_cache import RunCache
from avikit.eval.run_context import RunContext
from avikit.eval.run_folder import cell_media_dir, read_cell_records, shared_secret
from avikit.eval.run_plan import ModelPlan, Progress, RunConfig, model_plan, resolve_models
from avikit.eval.run_results import gather_records, json_number, summarize_run, write_results
from avikit.eval.source import EvalData, check_conditions, load_eval_data, parse_condition
from avikit.models.protocol import Model
from avikit.tasks import Task, get_task

__all__ = [
    "Progress",
    "RunConfig",
    "cell_media_dir",
    "git_revision",
    "json_number",
    "read_cell_records",
    "run_evaluation",
    "summarize_run",
]


def _check_use(card: Mapping[str, Any], use: str | None) -> None:
    if use is None:
        return
    from avikit.data.governance import check_allowed_use  # governance rules live in the data layer

    check_allowed_use(card, use)


def run_evaluation(
    config: RunConfig,
    out: str | Path,
    models: Mapping[str, Model] | None = None,
    progress: Progress | None = None,
    engine: str | Engine = "local",
    cache: str | Path | None = None,
) -> dict[str, Any]:
    """Run (or resume) every cell of ``config`` into ``out`` and write ``out/results.json``.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) every rank runs its share and rank 0 gathers the records and
    writes ``results.json``; every rank returns it.

    Args:
        config: tasks, models, conditions, data, seed, batch size, declared use and shard.
        out: the run folder; an existing one is resumed.
        models: model objects by name, for models that are not registered.
        progress: called as ``progress(cell, done, total)`` after each batch.
        engine: where model inference runs: ``"local"``, ``"ray"`` (a Ray actor pool of one actor per CPU
            of the cluster) or an engine object (e.g. :class:`~avikit.eval.ray_engine.RayEngine` with its
            ``num_actors``).
        cache: a :class:`~avikit.eval.run_cache.RunCache` folder shared across runs (``None``: no cache).

    Returns:
        The content of ``results.json``.

    Raises:
        ValueError: if ``out`` holds records made under another protocol, model version or seed.
    """
    world = current_world()
    if world.distributed and (config.shard != (0, 1) or engine != "local"):
        raise UsageError("under torchrun the ranks are the shards: drop --shard and --engine")
    data = load_eval_data(config.dataset, config.split, config.num_samples, config.seed)
    _check_use(data.card, config.use)
    out = Path(out)
    ids = OpaqueIds(shared_secret(out, config, world))
    tasks = _bound_tasks(config, data)
    conditions = [parse_condition(name) for name in config.conditions]
    check_conditions(data, conditions)
    plan = model_plan(config, resolve_models(config, models), conditions, models)
    runner = (
        make_engine(engine, [m for m, _ in plan], data.root, None if cache is None else str(cache))
        if isinstance(engine, str)
        else engine
    )
    ctx = RunContext(config, data, out, ids, world, runner, None if cache is None else RunCache(cache))
    energy = _run_cells(ctx, tasks, plan, progress)
    if world.distributed:
        gather_records(ctx, tasks, plan)
        results = write_results(ctx, tasks, plan, energy) if world.rank == 0 else None
        results = dict(broadcast_object(results, world))
        leave(world)
        return results
    return write_results(ctx, tasks, plan, energy)


def _bound_tasks(config: RunConfig, data: EvalData) -> list[Task]:
    """The run's tasks bound to the dataset's profile; a task that scores none of its samples is refused."""
    tasks = [get_task(name).for_dataset(data.profile, config.split) for name in config.tasks]
    for task in tasks:
        if not any(task.includes(sample) for sample in data.samples):
            raise UsageError(
                f"task {task.name} scores no sample of {data.profile.name!r} split {config.split!r}: none "
                "carries its targets; choose a task the dataset annotates (docs/datasets.md)"
            )
    return tasks


def _run_cells(ctx: RunContext, tasks: list[Task], plan: ModelPlan, progress: Progress | None) -> str | None:
    """Run every cell, condition by condition, then task by task; close the engine (and the energy meter).

    Returns:
        The energy meter's status (``None`` without ``config.energy``).
    """
    meter = EnergyMeter(ctx.config.energy_country) if ctx.config.energy else None
    order = {c.name: c for _, listed in plan for c in listed}
    try:
        for condition in order.values():
            for task in tasks:
                chosen = [m for m, listed in plan if task.name in m.tasks and condition in listed]
                if chosen:
                    run_task(ctx, task, chosen, condition, progress, meter)
    finally:
        ctx.engine.close()
        if meter is not None:
            meter.close()
    return None if meter is None else meter.status
