"""The audio-to-video and joint generators as suite models, with their retrieval baselines.

Each class implements the :class:`~avikit.models.protocol.Model` protocol for a generation task of
:mod:`avikit.tasks.generation`: ``predict`` writes one ``.npy`` file per generated stream under
``task.scratch`` (``{sample_id}_video.npy``: uint8 ``[T, H, W, 3]``; ``{sample_id}_audio.npy``: float32
``[N]`` mono) and returns the prediction records. Outputs always cover the whole clip at the task's rates
and frame size.

The networks work on short windows at low resolution (2 s; 48 px for audio-to-video, 16 px for joint
generation). A clip is cut into consecutive windows of that length on its frame grid (the last window
ends with the clip and overlaps the one before; only its new frames are kept), and every window is
generated; the windows are then joined and resized:

- :class:`A2VModel` (``"a2v"``): per window, the reference frame is the window's quietest frame (the
  source at rest, :func:`~avikit.models.a2v.select_reference`) and the generator sees the window's audio.
  The predicted *change* from the reference is upsampled and added to the full-resolution reference, so
  the scene keeps its full detail. As in Wav2Lip, the model reads one reference frame of the clip per
  window besides the audio.
- :class:`JointModel` (``"joint-generation"``): per window, one guided flow sample from the caption (seeded
  by the sample id, so a clip's output does not depend on its batch). The mel windows are joined before
  one Griffin-Lim pass, so the phase runs on across window borders; frames are upsampled bilinearly.
- :class:`A2VRetrieval` (``"a2v-retrieval"``): per window, the frames of the training clip whose audio is
  nearest (:func:`~avikit.models.gen_recipes_av.audio_feature`).
- :class:`JointRetrieval` (``"joint-retrieval"``): the joint generator's frames with, per window, the audio
  of the training clip whose video is nearest to the generated one
  (:func:`~avikit.models.gen_recipes.visual_feature`): the retrieval baseline of the generated audio.
- :class:`CaptionRetrieval` (``"joint-caption-retrieval"``): per window, the real audio and frames of the
  training clips whose captions share most words with the prompt (an upper reference for sync: the pairs
  are real).

Training clips of the retrieval indexes are single-source AVSynth ``train`` clips
(:func:`~avikit.models.gen_recipes_av.load_sources`, seed 0: those the joint generator was trained on; the
audio-to-video generator was trained on still scenes of up to three objects,
:func:`~avikit.models.gen_recipes_av.load_scenes`); a retrieved clip is made again at the task's frame
size (AVSynth is procedural, so nothing is stored).

Example:
    >>> model = load_a2v()
    >>> model.id, model.tasks
    ('avikit/a2v', ('a2v',))
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from numpy.typing import NDArray

from avikit.data.synth import SynthConfig, generate
from avikit.models import a2v as a2v_net
from avikit.models import joint_gen
from avikit.models.gen_recipes import GenTrainConfig, visual_feature
from avikit.models.gen_recipes_av import audio_feature, load_sources
from avikit.models.joint_gen import CaptionVocabulary, JointCheckpoint, JointFlow, generate_joint
from avikit.models.protocol import Item
from avikit.models.trunk import combined_hash
from avikit.models.v2a import griffin_lim
from avikit.nn import resolve_pretrained
from avikit.tasks import Task
from avikit.tasks.generation import prediction_folder

__all__ = [
    "A2VModel",
    "A2VRetrieval",
    "CaptionRetrieval",
    "JointModel",
    "JointRetrieval",
    "RetrievalIndex",
    "caption_parts",
    "load_a2v",
    "load_a2v_retrieval",
    "load_caption_retrieval",
    "load_joint",
    "load_joint_retrieval",
    "window_starts",
]

SAMPLE_RATE, FPS, WINDOW_FRAMES = 16000, 8, 16
"""Rates of every generator here and the frames of one generated window (2 s at 8 fps)."""


# --------------------------------------------------------------------------------------------- helpers


def window_starts(num_frames: int, window: int = WINDOW_FRAMES) -> list[int]:
    """First frames of the windows that cover ``num_frames`` (the last one ends with the clip).

    Example:
        >>> window_starts(80), window_starts(20)
        ([0, 16, 32, 48, 64], [0, 4])
    """
    if num_frames < window:
        raise ValueError(
            f"clips must hold at least {window} frames ({window // FPS} s at {FPS} fps), got {num_frames}"
        )
    starts = list(range(0, num_frames - window + 1, window))
    return starts if starts[-1] + window == num_frames else [*starts, num_frames - window]


def _join(windows: torch.Tensor, starts: list[int], total: int, per_frame: int = 1) -> torch.Tensor:
    """Windows ``[K, W * per_frame, ...]`` back onto a timeline of ``total`` frames (later windows win)."""
    size = windows.shape[1]
    out = windows.new_zeros(total * per_frame, *windows.shape[2:])
    for window, start in zip(windows, starts, strict=True):
        out[start * per_frame : start * per_frame + size] = window
    return out


def _media(item: Item) -> tuple[torch.Tensor, torch.Tensor]:
    """``(frames [T, 3, H, W] in [0, 1], mono audio [1, N])``; the audio must cover the frames exactly."""
    frames = torch.from_numpy(np.ascontiguousarray(item.frames)).permute(0, 3, 1, 2).float() / 255
    audio = torch.from_numpy(np.asarray(item.waveform, dtype=np.float32)).mean(0, keepdim=True)
    if audio.shape[-1] != len(frames) * SAMPLE_RATE // FPS:
        raise ValueError(
            f"sample {item.sample.id!r}: {len(frames)} frames need {len(frames) * SAMPLE_RATE // FPS} audio "
            f"samples at {SAMPLE_RATE} Hz, got {audio.shape[-1]}"
        )
    return frames, audio


def _audio_windows(audio: torch.Tensor, starts: list[int]) -> torch.Tensor:
    """``[1, N]`` to ``[K, 1, W * hop]``."""
    hop = SAMPLE_RATE // FPS
    return torch.stack([audio[:, s * hop : (s + WINDOW_FRAMES) * hop] for s in starts])


def _resize(frames: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """``[..., 3, h, w]`` to ``[..., 3, *size]`` (area when shrinking, else ``mode``)."""
    if tuple(frames.shape[-2:]) == size:
        return frames
    flat = frames.reshape(-1, *frames.shape[-3:])
    shrink = size[0] < flat.shape[-2]
    out = F.interpolate(flat, size=size, mode="area" if shrink else mode, align_corners=None)
    return out.reshape(*frames.shape[:-2], *size)


def _save_video(folder: Path, sample_id: str, frames: torch.Tensor) -> str:
    """Write ``[T, 3, H, W]`` in [0, 1] as uint8 ``[T, H, W, 3]``."""
    path = folder / f"{sample_id}_video.npy"
    np.save(path, (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
    return str(path)


def _save_audio(folder: Path, sample_id: str, audio: torch.Tensor) -> str:
    path = folder / f"{sample_id}_audio.npy"
    np.save(path, audio.reshape(-1).numpy().astype(np.float32))
    return str(path)


def _caption(item: Item, model_id: str) -> str:
    if not item.inputs.text or not item.inputs.text[0].strip():
        raise ValueError(f"{model_id} generates from a caption; sample {item.sample.id!r} has none")
    return item.inputs.text[0]


# --------------------------------------------------------------------------------------- audio-to-video


class A2VModel:
    """The audio-to-video generator of :mod:`avikit.models.a2v` on whole clips (task ``"a2v"``)."""

    tasks: tuple[str, ...] = ("a2v",)

    def __init__(
        self, model: a2v_net.A2VGenerator, image_size: int, weights_hash: str, model_id: str = "avikit/a2v"
    ) -> None:
        self.model, self.image_size = model.eval(), image_size
        self.id, self.weights_hash = model_id, weights_hash

    @torch.no_grad()
    def generate(self, frames: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Frames ``[T, 3, H, W]`` in [0, 1] from ``audio [1, N]``; the real ``frames`` give references."""
        starts = window_starts(len(frames))
        windows = torch.stack([frames[s : s + WINDOW_FRAMES] for s in starts])  # [K, W, 3, H, W]
        sound = _audio_windows(audio, starts)  # [K, 1, S]
        reference = a2v_net.select_reference(sound, windows)  # [K, 3, H, W] full size
        small = _resize(reference, (self.image_size, self.image_size))  # [K, 3, h, w]
        generated = a2v_net.generate_a2v(self.model, small, sound)  # [K, W, 3, h, w]
        change = _resize(generated - small[:, None], (frames.shape[-2], frames.shape[-1]))  # [K, W, 3, H, W]
        return _join((reference[:, None] + change).clamp(0, 1), starts, len(frames))

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Generate every clip's frames from its audio; one ``{"id", "video"}`` record per item."""
        folder = prediction_folder(task, self.id, self.tasks, SAMPLE_RATE, FPS)
        out = []
        for item in batch:
            frames, audio = _media(item)
            out.append(
                {
                    "id": item.sample.id,
                    "video": _save_video(folder, item.sample.id, self.generate(frames, audio)),
                }
            )
        return out


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
        """The clips as :func:`~avikit.models.gen_recipes_av.load_sources` returns them."""
        config = GenTrainConfig(num_train=self.num_clips, seed=self.seed, duration=WINDOW_FRAMES // FPS)
        return load_sources("train", self.num_clips, config, self.image_size)

    def clip(self, index: int, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Training clip ``index`` made again at ``size``: ``(frames [W, 3, H, W], audio [1, S])``."""
        if size[0] != size[1]:
            raise ValueError(f"AVSynth frames are square; cannot retrieve at {size}")
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
        folder = prediction_folder(task, self.id, self.tasks, SAMPLE_RATE, FPS)
        out = []
        for item in batch:
            frames, audio = _media(item)
            starts, size = window_starts(len(frames)), (frames.shape[-2], frames.shape[-1])
            found = [self.index.clip(int(i), size)[0] for i in self.nearest(_audio_windows(audio, starts))]
            video = _join(torch.stack(found), starts, len(frames))
            out.append({"id": item.sample.id, "video": _save_video(folder, item.sample.id, video)})
        return out


# ------------------------------------------------------------------------------------- joint generation


def _item_seed(seed: int, sample_id: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(sample_id.encode())) % 2**63


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
    """The joint generator of :mod:`avikit.models.joint_gen` on whole clips (task ``"joint-generation"``)."""

    tasks: tuple[str, ...] = ("joint-generation",)

    def __init__(
        self,
        model: JointFlow,
        vocabulary: CaptionVocabulary,
        checkpoint: JointCheckpoint,
        weights_hash: str,
        seed: int = 0,
        model_id: str = "avikit/joint-generation",
    ) -> None:
        self.model, self.vocabulary, self.checkpoint = model.eval(), vocabulary, checkpoint
        self.weights_hash, self.seed, self.id = weights_hash, seed, model_id

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
        folder = prediction_folder(task, self.id, self.tasks, SAMPLE_RATE, FPS)
        out = []
        for item in batch:
            sample_id, (height, width) = item.sample.id, item.inputs.frame_size
            audio, frames, _ = self.generate(
                _caption(item, self.id),
                len(item.inputs.frames),
                (height, width),
                _item_seed(self.seed, sample_id),
            )
            out.append(
                {
                    "id": sample_id,
                    "audio": _save_audio(folder, sample_id, audio),
                    "video": _save_video(folder, sample_id, frames),
                }
            )
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
        folder = prediction_folder(task, self.id, self.tasks, SAMPLE_RATE, FPS)
        out = []
        for item in batch:
            sample_id, size, count = item.sample.id, item.inputs.frame_size, len(item.inputs.frames)
            caption, seed = _caption(item, self.id), _item_seed(self.joint.seed, sample_id)
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
        folder = prediction_folder(task, self.id, self.tasks, SAMPLE_RATE, FPS)
        out = []
        for item in batch:
            sample_id, size, count = item.sample.id, item.inputs.frame_size, len(item.inputs.frames)
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


# ---------------------------------------------------------------------------------------------- loading


def _weights_hash(name_or_path: str | os.PathLike[str], search: Path) -> str:
    return combined_hash(resolve_pretrained(name_or_path, [search]) / "model.safetensors")


def load_a2v(name_or_path: str | os.PathLike[str] = "a2v") -> A2VModel:
    """The packaged audio-to-video generator (or one from a weights folder) as a suite model."""
    model, config = a2v_net.from_pretrained(name_or_path)
    return A2VModel(model, config.image_size, _weights_hash(name_or_path, a2v_net.WEIGHTS_DIR))


def load_joint(name_or_path: str | os.PathLike[str] = "joint") -> JointModel:
    """The packaged joint generator (or one from a weights folder) as a suite model."""
    model, vocabulary, checkpoint = joint_gen.from_pretrained(name_or_path)
    return JointModel(model, vocabulary, checkpoint, _weights_hash(name_or_path, joint_gen.WEIGHTS_DIR))


def load_a2v_retrieval() -> A2VRetrieval:
    """The audio-to-video retrieval baseline over the generators' training clips."""
    return A2VRetrieval()


def load_joint_retrieval(name_or_path: str | os.PathLike[str] = "joint") -> JointRetrieval:
    """The joint generator's frames with retrieved audio (the retrieval baseline of its audio)."""
    return JointRetrieval(load_joint(name_or_path))


def load_caption_retrieval() -> CaptionRetrieval:
    """Real training pairs retrieved by caption words (the upper reference of joint generation)."""
    return CaptionRetrieval()
