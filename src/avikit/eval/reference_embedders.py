"""The AVSynth reference embedders of the generation metrics: the packaged perception models, offline.

av-benchmark scores generated media with VGGish / PANNs / PaSST (Frechet distance, KL, Inception Score),
ImageBind (audio-visual alignment) and Synchformer (DeSync). On AVSynth the packaged reference models play
these parts, each behind the :class:`~avikit.models.embedders.Embedder` protocol (``name``,
``preprocessing``, ``embed(clip)``), so the same scoring code runs with the real embedders of
:func:`avikit.models.embedders.load_embedder`. They call the models through the ``Model`` protocol
(``predict`` on the model's own task), exactly as the runner does:

- :class:`SpaceEmbedder` ``"audio"``: the unit audio embedding of the joint audio-visual space of the
  ``retrieval`` model, with every frame black (its audio branch reads the audio only);
- :class:`SpaceEmbedder` ``"video"``: the unit video embedding of the same space, with the audio silent;
- :class:`ClassifierEmbedder`: the ``classification`` model's log class probabilities with every frame black
  (the audio-only view of the ``video_blanked`` control), as logits for KL and IS;
- :class:`SyncEmbedder`: the ``sync`` model's 21 offset logits on the first and the last 5 s of the clip,
  ``[2, 21]``, for DeSync (av-benchmark scores the first and the last 4.8 s of a clip with Synchformer).

Each name carries the model's weights hash, so a feature cache keyed by name never serves features of other
weights.

Example:
    >>> from avikit.media import AVClip
    >>> clip = AVClip(waveform=np.zeros((1, 32000), np.float32), sample_rate=16000)
    >>> SpaceEmbedder("audio").embed(clip)["embedding"].shape
    (64,)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from avikit.errors import UsageError
from avikit.media import AVClip
from avikit.models.embedders import Embedder
from avikit.models.protocol import Item, Model
from avikit.models.registry import get_model
from avikit.tasks import TaskInputs, get_task

__all__ = ["ClassifierEmbedder", "SpaceEmbedder", "SyncEmbedder", "load_reference_embedders"]

SYNC_WINDOW_SECONDS = 5
"""Seconds per DeSync window: the sync task's window, over which the sync model learned offsets."""


def _predict(model: Model, task: str, frames: np.ndarray, waveform: np.ndarray) -> dict[str, Any]:
    """``model.predict`` on one item made of ``frames [T, H, W, 3]`` and ``waveform [C, N]``.

    The clip is a generated or real clip of the generation bench, not a task sample: its item is the whole
    clip, as the classification, retrieval and sync tasks' inputs are.
    """
    inputs = TaskInputs("clip", tuple(range(len(frames))), (0, waveform.shape[1]), frames.shape[1:3])
    media = (np.ascontiguousarray(frames), np.ascontiguousarray(waveform, dtype=np.float32))
    return model.predict(get_task(task), [Item("clip", inputs, media)])[0]


def _check_rate(clip: AVClip, sample_rate: int, name: str) -> None:
    if clip.has_audio and clip.sample_rate != sample_rate:
        raise UsageError(
            f"{name} needs audio at {sample_rate} Hz, the clip has {clip.sample_rate} Hz; resample it first "
            "(avikit never resamples silently)"
        )


