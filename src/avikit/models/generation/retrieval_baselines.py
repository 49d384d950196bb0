"""Retrieval baselines of the generators: what a generator must beat, by copying real training media.

- :class:`V2ARetrieval` (``"v2a-retrieval"``): the audio of the nearest bank video by
  :func:`visual_bank_feature`.
- :class:`A2VRetrieval` (``"a2v-retrieval"``): per window, the frames of the training clip whose audio is
  nearest (:func:`~avikit.models.generation.judges.audio_feature`).
- :class:`JointRetrieval` (``"joint-retrieval"``): the joint generator's frames with, per window, the audio
  of the training clip whose video is nearest to the generated one
  (:func:`~avikit.models.generation.judges.visual_feature`): the retrieval baseline of the generated audio.
- :class:`CaptionRetrieval` (``"joint-caption-retrieval"``): per window, the real audio and frames of the
  training clips whose captions share most words with the prompt (an upper reference for sync: the pairs
  are real).

Training clips of the retrieval indexes are single-source AVSynth ``train`` clips
(:func:`~avikit.models.generation.clips.load_sources`, seed 0: those the joint generator was trained on; the
audio-to-video generator was trained on still scenes of up to three objects,
:func:`~avikit.models.generation.clips.load_scenes`); a retrieved clip is made again at the task's frame
size (AVSynth is procedural, so nothing is stored).

Example:
    >>> load_a2v_retrieval().id
    'avikit/a2v-retrieval'
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from avikit.data.synth import SynthConfig, generate
from avikit.errors import UsageError
from avikit.models.generation.clips import ClipSpec, load_sources
from avikit.models.generation.joint_network import CaptionVocabulary
from avikit.models.generation.joint_pipeline import JointModel, _item_seed, load_joint
from avikit.models.generation.judges import audio_feature, visual_feature
from avikit.models.generation.v2a_pipeline import _load
from avikit.models.generation.windows import (
    FPS,
    SAMPLE_RATE,
    WINDOW_FRAMES,
    _audio_windows,
    _caption,
    _join,
    _media,
    _resize,
    _save_audio,
    _save_video,
    frames_to_tensor,
    window_starts,
    write_audio,
)
from avikit.models.protocol import Item
from avikit.tasks import Task
from avikit.tasks.generation import prediction_folder

__all__ = [
    "RETRIEVAL_KIND",
    "A2VRetrieval",
    "CaptionRetrieval",
    "JointRetrieval",
    "RetrievalConfig",
    "RetrievalIndex",
    "V2ARetrieval",
    "build_v2a_retrieval",
    "load_a2v_retrieval",
    "load_caption_retrieval",
    "load_joint_retrieval",
    "retrieval_from_pretrained",
    "visual_bank_feature",
]
RETRIEVAL_KIND = "avikit.models.v2a_model.retrieval"


@dataclass(frozen=True)
class RetrievalConfig:
    """The retrieval bank: ``bank_size`` AVSynth clips of ``split`` (data ``seed``, ``duration`` s)."""

    bank_size: int = 512
    split: str = "train"
    seed: int = 0
    duration: int = 10
    sample_rate: int = 16000
    fps: int = 8


def visual_bank_feature(frames: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Retrieval feature of clips ``[B, T, H, W, 3]`` uint8: the mean 8 x 8 colour image, ``[B, 192]``."""
    return frames_to_tensor(frames, 8).mean(1).flatten(1).numpy()


