"""The ``Model`` protocol: what a model implements to be measured on every task it supports.

A model names the tasks it supports and predicts a batch of :class:`Item` objects at once, returning one
prediction dict per item in the task's documented schema (the same schema a prediction file uses).

Example:
    >>> class Constant:
    ...     id, weights_hash, tasks = "constant", "none", ("sync",)
    ...     def predict(self, task, batch):
    ...         return [{"id": item.sample.id, "logits": [0.0] * 21} for item in batch]
    >>> isinstance(Constant(), Model)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from avikit.data.sample import Sample
from avikit.tasks import Task, TaskInputs

__all__ = ["Item", "Model"]


class Item:
    """One sample as a model sees it: the record, the task's inputs and the media cut to them (lazily).

    Attributes:
        sample: the sample record (models other than the oracle must not read its targets).
        inputs: the exact inputs the task built (frame indices, audio window, text).
    """

    def __init__(
        self,
        sample: Sample,
        inputs: TaskInputs,
        load_media: Callable[[], tuple[NDArray[np.uint8], NDArray[np.float32]]],
        load_target: Callable[[], Mapping[str, Any]],
    ) -> None:
        self.sample = sample
        self.inputs = inputs
        self._load_media = load_media
        self._load_target = load_target

    @cached_property
    def media(self) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
        """``(frames [T, H, W, 3] uint8, waveform [C, N] float32)`` cut to the inputs, after any control."""
        return self._load_media()

    @property
    def frames(self) -> NDArray[np.uint8]:
        """The selected video frames ``[T, H, W, 3]``."""
        return self.media[0]

    @property
    def waveform(self) -> NDArray[np.float32]:
        """The audio window ``[C, N]``."""
        return self.media[1]

    @cached_property
    def target(self) -> Mapping[str, Any]:
        """The task's metric inputs for this sample; only the oracle baseline reads them."""
        return self._load_target()


@runtime_checkable
class Model(Protocol):
    """What the runner needs from a model.

    Attributes:
        id: a stable name, e.g. ``"avikit/avel-small"``.
        weights_hash: a hash of the weights (``"none"`` for models without weights).
        tasks: the task names it supports.
    """

    id: str
    weights_hash: str
    tasks: tuple[str, ...]

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Return one prediction per item, in the task's prediction schema, in batch order."""
        ...
