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
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from avikit import __version__
from avikit.data.manifest import atomic_writer
from avikit.data.sample import Sample
from avikit.errors import DataError, UsageError
from avikit.eval.cache import CellStore
from avikit.eval.comparisons import compare_cells, strongest_baselines
from avikit.eval.distributed import World, broadcast_object, current_world, gather_object, leave, rank_slots
from avikit.eval.energy import EnergyMeter, read_energy, summarize_energy
from avikit.eval.engines import Engine, LocalEngine, Plan, make_engine
from avikit.eval.intervals import cell_intervals, sample_units
from avikit.eval.predict import ItemFactory, OpaqueIds, is_reference_baseline
from avikit.eval.run_cache import RunCache, TaskCache
from avikit.eval.source import (
    Condition,
    EvalData,
    check_conditions,
    load_eval_data,
    load_sample_clip,
    parse_condition,
    resolve_sample,
)
from avikit.models.baselines import is_trivial_baseline
from avikit.models.protocol import Model
from avikit.models.registry import get_model
from avikit.tasks import Task, get_task
from avikit.tasks.generation import GenerationTask

__all__ = [
    "RunConfig",
    "cell_media_dir",
    "git_revision",
    "json_number",
    "read_cell_records",
    "run_evaluation",
    "summarize_run",
]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RunConfig:
    """What to evaluate.

    Attributes:
        tasks: task names.
        models: model names (registered in :data:`avikit.models.registry.MODELS`, or keys of ``models``
            passed to :func:`run_evaluation`).
        conditions: ``clean``, controls and AVSynth corruptions (see
            :func:`avikit.eval.source.parse_condition`).
        dataset: a prepared dataset folder, or ``None`` for in-memory AVSynth.
        split: the split to score.
        num_samples: the first N samples (required for in-memory AVSynth).
        seed: AVSynth seed, and the seed of the chance baseline and of the bootstrap.
        batch_size: samples per ``predict`` call.
        use: the declared use of the data (e.g. ``"commercial"``), checked against each dataset's licence.
        shard: ``(index, count)`` of this process's shard.
        baselines: trivial baselines (e.g. ``chance``, ``constant``, ``prior``), run on the clean condition
            only (they read no media); every model's clean score is compared with the strongest of them.
        watermark: leave the generators' audio watermarks on (their default); ``False`` turns them off.
        energy: measure each cell's energy with codecarbon (:mod:`avikit.eval.energy`) into
            ``results.json["energy"]`` (per model and total).
        energy_country: 3-letter ISO code of where the run happens, for CO2 (``None``: energy only).
    """

    tasks: tuple[str, ...]
    models: tuple[str, ...]
    conditions: tuple[str, ...] = ("clean",)
    dataset: str | None = None
    split: str = "test"
    num_samples: int | None = None
    seed: int = 0
    batch_size: int = 8
    use: str | None = None
    shard: tuple[int, int] = (0, 1)
    baselines: tuple[str, ...] = ()
    watermark: bool = True
    energy: bool = False
    energy_country: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form."""
        return json.loads(json.dumps(asdict(self)))


@functools.cache
def git_revision() -> str:
    """The git commit of the avikit source tree, or ``"unknown"`` outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def _check_use(card: Mapping[str, Any], use: str | None) -> None:
    if use is None:
        return
    from avikit.data.governance import check_allowed_use  # governance rules live in the data layer

    check_allowed_use(card, use)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.+@" else "_" for c in text)


def _cell_dir(out: Path, task: str, model_id: str) -> Path:
    return out / "cells" / _slug(task) / _slug(model_id)


def cell_media_dir(out: str | Path, task: str, model_id: str, condition: str) -> Path:
    """The absolute folder where a generation cell's predicted media files go."""
    return (_cell_dir(Path(out), task, model_id) / f"{_slug(condition)}_media").resolve()


def read_cell_records(out: str | Path, task: str, model_id: str, condition: str) -> dict[str, dict[str, Any]]:
    """Every record of one cell of run folder ``out`` (all shard files), by sample id, in file order."""
    records: dict[str, dict[str, Any]] = {}
    for path in sorted(_cell_dir(Path(out), task, model_id).glob(f"{_slug(condition)}.*jsonl")):
        for record in CellStore(path).read():
            records.setdefault(record["id"], record)
    return records


