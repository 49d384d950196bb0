"""What a run holds while it runs, and what it knows of a cell.

A cell's header (what every record carries), its samples, its records so far (stale ones refused), the
file this process appends to, and its targets.

The header of a record names the task version and protocol hash, the model id and weights hash, the
condition, the package version, git revision and seed, whether the model read targets (a reference
baseline) and how the model resampled the media (``input_resampling(task)``), if it did.

Example:
    >>> from avikit.eval.predict import OpaqueIds
    >>> from avikit.eval.source import load_eval_data
    >>> from avikit.tasks import get_task
    >>> data = load_eval_data(None, "test", 2, 0)
    >>> ctx = RunContext(RunConfig(tasks=("sync",), models=("oracle",)), data, Path("run"), OpaqueIds(b"k"))
    >>> [s.id for s in ctx.cell_samples(get_task("sync").for_dataset(data.profile, "test"))]
    ['test_000000', 'test_000001']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from avikit import __version__
from avikit.data.sample import Sample
from avikit.errors import DataError
from avikit.eval.cache import CellStore
from avikit.eval.distributed import World
from avikit.eval.engines import Engine, LocalEngine
from avikit.eval.predict import OpaqueIds, is_reference_baseline
from avikit.eval.revision import git_revision
from avikit.eval.run_cache import RunCache
from avikit.eval.run_folder import cell_files, cell_store
from avikit.eval.run_plan import RunConfig
from avikit.eval.source import Condition, EvalData, resolve_sample
from avikit.eval.target_cache import TaskTargets
from avikit.models.protocol import Model
from avikit.tasks import Task

__all__ = ["RunContext"]


@dataclass
class RunContext:
    """One run: its config, data, folder, opaque ids, ranks, engine and cache, and what it made so far.

    Attributes:
        config: what to evaluate.
        data: the samples, card and profile of the dataset.
        out: the run folder.
        ids: the run's opaque ids.
        world: the ``torchrun`` ranks (one process: not distributed).
        engine: where model inference runs.
        cache: the run cache shared across runs, if any.
        resolved: every sample under every condition, made once.
        targets: the targets of each task under each condition, each built once.
        replicates: each scored cell's bootstrap replicates (for the paired comparisons).
    """

    config: RunConfig
    data: EvalData
    out: Path
    ids: OpaqueIds
    world: World = field(default_factory=World)
    engine: Engine = field(default_factory=LocalEngine)
    cache: RunCache | None = None
    resolved: dict[tuple[str, str], Sample] = field(default_factory=dict)
    targets: dict[tuple[str, str], TaskTargets] = field(default_factory=dict)
    replicates: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    @property
    def shard(self) -> tuple[int, int]:
        """This process's ``(index, count)``: its ``torchrun`` rank, else the configured shard."""
        return (self.world.rank, self.world.size) if self.world.distributed else self.config.shard

    def resolve(self, sample: Sample, condition: Condition) -> Sample:
        """The sample under the condition, made once per run."""
        key = (sample.id, condition.name)
        if key not in self.resolved:
            self.resolved[key] = resolve_sample(sample, condition)
        return self.resolved[key]

    def task_targets(self, task: Task, condition: Condition) -> TaskTargets:
        """The targets of ``task``'s samples under ``condition`` (the same for items and scores)."""
        key = (task.name, condition.name)
        if key not in self.targets:
            self.targets[key] = TaskTargets(task, self.data.root)
        return self.targets[key]

    def header(self, task: Task, model: Model, condition: Condition) -> dict[str, Any]:
        """The fields every record of the cell carries (see the module docs)."""
        resampling = getattr(model, "input_resampling", None)
        resampled = resampling(task) if callable(resampling) else {}
        return {
            "task": task.name, "task_version": task.spec.version, "protocol_hash": task.spec.protocol_hash,
            "model_id": model.id, "weights_hash": model.weights_hash, "condition": condition.name,
            "package_version": __version__, "git_revision": git_revision(), "seed": self.config.seed,
            **({"reads_targets": True} if is_reference_baseline(model) else {}),
            **({"resampled": dict(resampled)} if resampled else {}),
        }  # fmt: skip

    def cell_samples(self, task: Task) -> list[Sample]:
        """The task's samples in dataset order (chosen on clean samples: every condition scores the same).

        The run's split is scored as the task's protocol split (``split="val"`` scores val clips as the task
        would score its test clips: the split to choose settings on).
        """
        split = task.spec.protocol.split
        samples = self.data.samples
        return [s for s in samples if task.includes(s if s.split == split else replace(s, split=split))]

    def read_cell(self, task: Task, model: Model, condition: Condition) -> dict[str, dict[str, Any]]:
        """Every record of a cell over all its shard files, by sample id; stale records are an error.

        A sample's successful record wins over an error record of it (an error is retried on resume).

        Raises:
            DataError: if a record was made under another task version, protocol, weights or seed.
        """
        header = self.header(task, model, condition)
        records: dict[str, dict[str, Any]] = {}
        for path in cell_files(self.out, task.name, model.id, condition.name):
            for record in CellStore(path).read():
                _check_fresh(path, record, header)
                if "error" not in records.get(record["id"], {"error": None}):
                    continue
                records[record["id"]] = record
        return records

    def store(self, task: Task, model: Model, condition: Condition) -> CellStore:
        """The record file this process writes for one cell."""
        return cell_store(self.out, task.name, model.id, condition.name, self.shard)


def _check_fresh(path: Path, record: Mapping[str, Any], header: Mapping[str, Any]) -> None:
    for key in ("task_version", "protocol_hash", "weights_hash", "seed"):
        if record.get(key) != header[key]:
            raise DataError(
                f"{path}: records were made with {key}={record.get(key)!r}, this run has "
                f"{header[key]!r}; write to a new --out folder or delete {path}"
            )
