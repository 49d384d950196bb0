"""Bring a dataset's items to a model's own input geometry, say what changed, and map label lists.

A reference model was trained at one geometry (the trunk's sample rate and image size, one frame per
segment); a dataset declares its own (:class:`~avikit.data.profile.DatasetProfile`, read through the bound
task). :func:`adapt_items` resamples each item's audio to the model's rate (the window positions follow),
:func:`resampling_note` states every change for the run's records (``resampled``), and :class:`LabelMap`
maps the model's label list onto the dataset's: a model predicts only labels the dataset declares, and
labels it never learned are never predicted.

Example:
    >>> LabelMap(("bell", "dog", "background"), ("dog", "cat", "background")).allowed
    (1, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avikit.media import resample_audio
from avikit.models.encoders.trunk_encoding import MediaItem
from avikit.tasks import Task, TaskInputs

__all__ = ["AdaptedItem", "LabelMap", "adapt_items", "resampling_note"]


@dataclass(frozen=True)
class AdaptedItem:
    """An item at the model's input geometry: the same id, text and frames; audio at the model's rate."""

    id: str
    inputs: TaskInputs
    frames: NDArray[np.uint8]
    waveform: NDArray[np.float32]


def adapt_items(task: Task, batch: Sequence[MediaItem], sample_rate: int) -> list[Any]:
    """The batch with its audio resampled from the task's rate to ``sample_rate`` (unchanged when equal).

    The audio window and the segments' sample positions are rescaled (``n * sample_rate // task rate``).
    """
    source = task.spec.protocol.sample_rate
    if source == sample_rate:
        return list(batch)

    def scale(n: int) -> int:
        return n * sample_rate // source

    out: list[Any] = []
    for item in batch:
        inputs = item.inputs
        segments = tuple((a, b, scale(c), scale(d)) for a, b, c, d in inputs.segments)
        rescaled = replace(inputs, audio=(scale(inputs.audio[0]), scale(inputs.audio[1])), segments=segments)
        out.append(
            AdaptedItem(item.id, rescaled, item.frames, resample_audio(item.waveform, source, sample_rate))
        )
    return out


def resampling_note(
    task: Task, sample_rate: int, image_size: int, frames: str = "one frame per segment"
) -> dict[str, str]:
    """What a model changes in the task's media: ``{"audio": "44100 Hz -> 16000 Hz ...", "frames": ...}``.

    Args:
        task: the bound task (its protocol states the dataset's rates and frame size).
        sample_rate: the model's audio rate.
        image_size: the side of the square frames the model reads.
        frames: which of the task's frames the model reads.

    Example:
        >>> from avikit.data.profile import DatasetProfile
        >>> from avikit.tasks import get_task
        >>> task = get_task("avel").for_dataset(
        ...     DatasetProfile("ave", 16, 44100, 224, duration=10, vocabularies={"classes": ("Dog",)}))
        >>> resampling_note(task, 16000, 64)["audio"]
        '44100 Hz -> 16000 Hz (polyphase resampling)'
        >>> resampling_note(task, 16000, 64)["frames"]
        '16 fps at 224x224 px -> one frame per segment at 64x64 px (area average)'
    """
    protocol = task.spec.protocol
    note = {}
    if protocol.sample_rate != sample_rate:
        note["audio"] = f"{protocol.sample_rate} Hz -> {sample_rate} Hz (polyphase resampling)"
    if "video" in task.spec.inputs:
        height, width = protocol.geometry.get("frame_size") or (image_size, image_size)
        note["frames"] = (
            f"{protocol.fps} fps at {height}x{width} px -> {frames} at {image_size}x{image_size} px "
            "(area average)"
        )
    return note


class LabelMap:
    """The model's labels on a dataset's: which of the model's outputs the dataset declares, and where.

    Args:
        model_labels: the model's labels, in its output order.
        dataset_labels: the dataset's labels, in its index order.
    """

    def __init__(self, model_labels: Sequence[str], dataset_labels: Sequence[str]) -> None:
        self.model_labels = tuple(model_labels)
        self.dataset_labels = tuple(dataset_labels)
        position = {label: k for k, label in enumerate(self.dataset_labels)}
        self.allowed = tuple(k for k, label in enumerate(self.model_labels) if label in position)
        self.to_dataset = {k: position[self.model_labels[k]] for k in self.allowed}

    def mask(self) -> NDArray[np.bool_]:
        """``bool [K]`` over the model's outputs: True where the dataset declares the label."""
        out = np.zeros(len(self.model_labels), dtype=bool)
        out[list(self.allowed)] = True
        return out

    def scores(self, model_scores: NDArray[np.floating], fill: float = 0.0) -> NDArray[np.float64]:
        """Per-class scores ``[..., K]`` of the model -> ``[..., C]`` of the dataset (``fill``: unknown)."""
        out = np.full((*model_scores.shape[:-1], len(self.dataset_labels)), fill, dtype=np.float64)
        for k, c in self.to_dataset.items():
            out[..., c] = model_scores[..., k]
        return out