@dataclass
class _Context:
    config: RunConfig
    data: EvalData
    out: Path
    ids: OpaqueIds
    targets: dict[tuple[str, str], list[Mapping[str, Any]]]
    resolved: dict[tuple[str, str], Sample]
    world: World = field(default_factory=World)
    engine: Engine = field(default_factory=LocalEngine)
    cache: RunCache | None = None

    @property
    def shard(self) -> tuple[int, int]:
        """This process's ``(index, count)``: its ``torchrun`` rank, else the configured shard."""
        return (self.world.rank, self.world.size) if self.world.distributed else self.config.shard

    replicates: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    def resolve(self, sample: Sample, condition: Condition) -> Sample:
        """The sample under the condition, made once per run."""
        key = (sample.id, condition.name)
        if key not in self.resolved:
            self.resolved[key] = resolve_sample(sample, condition)
        return self.resolved[key]

    def header(self, task: Task, model: Model, condition: Condition) -> dict[str, Any]:
        resampling = getattr(model, "input_resampling", None)
        resampled = resampling(task) if callable(resampling) else {}
        return {
            "task": task.name, "task_version": task.spec.version, "protocol_hash": task.spec.protocol_hash,
            "model_id": model.id, "weights_hash": model.weights_hash, "condition": condition.name,
            "package_version": __version__, "git_revision": git_revision(), "seed": self.config.seed,
            **({"reads_targets": True} if is_reference_baseline(model) else {}),
            **({"resampled": dict(resampled)} if resampled else {}),
        }  # fmt: skip


def _cell_samples(ctx: _Context, task: Task) -> list[Sample]:
    """The task's samples in dataset order (chosen on clean samples: every condition scores the same).

    The run's split is scored as the task's protocol split (``split="val"`` scores val clips as the task
    would score its test clips: the split to choose settings on).
    """
    split = task.spec.protocol.split
    return [s for s in ctx.data.samples if task.includes(s if s.split == split else replace(s, split=split))]


def _read_cell(ctx: _Context, task: Task, model: Model, condition: Condition) -> dict[str, dict[str, Any]]:
    """Every record of a cell over all its shard files, by sample id; stale records are an error.

    A sample's successful record wins over an error record of it (an error is retried on resume).
    """
    header = ctx.header(task, model, condition)
    records: dict[str, dict[str, Any]] = {}
    for path in sorted(_cell_dir(ctx.out, task.name, model.id).glob(f"{_slug(condition.name)}.*jsonl")):
        for record in CellStore(path).read():
            for key in ("task_version", "protocol_hash", "weights_hash", "seed"):
                if record.get(key) != header[key]:
                    raise DataError(
                        f"{path}: records were made with {key}={record.get(key)!r}, this run has "
                        f"{header[key]!r}; write to a new --out folder or delete {path}"
                    )
            if "error" not in records.get(record["id"], {"error": None}):
                continue
            records[record["id"]] = record
    return records


def _store(ctx: _Context, task: Task, model: Model, condition: Condition) -> CellStore:
    index, count = ctx.shard
    suffix = "jsonl" if count == 1 else f"shard{index}of{count}.jsonl"
    return CellStore(_cell_dir(ctx.out, task.name, model.id) / f"{_slug(condition.name)}.{suffix}")