class _ReferenceEmbedder:
    """A packaged model used as an embedder: its name, weights hash and protocol rates."""

    sample_rate = 16000
    fps = 8
    size = 128
    role = ""

    def __init__(self, model: Model | None, registry_name: str) -> None:
        self.model = model if model is not None else get_model(registry_name)
        self.name = f"{self.model.id}:{self.role}@{self.model.weights_hash}"

    def _seconds(self, clip: AVClip) -> int:
        """Whole seconds of the clip (at least 1): one trunk segment per second, as the reference models."""
        if clip.has_audio:
            return max(1, clip.num_samples // self.sample_rate)
        return max(1, clip.num_frames // int(clip.fps or self.fps))

    def _blank(self, seconds: int) -> np.ndarray:
        return np.zeros((seconds * self.fps, self.size, self.size, 3), np.uint8)

    def _silence(self, seconds: int) -> np.ndarray:
        return np.zeros((1, seconds * self.sample_rate), np.float32)


class SpaceEmbedder(_ReferenceEmbedder):
    """One modality's unit embedding in the retrieval model's joint audio-visual space."""

    def __init__(self, modality: str, model: Model | None = None) -> None:
        if modality not in ("audio", "video"):
            raise UsageError(f"modality must be 'audio' or 'video', got {modality!r}")
        self.role = modality
        super().__init__(model, "retrieval")

    @property
    def preprocessing(self) -> Mapping[str, Any]:
        """Whole seconds; the other modality black or silent; audio at 16 kHz (channel mean)."""
        other = "video black" if self.role == "audio" else "audio silent"
        return {"modality": self.role, "sample_rate": self.sample_rate, "other": other, "normalised": True}

    def embed(self, clip: AVClip) -> dict[str, np.ndarray]:
        """``{"embedding": float32 [D]}`` with unit norm."""
        _check_rate(clip, self.sample_rate, self.name)
        seconds = self._seconds(clip)
        if self.role == "audio":
            out = _predict(self.model, "retrieval", self._blank(seconds), clip.require_waveform())
        else:
            out = _predict(self.model, "retrieval", clip.require_frames(), self._silence(seconds))
        return {"embedding": np.asarray(out[f"{self.role}_embedding"], np.float32)}


class ClassifierEmbedder(_ReferenceEmbedder):
    """Log class probabilities of the clip's audio: the classification model with every frame black."""

    role = "audio-only"

    def __init__(self, model: Model | None = None) -> None:
        super().__init__(model, "classification")

    @property
    def preprocessing(self) -> Mapping[str, Any]:
        """Whole seconds; frames black (the ``video_blanked`` control); audio at 16 kHz (channel mean)."""
        return {"sample_rate": self.sample_rate, "video": "blanked", "output": "log softmax"}

    def embed(self, clip: AVClip) -> dict[str, np.ndarray]:
        """``{"logits": float32 [C]}``: log class probabilities (softmax gives the probabilities back)."""
        _check_rate(clip, self.sample_rate, self.name)
        seconds = self._seconds(clip)
        scores = _predict(self.model, "classification", self._blank(seconds), clip.require_waveform())[
            "scores"
        ]
        return {"logits": np.log(np.maximum(np.asarray(scores, np.float64), 1e-30)).astype(np.float32)}


class SyncEmbedder(_ReferenceEmbedder):
    """Offset logits of the sync model on the first and the last 5 s window of an audio-visual clip."""

    role = "offsets"

    def __init__(self, model: Model | None = None) -> None:
        super().__init__(model, "sync")

    @property
    def preprocessing(self) -> Mapping[str, Any]:
        """Two aligned windows of 5 s (the first and the last), cut at whole seconds; offsets -2..2 s."""
        return {
            "sample_rate": self.sample_rate,
            "window_seconds": SYNC_WINDOW_SECONDS,
            "windows": "first, last",
        }

    def embed(self, clip: AVClip) -> dict[str, np.ndarray]:
        """``{"logits": float32 [2, 21]}`` over the offsets of ``avikit.tasks.SYNC_OFFSETS``."""
        _check_rate(clip, self.sample_rate, self.name)
        frames, waveform, fps = clip.require_frames(), clip.require_waveform(), int(clip.fps or 0)
        seconds = min(len(frames) // fps, waveform.shape[1] // self.sample_rate)
        if seconds < SYNC_WINDOW_SECONDS:
            raise UsageError(
                f"{self.name} needs {SYNC_WINDOW_SECONDS} s of audio and video, the clip has {seconds} s"
            )
        rows = []
        for start in (0, seconds - SYNC_WINDOW_SECONDS):  # whole seconds: both streams cut at one instant
            cut = frames[start * fps : (start + SYNC_WINDOW_SECONDS) * fps]
            wave = waveform[:, start * self.sample_rate : (start + SYNC_WINDOW_SECONDS) * self.sample_rate]
            rows.append(_predict(self.model, "sync", cut, wave)["logits"])
        return {"logits": np.asarray(rows, np.float32)}


def load_reference_embedders(models: Mapping[str, Model] | None = None) -> dict[str, Embedder]:
    """The four reference embedders by role: ``audio``, ``video``, ``classifier``, ``sync``.

    Args:
        models: the ``retrieval``, ``classification`` and ``sync`` models by registry name (default: the
            packaged ones).
    """
    given = dict(models or {})
    space = given.get("retrieval") or get_model("retrieval")
    return {
        "audio": SpaceEmbedder("audio", space),
        "video": SpaceEmbedder("video", space),
        "classifier": ClassifierEmbedder(given.get("classification")),
        "sync": SyncEmbedder(given.get("sync")),
    }
