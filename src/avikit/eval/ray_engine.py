"""Model inference on Ray: an actor pool for ``eval run --engine ray``, Ray Data for feature extraction.

- :class:`RayEngine` (``avikit eval run --engine ray``): one actor per CPU (or ``num_actors``) holds the run's
  models; the runner's chunks go to the pool (``ray.util.ActorPool``), and each actor decodes its chunk once
  and runs :func:`avikit.eval.predict.predict_records` for every model that needs it, so models get exactly
  the items of the local engine. The driver scores and stores the records, so the run folder, the records
  and ``results.json`` are those of a local run.
- :func:`extract_features` (``avikit eval extract``): a Ray Data pipeline, ``map_batches`` over rows of whole
  clips (a row is a sample, never a frame), whose actors decode each batch and write every model's output
  (its features of the item) into a :class:`~avikit.eval.run_cache.RunCache`; a later ``eval run`` with that
  cache reuses them and calls no model. With ``engine="local"`` the same batches run in this process.

Ray connects with ``ray.init()``: to the cluster ``RAY_ADDRESS`` names (``ray://head:10001``, or ``auto``
on a cluster node), else to a new local one; see docs/scale.md.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.parallel import import_ray
from avikit.data.profile import read_profile
from avikit.data.sample import Sample
from avikit.data.synth import avsynth_profile
from avikit.errors import UsageError
from avikit.eval.engines import Plan, Results
from avikit.eval.predict import ItemFactory, OpaqueIds, predict_records
from avikit.eval.run_cache import RunCache, TaskCache
from avikit.eval.source import load_eval_data, load_sample_clip, parse_condition, resolve_sample
from avikit.eval.target_cache import TaskTargets
from avikit.models.protocol import Model
from avikit.models.registry import get_model
from avikit.tasks import Task, get_task

__all__ = ["RayEngine", "extract_features"]

log = logging.getLogger(__name__)


def _connect() -> Any:
    ray = import_ray()
    if not ray.is_initialized():
        ray.init()
    return ray


class _Worker:
    """What one actor holds: the models, and the item factory of the current task and condition."""

    def __init__(self, models: Sequence[Model], data_root: str | None, cache_root: str | None) -> None:
        self.models = {model.id: model for model in models}
        self.root = None if data_root is None else Path(data_root)
        self.cache = None if cache_root is None else RunCache(cache_root)
        self.task: Task | None = None
        self.samples: list[Sample] = []
        self.factory: ItemFactory | None = None
        self.store: TaskCache | None = None

    def setup(
        self, task_name: str, control: str | None, samples: list[dict[str, Any]], secret: bytes
    ) -> None:
        """Take a new task under a new condition (the resolved samples and the run's secret)."""
        root = self.root
        profile = avsynth_profile() if root is None else read_profile(root)  # the dataset's geometry
        task = get_task(task_name).for_dataset(profile)
        self.task, self.samples = task, [Sample.from_dict(s) for s in samples]
        self.store = None if self.cache is None else TaskCache(self.cache, task, self.samples, root, control)
        self.factory = ItemFactory(task, lambda s: load_sample_clip(s, root, profile), OpaqueIds(secret),
                                   control, TaskTargets(task, root), self.store)  # fmt: skip

    def predict(
        self, chunk: list[int], wanted: dict[str, list[int]], folders: dict[str, str | None]
    ) -> list[tuple[str, list[int], list[dict[str, Any]]]]:
        """Every model's raw records of one chunk; the chunk's media is forgotten afterwards."""
        assert self.task is not None and self.factory is not None, "setup() first"
        out = []
        for model_id, indices in wanted.items():
            if indices:
                folder = folders.get(model_id)
                model = self.models[model_id]
                where = None if folder is None else Path(folder)
                out.append((model_id, indices, predict_records(self.task, model, self.samples, self.factory,
                                                               indices, where)))  # fmt: skip
        self.factory.release([self.samples[i] for i in chunk])
        return out


class RayEngine:
    """Runs the runner's chunks on a pool of Ray actors (see the module docs).

    Args:
        models: the run's models (sent to every actor once).
        data_root: where relative media paths start.
        cache_root: a run cache folder the actors read and fill (task inputs), or ``None``.
        num_actors: actors in the pool (default: the cluster's CPUs, or its GPUs with ``num_gpus``).
        num_gpus: GPUs per actor (e.g. 1 for one model replica per GPU; 0: CPU actors).
    """

    name = "ray"

    def __init__(
        self,
        models: Sequence[Model],
        data_root: Path | None,
        cache_root: str | None,
        num_actors: int | None = None,
        num_gpus: float = 0.0,
    ) -> None:
        self.ray = _connect()
        resources = self.ray.cluster_resources()
        default = resources.get("GPU", 0) / num_gpus if num_gpus else resources.get("CPU", 1)
        self.num_actors = num_actors or max(1, int(default))
        self.num_gpus = num_gpus
        self._args = (self.ray.put(list(models)), None if data_root is None else str(data_root), cache_root)
        self._actors: list[Any] = []

    def _pool(self) -> list[Any]:
        if not self._actors:
            actor = self.ray.remote(num_cpus=1, num_gpus=self.num_gpus)(_Worker)
            self._actors = [actor.remote(*self._args) for _ in range(self.num_actors)]
            log.info("ray engine: %d actors", self.num_actors)
        return self._actors

    def run(
        self,
        task: Task,
        models: Sequence[Model],
        samples: Sequence[Sample],
        factory: ItemFactory,
        plan: Plan,
        folders: Mapping[str, Path | None],
    ) -> Results:
        """Send every chunk with work to the pool; yield the records in plan order."""
        from ray.util import ActorPool

        units = [(chunk, wanted) for chunk, wanted in plan if any(wanted.values())]
        if not units:
            return
        actors = self._pool()
        shared = self.ray.put([sample.to_dict() for sample in samples])
        self.ray.get([a.setup.remote(task.name, factory.control, shared, factory.ids.secret) for a in actors])
        paths = {key: None if value is None else str(value) for key, value in folders.items()}
        pool = ActorPool(actors)
        for result in pool.map(lambda actor, unit: actor.predict.remote(unit[0], unit[1], paths), units):
            yield from result

    def close(self) -> None:
        """End the actors."""
        for actor in self._actors:
            self.ray.kill(actor)
        self._actors = []


class _Extractor:
    """A Ray Data batch function: decode a batch of whole clips, predict what the cache lacks, store it."""

    def __init__(self, task: str, control: str | None, samples: list[dict[str, Any]], models: list[Model],
                 data_root: str | None, cache_root: str) -> None:  # fmt: skip
        self.worker = _Worker(models, data_root, cache_root)
        self.worker.setup(task, control, samples, os.urandom(16))  # ids are per run; outputs are not

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``{"index", "computed", "cached"}`` per row: how many models predicted it, how many were cached."""
        worker = self.worker
        assert worker.store is not None and worker.task is not None and worker.factory is not None
        indices = [int(i) for i in batch["index"]]
        computed, cached = np.zeros(len(indices), np.int64), np.zeros(len(indices), np.int64)
        position = {index: k for k, index in enumerate(indices)}
        for model in worker.models.values():
            if not worker.cache or not worker.cache.cacheable(model, worker.task):
                continue
            hits, misses = worker.store.lookup(model, indices)
            for index in hits:
                cached[position[index]] += 1
            records = (
                predict_records(worker.task, model, worker.samples, worker.factory, misses) if misses else []
            )
            for index, record in zip(misses, records, strict=True):
                worker.store.store(model, index, record)
                computed[position[index]] += "error" not in record
        worker.factory.release([worker.samples[i] for i in indices])
        return {"index": np.asarray(indices), "computed": computed, "cached": cached}


def extract_features(
    dataset: str | None,
    tasks: Sequence[str],
    models: Sequence[str | Model],
    cache: str | Path,
    *,
    split: str = "test",
    num_samples: int | None = None,
    seed: int = 0,
    conditions: Sequence[str] = ("clean",),
    engine: str = "ray",
    batch_size: int = 8,
    concurrency: int | None = None,
) -> dict[str, int]:
    """Fill ``cache`` with every model's output on every sample of every task and condition.

    Args:
        dataset: a dataset folder, or ``None`` for in-memory AVSynth (``num_samples`` required).
        tasks: task names.
        models: registered names, import paths or model objects.
        cache: the run cache folder (:class:`~avikit.eval.run_cache.RunCache`).
        split: the split.
        num_samples: the first N samples.
        seed: AVSynth seed.
        conditions: conditions, as for ``eval run``.
        engine: ``"ray"`` (a Ray Data pipeline) or ``"local"`` (the same batches in this process).
        batch_size: samples per batch.
        concurrency: Ray actors (default: the cluster's CPUs).

    Returns:
        ``{"computed": outputs predicted now, "cached": outputs found in the cache}``.
    """
    if engine not in ("local", "ray"):
        raise UsageError(f"unknown engine {engine!r}; use local or ray")
    data = load_eval_data(dataset, split, num_samples, seed)
    built = [get_model(m) if isinstance(m, str) else m for m in models]
    root = None if data.root is None else str(data.root)
    totals = {"computed": 0, "cached": 0}
    for condition in map(parse_condition, conditions):
        for task in (get_task(name).for_dataset(data.profile, split) for name in tasks):
            chosen = [model for model in built if task.name in model.tasks]
            samples = [resolve_sample(s, condition) for s in data.samples if task.includes(s)]
            if not chosen or not samples:
                continue
            args = (task.name, condition.control, [s.to_dict() for s in samples], chosen, root, str(cache))
            done = _extract_ray(args, len(samples), batch_size, concurrency) if engine == "ray" else \
                _extract_local(args, len(samples), batch_size)  # fmt: skip
            for key in totals:
                totals[key] += int(np.sum(done[key]))
    return totals


def _extract_local(args: tuple[Any, ...], count: int, batch_size: int) -> dict[str, np.ndarray]:
    extractor = _Extractor(*args)
    parts = [
        extractor({"index": np.arange(b, min(b + batch_size, count))}) for b in range(0, count, batch_size)
    ]
    return {key: np.concatenate([p[key] for p in parts]) for key in ("computed", "cached")}


def _extract_ray(
    args: tuple[Any, ...], count: int, batch_size: int, concurrency: int | None
) -> dict[str, np.ndarray]:
    ray = _connect()
    blocks = -(-count // batch_size)
    actors = min(blocks, concurrency or max(1, int(ray.cluster_resources().get("CPU", 1))))
    rows = ray.data.from_items([{"index": i} for i in range(count)], override_num_blocks=blocks)
    keys = ("task", "control", "samples", "models", "data_root", "cache_root")
    constructor = dict(zip(keys, args, strict=True))
    dataset = rows.map_batches(_Extractor, fn_constructor_kwargs=constructor, batch_size=batch_size,
                               batch_format="numpy", concurrency=actors, num_cpus=1)  # fmt: skip
    out = dataset.take_all()
    return {key: np.asarray([row[key] for row in out]) for key in ("computed", "cached")}
