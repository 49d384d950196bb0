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

from avikit.models.protocol import Item
from avikit.tasks import TASKS, Task

__all__ = ["ChanceModel", "OracleModel"]


class OracleModel:
    """Predicts the truth, read from each item's target: the maximum of every metric."""

    id = "oracle"
    weights_hash = "none"
    tasks = tuple(TASKS)

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """The task's oracle prediction for every item."""
        return [task.oracle_prediction(item.target, item.inputs) for item in batch]


class ChanceModel:
    """Uniformly random predictions, seeded by ``(seed, task, sample id)``."""

    weights_hash = "none"
    tasks = tuple(TASKS)

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.id = f"chance-seed{seed}"

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """The task's chance prediction for every item."""
        out = []
        for item in batch:
            key = f"{self.seed}/{task.name}/{item.sample.id}".encode()
            rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))
            out.append(task.chance_prediction(item.inputs, rng))
        return out
