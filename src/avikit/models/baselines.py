"""Baselines of the harness itself: the oracle and chance.

The oracle reads the targets and must reach the maximum of every metric; chance predicts uniformly at random
(seeded per sample, so a resumed or sharded run predicts the same).

Example:
    >>> OracleModel().id, ChanceModel(seed=3).id
    ('oracle', 'chance-seed3')
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from avikit.errors import UsageError
from avikit.models.protocol import Item, ReferenceItem
from avikit.tasks import TASKS, Task
from avikit.tasks.generation import GenerationTask

__all__ = ["ChanceModel", "OracleModel", "ReferenceBaseline"]


def _reference(batch: Sequence[Item], model_id: str) -> list[ReferenceItem]:
    """The batch as reference items (targets and stable ids), which only the harness makes."""
    if not all(isinstance(item, ReferenceItem) for item in batch):
        raise UsageError(
            f"{model_id} reads targets: run it through avikit's predict loop (avikit.eval.predict), which "
            "gives the harness's baselines reference items"
        )
    return [item for item in batch if isinstance(item, ReferenceItem)]


class ReferenceBaseline:
    """Base of the harness's reference baselines, which read targets and stable sample ids.

    The predict loop gives instances of its subclasses :class:`~avikit.models.protocol.ReferenceItem`
    objects, and their records say ``"reads_targets": true``; every other model gets plain items.
    """

    reads_targets = True


class OracleModel(ReferenceBaseline):
    """Predicts the truth, read from each item's target: the maximum of every metric."""

    id = "oracle"
    weights_hash = "none"
    tasks = tuple(TASKS)

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """The task's oracle prediction for every item (the harness gives it reference items)."""
        out = []
        for item in _reference(batch, self.id):
            if isinstance(task, GenerationTask):
                out.append(task.oracle_prediction(item.target, item.inputs, item.output_dir))
            else:
                out.append(task.oracle_prediction(item.target, item.inputs))
        return out


class ChanceModel(ReferenceBaseline):
    """Uniformly random predictions, seeded by ``(seed, task, sample id)``."""

    weights_hash = "none"
    tasks = tuple(TASKS)

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.id = f"chance-seed{seed}"

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """The task's chance prediction for every item."""
        out = []
        for item in _reference(batch, self.id):
            key = f"{self.seed}/{task.name}/{item.key}".encode()
            rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))
            if isinstance(task, GenerationTask):
                out.append(task.chance_prediction(item.inputs, rng, item.output_dir))
            else:
                out.append(task.chance_prediction(item.inputs, rng))
        return out
