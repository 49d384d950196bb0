"""The audio-to-video pipeline (task ``"a2v"``): the network on whole clips.

The audio-to-video pipeline (task ``"a2v"``): the network of :mod:`~avikit.models.generation.a2v_network` on
whole clips.

Per window (:mod:`~avikit.models.generation.windows`) the reference frame is the window's quietest frame
(the source at rest, :func:`~avikit.models.generation.a2v_network.select_reference`) and the generator sees
the window's audio. The predicted *change* from the reference is upsampled and added to the
full-resolution reference, so the scene keeps its full detail. As in Wav2Lip, the model reads one
reference frame of the clip per window besides the audio.

Example:
    >>> model = load_a2v()
    >>> model.id, model.tasks
    ('avikit/a2v', ('a2v',))
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

from avikit.models.generation import a2v_network as a2v_net
from avikit.models.generation.a2v_sampling import generate_a2v
from avikit.models.generation.windows import (
    FPS,
    SAMPLE_RATE,
    _audio_windows,
    _join,
    _media,
    _resize,
    _save_video,
    _weights_hash,
    window_starts,
)
from avikit.models.protocol import Item
from avikit.tasks import Task
from avikit.tasks.generation import prediction_folder

__all__ = ["A2VModel", "load_a2v"]


# --------------------------------------------------------------------------------------- audio-to-video


class A2VModel:
    """The audio-to-video network of :mod:`~avikit.models.generation.a2v_network` on whole clips."""

    tasks: tuple[str, ...] = ("a2v",)

    def __init__(
        self, model: a2v_net.A2VGenerator, image_size: int, weights_hash: str, model_id: str = "avikit/a2v"
    ) -> None:
        self.model, self.image_size = model.eval(), image_size
        self.id, self.weights_hash = model_id, weights_hash

    @torch.no_grad()
    def generate(self, reference: torch.Tensor, audio: torch.Tensor, count: int) -> torch.Tensor:
        """``count`` frames ``[T, 3, H, W]`` in [0, 1] from ``audio [1, N]`` and one ``reference [3, H, W]``.

        Every window starts from the same reference frame (the task's first frame, as Wav2Lip reads one
        identity frame); the network predicts each frame's change from it.
        """
        starts = window_starts(count)
        sound = _audio_windows(audio, starts)  # [K, 1, S]
        full = reference[None].expand(len(starts), *reference.shape)  # [K, 3, H, W]
        small = _resize(full, (self.image_size, self.image_size))  # [K, 3, h, w]
        generated = generate_a2v(self.model, small, sound)  # [K, W, 3, h, w]
        change = _resize(generated - small[:, None], (full.shape[-2], full.shape[-1]))  # [K, W, 3, H, W]
        return _join((full[:, None] + change).clamp(0, 1), starts, count)

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Generate every clip's frames from its audio; one ``{"id", "video"}`` record per item."""
        folder = prediction_folder(task, batch, self.id, self.tasks, SAMPLE_RATE, FPS)
        out = []
        for item in batch:
            frames, audio, count = _media(item)
            out.append(
                {"id": item.id, "video": _save_video(folder, item.id, self.generate(frames[0], audio, count))}
            )
        return out


def load_a2v(name_or_path: str | os.PathLike[str] = "a2v") -> A2VModel:
    """The packaged audio-to-video generator (or one from a weights folder) as a suite model."""
    model, config = a2v_net.from_pretrained(name_or_path)
    return A2VModel(model, config.image_size, _weights_hash(name_or_path, a2v_net.WEIGHTS_DIR))