def _records(
    ctx: _Context,
    task: Task,
    model: Model,
    condition: Condition,
    samples: list[Sample],
    raw: list[tuple[int, dict[str, Any]]],
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


def _plan(
    ctx: _Context,
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


def _run_task(
    ctx: _Context,
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
    samples = [ctx.resolve(s, condition) for s in _cell_samples(ctx, task)]
    mine = [i for i, pad in rank_slots(len(samples), *ctx.shard, pad=False)]
    todo: dict[str, set[int]] = {}
    finished: dict[str, int] = {}
    for model in models:
        done = _read_cell(ctx, task, model, condition)
        todo[model.id] = {i for i in mine if "error" in done.get(samples[i].id, {"error": None})}
        finished[model.id] = len(mine) - len(todo[model.id])
        if progress is not None:
            progress(f"{task.name} / {model.id} / {condition.name}", finished[model.id], len(mine))
    cached = (
        None if ctx.cache is None else TaskCache(ctx.cache, task, samples, ctx.data.root, condition.control)
    )
    root, profile = ctx.data.root, ctx.data.profile
    factory = ItemFactory(task, lambda s: load_sample_clip(s, root, profile), ctx.ids, condition.control,
                          lambda s: task.build_target(s, root), cached)  # fmt: skip
    plan, hits = _plan(ctx, models, samples, todo, cached)

    def keep(model: Model, raw: list[tuple[int, dict[str, Any]]]) -> None:
        _store(ctx, task, model, condition).append(
            _records(ctx, task, model, condition, samples, raw, factory)
        )
        finished[model.id] += len(raw)
        if progress is not None:
            progress(f"{task.name} / {model.id} / {condition.name}", finished[model.id], len(mine))

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


def _targets(ctx: _Context, task: Task, condition: Condition) -> list[Mapping[str, Any]]:
    key = (task.name, condition.name)
    if key not in ctx.targets:
        samples = [ctx.resolve(s, condition) for s in _cell_samples(ctx, task)]
        ctx.targets[key] = [task.build_target(s, ctx.data.root) for s in samples]
    return ctx.targets[key]


def _score_cell(ctx: _Context, task: Task, model: Model, condition: Condition) -> dict[str, Any]:
    samples = _cell_samples(ctx, task)
    records = _read_cell(ctx, task, model, condition)
    errors = [records[s.id] for s in samples if "error" in records.get(s.id, {})]
    result = {**ctx.header(task, model, condition), "count": len(records) - len(errors),
              "expected": len(samples), "errors": len(errors)}  # fmt: skip
    for key in ("package_version", "git_revision", "seed"):
        result.pop(key)
    if errors:
        result["error_examples"] = [f"{e['id']}: {e['error']}" for e in errors[:3]]
    if errors or any(s.id not in records for s in samples):
        return {**result, "complete": False, "scores": {}, "ci": {}, "items": {}}
    views = {s.id: task.build_inputs(ctx.resolve(s, condition)) for s in samples}
    predictions = [task.check_prediction(records[s.id]["prediction"], views[s.id], s.id) for s in samples]
    targets = _targets(ctx, task, condition)
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


def json_number(value: float) -> float | str:
    """``value``, or its text (``"inf"``, ``"-inf"``, ``"nan"``) when not finite: JSON has no infinity.

    ``float()`` reads the text back; a score is infinite e.g. for the PSNR of identical frames (the oracle).

    Example:
        >>> json_number(0.5), json_number(float("inf"))
        (0.5, 'inf')
    """
    return float(value) if math.isfinite(value) else str(float(value))


_RUN_FILE = "run.json"
_DATA_ARGUMENTS = ("dataset", "split", "num_samples", "seed", "use")
"""The arguments that fix what a run folder's records were made on; a resume must repeat them."""


def _run_secret(out: Path, config: RunConfig) -> bytes:
    """The run folder's opaque-id secret, made on the first run; a resume must keep the data arguments.

    Raises:
        UsageError: if ``out`` holds a run made on other data (dataset, split, sample count, seed, use).
    """
    path = out / _RUN_FILE
    given = config.to_dict()
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        changed = [k for k in _DATA_ARGUMENTS if saved["config"].get(k) != given.get(k)]
        if changed:
            what = ", ".join(f"{k}={saved['config'].get(k)!r} (now {given.get(k)!r})" for k in changed)
            raise UsageError(
                f"{out} holds a run made with {what}; write to a new --out folder, repeat those arguments "
                f"to resume, or delete {out}"
            )
        return bytes.fromhex(saved["secret"])
    secret = os.urandom(16)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as f:
        json.dump({"config": given, "secret": secret.hex()}, f, indent=1)
    return secret


def _resolve_models(config: RunConfig, models: Mapping[str, Model] | None) -> list[Model]:
    given = dict(models or {})
    resolved = [given[name] if name in given else get_model(name) for name in config.models]
    if not config.watermark:
        from avikit.models.watermark import set_watermarking

        for model in resolved:
            set_watermarking(model, False)
    return resolved


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
    ids = OpaqueIds(_shared_secret(out, config, world))
    tasks = [get_task(name).for_dataset(data.profile, config.split) for name in config.tasks]
    for task in tasks:
        if not any(task.includes(sample) for sample in data.samples):
            raise UsageError(
                f"task {task.name} scores no sample of {data.profile.name!r} split {config.split!r}: none "
                "carries its targets; choose a task the dataset annotates (docs/datasets.md)"
            )
    conditions = [parse_condition(name) for name in config.conditions]
    check_conditions(data, conditions)
    plan = _model_plan(config, _resolve_models(config, models), conditions, models)
    order = {c.name: c for _, listed in plan for c in listed}
    runner = (
        make_engine(engine, [m for m, _ in plan], data.root, None if cache is None else str(cache))
        if isinstance(engine, str)
        else engine
    )
    ctx = _Context(config, data, out, ids, {}, {}, world, runner, None if cache is None else RunCache(cache))
    meter = EnergyMeter(config.energy_country) if config.energy else None
    try:
        for condition in order.values():
            for task in tasks:
                chosen = [m for m, listed in plan if task.name in m.tasks and condition in listed]
                if chosen:
                    _run_task(ctx, task, chosen, condition, progress, meter)
    finally:
        runner.close()
        if meter is not None:
            meter.close()
    energy = None if meter is None else meter.status
    if world.distributed:
        _gather_records(ctx, tasks, plan)
        results = _write_results(ctx, tasks, plan, energy) if world.rank == 0 else None
        results = dict(broadcast_object(results, world))
        leave(world)
        return results
    return _write_results(ctx, tasks, plan, energy)


def _shared_secret(out: Path, config: RunConfig, world: World) -> bytes:
    """The run folder's secret, read or made by rank 0 and sent to every rank (with rank 0's error)."""
    if not world.distributed:
        return _run_secret(out, config)
    answer: tuple[bytes | None, str | None] = (None, None)
    if world.rank == 0:
        try:
            answer = (_run_secret(out, config), None)
        except UsageError as refused:
            answer = (None, str(refused))
    secret, message = broadcast_object(answer, world)
    if message is not None or secret is None:
        raise UsageError(message or "rank 0 could not read the run folder")
    return bytes(secret)


def _gather_records(ctx: _Context, tasks: list[Task], plan: ModelPlan) -> None:
    """Every rank's records of every cell to rank 0, which appends those its run folder lacks.

    On a shared run folder (one machine) rank 0 already sees every shard file and appends nothing.
    """
    for model, conditions in plan:
        for condition in conditions:
            for task in [t for t in tasks if t.name in model.tasks]:
                mine = _store(ctx, task, model, condition).read()
                gathered = gather_object(mine, ctx.world)
                if gathered is None:
                    continue
                for rank, records in enumerate(gathered):
                    folder = _cell_dir(ctx.out, task.name, model.id)
                    store = CellStore(folder / f"{_slug(condition.name)}.shard{rank}of{ctx.world.size}.jsonl")
                    have = {json.dumps(r, sort_keys=True) for r in store.read()}
                    store.append([r for r in records if json.dumps(r, sort_keys=True) not in have])


def _metered(
    meter: EnergyMeter | None, ctx: _Context, task: Task, model: Model, condition: Condition, samples: int
) -> AbstractContextManager[None]:
    """The meter's span for one model's share of one chunk (appended to the cell's energy file)."""
    if meter is None:
        return nullcontext()
    record = {"model": model.id, "task": task.name, "condition": condition.name, "samples": samples}
    return meter.track(
        f"{task.name}/{model.id}/{condition.name}", record, _energy_file(ctx, task, model, condition)
    )


ModelPlan = list[tuple[Model, list[Condition]]]


def _model_plan(
    config: RunConfig, model_list: list[Model], conditions: list[Condition], given: Mapping[str, Model] | None
) -> ModelPlan:
    """Every model with the conditions it runs under: models under all, trivial baselines clean only."""
    plan: ModelPlan = [(model, conditions) for model in model_list]
    clean = next((c for c in conditions if c.name == "clean"), parse_condition("clean"))
    extra = [name for name in config.baselines if name not in config.models]
    for model in _resolve_models(replace(config, models=tuple(extra)), given):
        plan.append((model, [clean]))
    return plan


def _energy_file(ctx: _Context, task: Task, model: Model, condition: Condition) -> Path:
    return _cell_dir(ctx.out, task.name, model.id) / "energy" / f"{_slug(condition.name)}.jsonl"


def _write_results(ctx: _Context, tasks: list[Task], plan: ModelPlan, energy: str | None = None) -> dict:
    cells = [
        _score_cell(ctx, task, model, condition)
        for task in tasks for model, listed in plan if task.name in model.tasks for condition in listed
    ]  # fmt: skip
    specs = {
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
                   for r in read_energy(_energy_file(ctx, t, m, c))]  # fmt: skip
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
