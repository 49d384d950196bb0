"""AVSynth clips as the generators see them: mono audio and frames in [0, 1], as tensors.

The generator recipes train on them, the retrieval baselines index them, and the recipes score on them.

Example:
    >>> clips = load_sources("train", 2, ClipSpec(duration=1), image_size=16)
    >>> tuple(clips["audio"].shape), tuple(clips["frames"].shape)
    ((2, 1, 16000), (2, 8, 3, 16, 16))
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

import torch
import torch.nn.functional as F  # noqa: N812

from avikit.data.synth import SynthConfig, generate
from avikit.models.generation.windows import frames_to_tensor

__all__ = ["ClipSettings", "ClipSpec", "load_pairs", "load_scenes", "load_sources"]


class ClipSettings(Protocol):
    """What the loaders read of a recipe's configuration: whole seconds per clip and the AVSynth seed."""

    @property
    def duration(self) -> int:
        """Seconds per clip."""
        ...

    @property
    def seed(self) -> int:
        """The AVSynth seed."""
        ...


@dataclass(frozen=True)
class ClipSpec:
    """Plain :class:`ClipSettings`: ``duration`` seconds per clip, AVSynth ``seed``."""

    duration: int = 2
    seed: int = 0


def load_pairs(
    split: str, count: int, config: ClipSettings, image_size: int = 32, render_size: int | None = None
) -> dict[str, Any]:
    """AVSynth clips: ``{"audio": [N, 1, S] mono, "frames": [N, T, 3, H, W] in [0, 1], "labels", ...}``.

    Frames are drawn at ``render_size`` px (default ``image_size``) and area-resized to ``image_size``, as a
    packaged model resizes the benchmark's 128 px frames.
    """
    synth = SynthConfig(duration=Fraction(config.duration), size=render_size or image_size)
    audio, frames, labels, captions = [], [], [], []
    for index in range(count):
        sample, clip = generate(split, index, seed=config.seed, config=synth)[:2]
        audio.append(torch.from_numpy(clip.require_waveform().mean(0, keepdims=True).copy()))
        frames.append(frames_to_tensor(clip.require_frames(), image_size))
        labels.append(list(sample.targets.get("labels", [])))
        captions.append(str(sample.targets.get("caption", "")))
    return {
        "audio": torch.stack(audio),
        "frames": torch.stack(frames),
        "labels": labels,
        "captions": captions,
    }


def load_sources(
    split: str, count: int, config: ClipSettings, image_size: int, moving: bool = False
) -> dict[str, Any]:
    """Single-source clips: ``{"audio" [N, 1, S], "frames" [N, T, 3, H, W], "classes", "captions", "ids"}``.

    Frames are in [0, 1]; the one object sounds and stays still unless ``moving``. Below AVSynth's smallest
    size (32 px) clips are made at 32 px and area-downsampled.
    """
    synth = SynthConfig(
        duration=Fraction(config.duration),
        size=max(image_size, 32),
        max_objects=1,
        p_silent=0.0,
        p_offscreen=0.0,
        p_moving=0.5 if moving else 0.0,
    )
    audio, frames, classes, captions, ids = [], [], [], [], []
    for index in range(count):
        sample, clip = generate(split, index, seed=config.seed, config=synth)[:2]
        audio.append(torch.from_numpy(clip.require_waveform().mean(0, keepdims=True).copy()))
        frames.append(torch.from_numpy(clip.require_frames().copy()).permute(0, 3, 1, 2).float() / 255)
        classes.append(str(next(iter(sample.targets.get("labels", [])), "")))
        captions.append(str(sample.targets.get("caption", "")))
        ids.append(sample.id)
    return {
        "audio": torch.stack(audio),
        "frames": _shrink(torch.stack(frames), image_size),
        "classes": classes,
        "captions": captions,
        "ids": ids,
    }


def _shrink(frames: torch.Tensor, size: int) -> torch.Tensor:
    """``[N, T, 3, H, W]`` to ``[N, T, 3, size, size]`` by area averaging (unchanged at ``H``)."""
    if frames.shape[-1] == size:
        return frames
    return F.interpolate(frames.flatten(0, 1), size=(size, size), mode="area").unflatten(0, frames.shape[:2])


# -------------------------------------------------------------------------------------------- a2v


def load_scenes(
    split: str, count: int, config: ClipSettings, image_size: int, render_size: int = 128
) -> dict[str, Any]:
    """Still AVSynth scenes as the benchmark shows them: ``{"audio" [N, 1, S], "frames" [N, T, 3, H, W]}``.

    Up to three objects, some silent or off-screen (AVSynth's defaults), none moving; drawn at
    ``render_size`` px and area-resized to ``image_size`` as
    :class:`~avikit.models.generation.a2v_pipeline.A2VModel`
    resizes the benchmark's 128 px frames. Frames are in [0, 1].
    """
    synth = SynthConfig(duration=Fraction(config.duration), size=render_size, p_moving=0.0)
    audio, frames = [], []
    for index in range(count):
        clip = generate(split, index, seed=config.seed, config=synth)[1]
        audio.append(torch.from_numpy(clip.require_waveform().mean(0, keepdims=True).copy()))
        drawn = torch.from_numpy(clip.require_frames().copy()).permute(0, 3, 1, 2).float() / 255
        frames.append(_shrink(drawn[None], image_size)[0])
    return {"audio": torch.stack(audio), "frames": torch.stack(frames)}
