"""Single-modality views of any model: the audio-only and video-only controls of a model.

:class:`SingleModality` wraps a model and takes one modality away before it predicts.

Example:
    >>> from avikit.models.baselines import OracleModel
    >>> SingleModality(OracleModel(), keep="audio").id
    'oracle+audio-only'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from avikit.errors import UsageError
from avikit.eval.controls import apply_control
from avikit.models.protocol import Item, Media, Model, ReferenceItem
from avikit.tasks import Task

__all__ = ["SingleModality"]


def _controlled(item: Item, control: str) -> Item:
    """The item with ``control`` applied to its media; a reference item stays one."""
    frames, waveform = item.media
    media: Media = item.media  # a task that gives one modality has nothing to take away
    if frames is not None and waveform is not None:
        media = apply_control(control, frames, waveform)
    controlled = Item(item.id, item.inputs, media, item.output_dir)
    if isinstance(item, ReferenceItem):
        return ReferenceItem(controlled, item.key, item.target)
    return controlled


class SingleModality:
    """A model that sees one modality: ``keep="audio"`` blanks the video, ``keep="video"`` mutes the audio."""

    def __init__(self, model: Model, keep: str) -> None:
        if keep not in ("audio", "video"):
            raise UsageError(f"keep must be 'audio' or 'video', got {keep!r}")
        self.model = model
        self.control = "video_blanked" if keep == "audio" else "audio_muted"
        self.id = f"{model.id}+{keep}-only"
        self.weights_hash = model.weights_hash
        self.tasks = model.tasks

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Predict with the other modality taken away."""
        return self.model.predict(task, [_controlled(item, self.control) for item in batch])
