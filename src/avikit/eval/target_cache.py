"""The targets of one task's samples under one condition, each built once for the items and the scores.

A run needs a sample's target three times: in the item of a reference baseline (which reads targets), in
the record's per-sample scores, and in the cell's scores. :class:`TaskTargets` builds it on first use and
hands the same mapping to all three; the runner keeps one per task and condition, and a Ray actor one per
task it is set up for.

Example:
    >>> from avikit.data.synth import generate
    >>> from avikit.tasks import get_task
    >>> targets = TaskTargets(get_task("sync"), None)
    >>> sample = generate("test", 0)[0]
    >>> targets(sample) is targets(sample), len(targets.of([sample, sample]))
    (True, 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from avikit.data.sample import Sample
from avikit.tasks import Task

__all__ = ["TaskTargets"]


class TaskTargets:
    """The targets of ``task``'s samples (resolved under one condition), by sample id, built once.

    Args:
        task: the task (bound to the dataset's profile).
        root: where the dataset's relative annotation paths start (``None``: in-memory AVSynth).
    """

    def __init__(self, task: Task, root: Path | None) -> None:
        self.task, self.root = task, root
        self._built: dict[str, Mapping[str, Any]] = {}

    def __call__(self, sample: Sample) -> Mapping[str, Any]:
        """The target of ``sample`` (an :class:`~avikit.eval.predict.ItemFactory`'s ``load_target``)."""
        if sample.id not in self._built:
            self._built[sample.id] = self.task.build_target(sample, self.root)
        return self._built[sample.id]

    def of(self, samples: Sequence[Sample]) -> list[Mapping[str, Any]]:
        """The targets of ``samples``, in order."""
        return [self(sample) for sample in samples]
