"""Baselines for the harness itself: the oracle, chance, and single-modality views of any model.

The oracle reads the targets and must reach the maximum of every metric; chance predicts uniformly at random
(seeded per sample, so a resumed or sharded run predicts the same); :class:`SingleModality` wraps a model and
takes one modality away before it predicts (an audio-only or video-only control of that model).

Example:
    >>> sorted(MODELS)
    ['chance', 'oracle']
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from avikit._registry import lookup
from avikit.eval.controls import apply_control
from avikit.models.protocol import Item, Model
from avikit.tasks import TASKS, Task

__all__ = ["MODELS", "ChanceModel", "OracleModel", "SingleModality", "get_model"]


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


class _ControlledItem(Item):
    def __init__(self, item: Item, control: str) -> None:
        super().__init__(
            item.sample, item.inputs, lambda: apply_control(control, *item.media), lambda: item.target
        )


class SingleModality:
    """A model that sees one modality: ``keep="audio"`` blanks the video, ``keep="video"`` mutes the audio."""

    def __init__(self, model: Model, keep: str) -> None:
        if keep not in ("audio", "video"):
            raise ValueError(f"keep must be 'audio' or 'video', got {keep!r}")
        self.model = model
        self.control = "video_blanked" if keep == "audio" else "audio_muted"
        self.id = f"{model.id}+{keep}-only"
        self.weights_hash = model.weights_hash
        self.tasks = model.tasks

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Predict with the other modality taken away."""
        return self.model.predict(task, [_ControlledItem(item, self.control) for item in batch])


MODELS: dict[str, Callable[[], Model]] = {"oracle": OracleModel, "chance": ChanceModel}
"""Model name -> factory, for ``avikit eval run --models``."""


def get_model(name: str) -> Model:
    """Build a registered model by name.

    Raises:
        KeyError: for an unknown name; the message lists the known ones.
    """
    return lookup(MODELS, name, "model")()