class V2ARetrieval(nn.Module):
    """Retrieval baseline: the audio of the nearest bank video by :func:`visual_bank_feature`."""

    tasks: tuple[str, ...] = ("v2a",)
    kind = RETRIEVAL_KIND
    features: torch.Tensor
    indices: torch.Tensor

    def __init__(
        self,
        bank_size: int,
        split: str,
        seed: int,
        duration: int,
        sample_rate: int,
        fps: int,
        model_id: str = "avikit/v2a-retrieval",
        weights_hash: str = "untrained",
    ) -> None:
        super().__init__()
        self.register_buffer("features", torch.zeros(bank_size, 192))  # [N, 192]
        self.register_buffer("indices", torch.zeros(bank_size, dtype=torch.int64))  # [N] clip indices
        self.split, self.data_seed, self.duration = split, seed, duration
        self.sample_rate, self.fps = sample_rate, fps
        self.id, self.weights_hash = model_id, weights_hash

    def fill(self, count: int | None = None) -> V2ARetrieval:
        """Compute the bank from AVSynth clips ``0 .. count - 1`` of the split (default: the bank's size)."""
        count = len(self.indices) if count is None else count
        config = self.synth_config()
        rows = [
            visual_bank_feature(generate(self.split, i, self.data_seed, config)[1].require_frames()[None])
            for i in range(count)
        ]
        self.features = torch.from_numpy(np.concatenate(rows))
        self.indices = torch.arange(count)
        return self

    def synth_config(self) -> SynthConfig:
        """The AVSynth world of the bank's clips."""
        return SynthConfig(duration=Fraction(self.duration), fps=self.fps, sample_rate=self.sample_rate)

    def nearest(self, frames: NDArray[np.uint8]) -> NDArray[np.int64]:
        """Bank clip index of the nearest video for each clip ``[B, T, H, W, 3]``."""
        query = torch.from_numpy(visual_bank_feature(frames))  # [B, 192]
        return self.indices[torch.cdist(query, self.features.float()).argmin(1)].numpy()

    def retrieve(self, index: int, length: int) -> NDArray[np.float32]:
        """The mono audio of bank clip ``index``, its first ``length`` samples."""
        if length > self.duration * self.sample_rate:
            raise UsageError(
                f"{self.id} retrieves {self.duration} s clips; an audio window of {length} samples is longer"
            )
        clip = generate(self.split, int(index), self.data_seed, self.synth_config())[1]
        return clip.require_waveform().mean(0)[:length].astype(np.float32)

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Write each item's retrieved audio; ``{"id", "audio": path}`` per item."""
        folder = prediction_folder(task, batch, self.id, ("v2a",), self.sample_rate, self.fps)
        out = []
        for item in batch:
            start, stop = item.inputs.audio
            index = self.nearest(item.frames[None])[0]
            out.append(write_audio(folder, item.id, self.retrieve(index, stop - start), stop - start))
        return out


def build_v2a_retrieval(cfg: RetrievalConfig) -> V2ARetrieval:
    """Build an empty retrieval bank (fill it with :meth:`V2ARetrieval.fill`)."""
    return V2ARetrieval(cfg.bank_size, cfg.split, cfg.seed, cfg.duration, cfg.sample_rate, cfg.fps)


def retrieval_from_pretrained(name_or_path: str | os.PathLike[str] = "v2a-retrieval") -> V2ARetrieval:
    """Load the packaged retrieval bank (default ``"v2a-retrieval"``), a folder or a hub id."""
    bank: V2ARetrieval = _load(name_or_path, RetrievalConfig, build_v2a_retrieval, RETRIEVAL_KIND)
    return bank


