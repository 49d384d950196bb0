"""The ``Model`` protocol: what a model implements to be measured on every task it supports.

A model names the tasks it supports and predicts a batch of :class:`Item` objects at once, returning one
prediction dict per item in the task's documented schema (the same schema a prediction file uses), with
``"id"`` set to the item's :attr:`Item.id`.

An item holds only what the task's protocol declares as inputs: the media cut to the task's window (after
any condition or control; a modality the task does not give is absent), the protocol's text (a question;
a caption only for caption-conditioned tasks) and the window's geometry *relative to the window*. It holds
no sample record, no target, no provenance and no stable id: :attr:`Item.id` is opaque and changes from one
run folder to the next.

Example:
    >>> class Constant:
    ...     id, weights_hash, tasks = "constant", "none", ("sync",)
    ...     def predict(self, task, batch):
    ...         return [{"id": item.id, "logits": [0.0] * 21} for item in batch]
    >>> isinstance(Constant(), Model)
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from avikit.errors import MissingStreamError
from avikit.tasks import Task, TaskInputs

__all__ = ["Item", "Media", "Model", "ReferenceItem"]

Media = tuple[NDArray[np.uint8] | None, NDArray[np.float32] | None]
"""``(frames [T, H, W, 3] uint8, waveform [C, N] float32)``; ``None`` where the task gives no such stream."""


class Item:
    """One sample as a model sees it: an opaque id, the task's inputs and the media cut to them.

    An item is plain data, made by the harness before ``predict`` is called: it holds no reference back
    into the harness, the dataset or the task.

    Attributes:
        id: an opaque id for this run; the prediction's ``"id"`` must repeat it.
        inputs: the task's inputs relative to the window: frame positions ``0..T-1``, the audio window
            ``(0, N)``, the frame size, per-second segments as positions into the cut arrays, the text.
        media: ``(frames, waveform)`` as the task gives them; a modality it does not give is ``None``.
        output_dir: for generation tasks, the folder where the model writes its predicted files.
    """

    def __init__(
        self, item_id: str, inputs: TaskInputs, media: Media, output_dir: str | Path | None = None
    ) -> None:
        self.id = item_id
        self.inputs = inputs
        self.media = media
        self.output_dir = None if output_dir is None else Path(output_dir)

    @property
    def frames(self) -> NDArray[np.uint8]:
        """The video frames the task gives ``[T, H, W, 3]``.

        Raises:
            MissingStreamError: if the task gives no video (e.g. audio-to-video gives the audio).
        """
        frames = self.media[0]
        if frames is None:
            raise MissingStreamError(f"item {self.id}: this task gives the model no video frames")
        return frames

    @property
    def waveform(self) -> NDArray[np.float32]:
        """The audio window the task gives ``[C, N]``.

        Raises:
            MissingStreamError: if the task gives no audio (e.g. video-to-audio gives the frames).
        """
        waveform = self.media[1]
        if waveform is None:
            raise MissingStreamError(f"item {self.id}: this task gives the model no audio")
        return waveform


class ReferenceItem(Item):
    """An item for the harness's own reference baselines (oracle, chance, priors), which may read more.

    The runner makes these only for the models of :mod:`avikit.models.baselines`; every other model gets a
    plain :class:`Item`.

    Attributes:
        key: the sample's stable id (seeds chance predictions, so shards and resumed runs agree).
        target: the task's metric inputs for this sample.
    """

    def __init__(self, item: Item, key: str, target: Mapping[str, Any]) -> None:
        super().__init__(item.id, item.inputs, item.media, item.output_dir)
        self.key = key
        self.target = target


@runtime_checkable
class Model(Protocol):
    """What the runner needs from a model.

    Attributes:
        id: a stable name, e.g. ``"avikit/avel"``.
        weights_hash: a hash of the weights (``"none"`` for models without weights).
        tasks: the task names it supports.
    """

    id: str
    weights_hash: str
    tasks: tuple[str, ...]

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Return one prediction per item, in the task's prediction schema, in batch order."""
        ...
