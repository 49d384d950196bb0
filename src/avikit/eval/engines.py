"""Where a task's model inference runs: in this process (``local``) or on a Ray actor pool (``ray``).

The runner turns one task under one condition into a :data:`Plan`: chunks of sample indices, and for each
chunk the indices every model still has to predict. An engine runs the plan and yields, chunk by chunk
and in plan order, each model's raw records from :func:`avikit.eval.predict.predict_records`; the runner
scores and stores them. Both engines go through the one predict loop, so a model receives the same items
(and only its task's declared inputs) whichever runs it. The local engine decodes each chunk once for all
models and forgets it afterwards; :class:`avikit.eval.ray_engine.RayEngine` sends whole chunks to actors
that decode and predict them.

Example:
    >>> from avikit.data.synth import generate, load_clip
    >>> from avikit.eval.predict import ItemFactory, OpaqueIds
    >>> from avikit.models.baselines import OracleModel
    >>> from avikit.tasks import get_task
    >>> task, samples = get_task("sync"), [generate("test", i)[0] for i in range(2)]
    >>> factory = ItemFactory(task, lambda s: load_clip(s, None), OpaqueIds(b"k"))
    >>> plan = [([0, 1], {"oracle": [0, 1]})]
    >>> results = LocalEngine().run(task, [OracleModel()], samples, factory, plan, {})
    >>> [(model, indices) for model, indices, _ in results]
    [('oracle', [0, 1])]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from avikit.data.sample import Sample
from avikit.errors import UsageError
from avikit.eval.predict import ItemFactory, predict_records
from avikit.models.protocol import Model
from avikit.tasks import Task

__all__ = ["ENGINES", "Engine", "LocalEngine", "Plan", "make_engine"]

ENGINES = ("local", "ray")
Plan = list[tuple[list[int], dict[str, list[int]]]]
"""Per chunk: ``(the chunk's sample indices, model id -> indices that model predicts)``."""
Results = Iterator[tuple[str, list[int], list[dict[str, Any]]]]
"""``(model id, indices, raw records in that order)``, chunk by chunk in plan order."""


class Engine(Protocol):
    """Runs plans; ``close`` frees what it holds (actors)."""

    name: str

    def run(
        self,
        task: Task,
        models: Sequence[Model],
        samples: Sequence[Sample],
        factory: ItemFactory,
        plan: Plan,
        folders: Mapping[str, Path | None],
    ) -> Results:
        """Yield every model's raw records of every chunk, in plan order."""
        ...

    def close(self) -> None:
        """Free the engine's resources."""
        ...


class LocalEngine:
    """Runs every chunk in this process: one decode per chunk, shared by the models that need it."""

    name = "local"

    def run(
        self,
        task: Task,
        models: Sequence[Model],
        samples: Sequence[Sample],
        factory: ItemFactory,
        plan: Plan,
        folders: Mapping[str, Path | None],
    ) -> Results:
        """Predict chunk after chunk; a chunk's media is forgotten once every model has predicted it."""
        for chunk, wanted in plan:
            for model in models:
                indices = wanted.get(model.id, [])
                if indices:
                    yield (
                        model.id,
                        indices,
                        predict_records(task, model, samples, factory, indices, folders.get(model.id)),
                    )
            factory.release([samples[i] for i in chunk])

    def close(self) -> None:
        """Nothing to free."""


def make_engine(name: str, models: Sequence[Model], data_root: Path | None, cache_root: str | None) -> Engine:
    """The engine ``name`` for a run of ``models`` on the dataset at ``data_root``.

    Raises:
        UsageError: for an unknown engine, or ``ray`` without Ray installed.
    """
    if name == "local":
        return LocalEngine()
    if name == "ray":
        from avikit.eval.ray_engine import RayEngine

        return RayEngine(models, data_root, cache_root)
    raise UsageError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}")