@dataclass(frozen=True)
class RetrievalIndex:
    """Training clips a retrieval baseline searches: single-source AVSynth ``train`` clips of 2 s.

    Attributes:
        num_clips: clips ``0 .. num_clips - 1`` of the split.
        seed: AVSynth seed.
        image_size: frame size the features are computed at.
    """

    num_clips: int = 192
    seed: int = 0
    image_size: int = 32

    def load(self) -> dict[str, Any]:
        """The clips as :func:`~avikit.models.generation.clips.load_sources` returns them."""
        config = ClipSpec(duration=WINDOW_FRAMES // FPS, seed=self.seed)
        return load_sources("train", self.num_clips, config, self.image_size)

    def clip(self, index: int, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Training clip ``index`` made again at ``size``: ``(frames [W, 3, H, W], audio [1, S])``."""
        if size[0] != size[1]:
            raise UsageError(f"AVSynth frames are square; cannot retrieve at {size}")
        synth = SynthConfig(
            duration=Fraction(WINDOW_FRAMES, FPS),
            size=size[0],
            max_objects=1,
            p_silent=0.0,
            p_offscreen=0.0,
            p_moving=0.0,
        )
        clip = generate("train", index, seed=self.seed, config=synth)[1]
        frames = torch.from_numpy(clip.require_frames().copy()).permute(0, 3, 1, 2).float() / 255
        return frames, torch.from_numpy(clip.require_waveform().mean(0, keepdims=True).copy())


class A2VRetrieval:
    """Baseline for ``"a2v"``: per window, the frames of the training clip whose audio is nearest."""

    tasks: tuple[str, ...] = ("a2v",)
    weights_hash = "none"

    def __init__(self, index: RetrievalIndex | None = None, model_id: str = "avikit/a2v-retrieval") -> None:
        self.index, self.id = index or RetrievalIndex(), model_id
        self.features = audio_feature(self.index.load()["audio"])  # [N, F]

    def nearest(self, audio: torch.Tensor) -> NDArray[np.int64]:
        """Training clip index per window ``audio [K, 1, S]``."""
        distances = ((audio_feature(audio)[:, None] - self.features[None]) ** 2).sum(-1)
        return np.asarray(distances.argmin(1), dtype=np.int64)

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Retrieve every window's frames; one ``{"id", "video"}`` record per item."""
        folder = prediction_folder(task, batch, self.id, self.tasks, SAMPLE_RATE, FPS)
        out = []
        for item in batch:
            _, audio, count = _media(item)
            starts, size = window_starts(count), item.inputs.frame_size
            found = [self.index.clip(int(i), size)[0] for i in self.nearest(_audio_windows(audio, starts))]
            video = _join(torch.stack(found), starts, count)
            out.append({"id": item.id, "video": _save_video(folder, item.id, video)})
        return out


class JointRetrieval:
    """Baseline for the generated audio: generated frames with the audio of the nearest training video.

    Per window, the audio of the training clip whose video is nearest to the generated frames.
    """

    tasks: tuple[str, ...] = ("joint-generation",)

    def __init__(
        self, joint: JointModel, index: RetrievalIndex | None = None, model_id: str = "avikit/joint-retrieval"
    ) -> None:
        self.joint, self.index, self.id = joint, index or RetrievalIndex(), model_id
        self.weights_hash = joint.weights_hash
        self.features = visual_feature(self.index.load()["frames"])  # [N, F]

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Generated frames with retrieved audio; one ``{"id", "audio", "video"}`` record per item."""
        folder = prediction_folder(task, batch, self.id, self.tasks, SAMPLE_RATE, FPS)
        out = []
        for item in batch:
            sample_id, size, count = item.id, item.inputs.frame_size, len(item.inputs.frames)
            caption, seed = _caption(item, self.id), _item_seed(self.joint.seed, item)
            _, frames, small = self.joint.generate(caption, count, size, seed)
            small = _resize(small, (self.index.image_size, self.index.image_size))
            distances = ((visual_feature(small)[:, None] - self.features[None]) ** 2).sum(-1)  # [K, N]
            found = [self.index.clip(int(i), size)[1] for i in distances.argmin(1)]  # [1, S] each
            audio = _join(torch.stack(found).transpose(1, 2), window_starts(count), count, SAMPLE_RATE // FPS)
            out.append(
                {
                    "id": sample_id,
                    "audio": _save_audio(folder, sample_id, audio),
                    "video": _save_video(folder, sample_id, frames),
                }
            )
        return out


class CaptionRetrieval:
    """Upper reference for ``"joint-generation"``: real training pairs retrieved by caption words.

    The ``k``-th window takes the training clip with the ``k``-th most words shared with the prompt.
    """

    tasks: tuple[str, ...] = ("joint-generation",)
    weights_hash = "none"

    def __init__(
        self, index: RetrievalIndex | None = None, model_id: str = "avikit/joint-caption-retrieval"
    ) -> None:
        self.index, self.id = index or RetrievalIndex(), model_id
        self.words = [set(CaptionVocabulary.split(c)) for c in self.index.load()["captions"]]

    def nearest(self, caption: str, count: int) -> list[int]:
        """The ``count`` training clips sharing most words (Jaccard) with ``caption``, best first."""
        query = set(CaptionVocabulary.split(caption))
        scores = np.array([len(query & w) / max(len(query | w), 1) for w in self.words])
        return [int(i) for i in np.argsort(-scores, kind="stable")[:count]]

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Retrieved real pairs; one ``{"id", "audio", "video"}`` record per item."""
        folder = prediction_folder(task, batch, self.id, self.tasks, SAMPLE_RATE, FPS)
        out = []
        for item in batch:
            sample_id, size, count = item.id, item.inputs.frame_size, len(item.inputs.frames)
            starts = window_starts(count)
            pairs = [self.index.clip(i, size) for i in self.nearest(_caption(item, self.id), len(starts))]
            frames = _join(torch.stack([p[0] for p in pairs]), starts, count)
            audio = _join(
                torch.stack([p[1] for p in pairs]).transpose(1, 2), starts, count, SAMPLE_RATE // FPS
            )
            out.append(
                {
                    "id": sample_id,
                    "audio": _save_audio(folder, sample_id, audio),
                    "video": _save_video(folder, sample_id, frames),
                }
            )
        return out


def load_a2v_retrieval() -> A2VRetrieval:
    """The audio-to-video retrieval baseline over the generators' training clips."""
    return A2VRetrieval()


def load_joint_retrieval(name_or_path: str | os.PathLike[str] = "joint") -> JointRetrieval:
    """The joint generator's frames with retrieved audio (the retrieval baseline of its audio)."""
    return JointRetrieval(load_joint(name_or_path, watermark=False))  # its audio is real, not generated


def load_caption_retrieval() -> CaptionRetrieval:
    """Real training pairs retrieved by caption words (the upper reference of joint generation)."""
    return CaptionRetrieval()
