"""The joint audio+video pipeline (task ``"joint-generation"``): the flow network on whole clips.

The joint audio+video pipeline (task ``"joint-generation"``): the flow network of
:mod:`~avikit.models.generation.joint_network` on whole clips, from a caption.

Per window (:mod:`~avikit.models.generation.windows`): one guided flow sample from the caption, seeded by
the sample id, so a clip's output does not depend on its batch. The mel windows are joined before one
Griffin-Lim pass, so the phase runs on across window borders; frames are upsampled bilinearly. The
audio carries the default watermark of :mod:`avikit.models.watermark` unless ``watermark=False``.

Example:
    >>> load_joint().tasks
    ('joint-generation',)
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

import torch

from avikit.models.generation import joint_network as joint_gen
from avikit.models.generation.joint_network import CaptionVocabulary, JointCheckpoint, JointFlow
from avikit.models.generation.joint_sampling import generate_joint
from avikit.models.generation.v2a_network import griffin_lim
from avikit.models.generation.windows import (
    FPS,
    SAMPLE_RATE,
    WINDOW_FRAMES,
    _caption,
    _join,
    _resize,
    _save_audio,
    _save_video,
    _weights_hash,
    input_seed,
    window_starts,
)
from avikit.models.protocol import Item
from avikit.models.watermark import AudioWatermarker, load_watermarker, watermark_output, watermarked_hash
from avikit.tasks import Task
from avikit.tasks.generation import prediction_folder

__all__ = ["JointModel", "caption_parts", "load_joint"]


# ------------------------------------------------------------------------------------- joint generation


def _item_seed(seed: int, item: Item) -> int:
    return input_seed(seed * 1_000_003, item)


def caption_parts(caption: str) -> list[str]:
    """The sounding sources of an AVSynth-style caption, one caption each, in the order they are named.

    Parts are cut at ``while``, ``, then`` and ``;``; parts about silent sources are dropped. A caption
    with no such part is kept whole.

    Example:
        >>> caption_parts("a bell rings on the left while a dog calls 'ah'; a silent cat is seen")
        ['a bell rings on the left', "a dog calls 'ah'"]
    """
    parts = [p.strip() for p in re.split(r"\bwhile\b|, then\b|;", caption)]
    sounding = [p for p in parts if p and "silent" not in CaptionVocabulary.split(p)]
    return sounding or [caption.strip()]


class JointModel:
    """The joint network of :mod:`~avikit.models.generation.joint_network` on whole clips."""

    tasks: tuple[str, ...] = ("joint-generation",)

    def __init__(
        self,
        model: JointFlow,
        vocabulary: CaptionVocabulary,
        checkpoint: JointCheckpoint,
        weights_hash: str,
        seed: int = 0,
        model_id: str = "avikit/joint-generation",
        watermarker: AudioWatermarker | None = None,
    ) -> None:
        self.model, self.vocabulary, self.checkpoint = model.eval(), vocabulary, checkpoint
        self.network_hash, self.seed, self.id = weights_hash, seed, model_id
        self.watermarker = watermarker

    @property
    def weights_hash(self) -> str:
        """The network's weights hash, with the watermark's when one is on."""
        return watermarked_hash(self.network_hash, self.watermarker)

    @torch.no_grad()
    def generate_windows(self, caption: str, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``count`` windows for ``caption``: ``(mel [K, 8 W, M], frames [K, W, 3, h, w])``.

        The generator learned one source per window: a caption naming several sounding sources
        (:func:`caption_parts`) gives them the windows in turn.
        """
        parts = caption_parts(caption)
        ids = self.vocabulary.encode([parts[k % len(parts)] for k in range(count)])
        generator = torch.Generator().manual_seed(seed)
        return generate_joint(
            self.model,
            ids,
            WINDOW_FRAMES,
            self.checkpoint.num_steps,
            self.checkpoint.guidance,
            generator=generator,
        )

    def generate(
        self, caption: str, num_frames: int, size: tuple[int, int], seed: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(audio [1, N], frames [T, 3, H, W], small frames [K, W, 3, h, w])`` of one clip."""
        starts = window_starts(num_frames)
        mel, small = self.generate_windows(caption, len(starts), seed)
        steps = mel.shape[1] // WINDOW_FRAMES
        joined = _join(mel, starts, num_frames, steps)[None]  # [1, 8 T, M]
        audio = griffin_lim(self.model.features, joined, self.checkpoint.vocoder_iterations)[0]  # [1, N]
        frames = _join(_resize(small, size), starts, num_frames).clamp(0, 1)
        return audio, frames, small

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Generate every clip from its caption; one ``{"id", "audio", "video"}`` record per item."""
        folder = prediction_folder(task, batch, self.id, self.tasks, SAMPLE_RATE, FPS)
        out = []
        for item in batch:
            sample_id, (height, width) = item.id, item.inputs.frame_size
            audio, frames, _ = self.generate(
                _caption(item, self.id),
                len(item.inputs.frames),
                (height, width),
                _item_seed(self.seed, item),
            )
            if self.watermarker is not None:
                audio = torch.from_numpy(
                    watermark_output(self.watermarker, audio.reshape(-1).numpy(), self.id)
                )
            out.append(
                {
                    "id": sample_id,
                    "audio": _save_audio(folder, sample_id, audio),
                    "video": _save_video(folder, sample_id, frames),
                }
            )
        return out


def load_joint(name_or_path: str | os.PathLike[str] = "joint", watermark: bool = True) -> JointModel:
    """The packaged joint generator (or one from a weights folder) as a suite model, watermarked."""
    model, vocabulary, checkpoint = joint_gen.from_pretrained(name_or_path)
    marker = load_watermarker() if watermark else None
    weights_hash = _weights_hash(name_or_path, joint_gen.WEIGHTS_DIR)
    return JointModel(model, vocabulary, checkpoint, weights_hash, watermarker=marker)
