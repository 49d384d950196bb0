"""Classification reference models: a supervised classifier and a zero-shot one through the AV-text space.

:class:`ClassificationModel` (VGGSound-style single label, AudioSet-style multi-label) reads the frozen
AVSynth trunk: each second's audio picks the sounding region of its frame (AVE-style audio-guided
attention), the streams read each other (HAN), and per-second class logits are averaged over the clip. The
multi-label head (:class:`HeardHead`) scores every heard class from three cues of the clip, each a class
score: how the trunk's audio sounds, how each second's log-Mel spectrum sounds (pitch and timbre, which
name AVSynth's classes), and what is on screen (an appearance classifier over the frames' trunk maps and
colours, max over positions and seconds); a small network shared by all classes combines the three
scores of a class (a visible object makes its class likelier to be heard; an off-screen sound is heard but
not seen). Both heads know only the classes seen in training.

:class:`ZeroShotClassifier` needs no classifier at all: it scores a clip against the caption of every class
in the joint audio-visual-text space of :mod:`avikit.models.perception.retrieval` (the sound and the look of
the clip against the audio and visual halves of the caption), so it names classes never seen in training (the
``open_test`` split). Two text sides: the caption encoder (``"retrieval"`` weights) and all-MiniLM-L6-v2
(``"retrieval-minilm"``).

Example:
    >>> import torch
    >>> head = build_classification_head(ClassificationConfig(dim=32))
    >>> features = {"audio_segments": torch.randn(2, 10, 32), "visual_maps": torch.randn(2, 10, 32, 4, 4),
    ...             "spectra": torch.randn(2, 10, 128), "colours": torch.rand(2, 10, 3, 16, 16)}
    >>> [t.shape for t in head(features)]
    [torch.Size([2, 27]), torch.Size([2, 27])]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from avikit.data.synth.classes import CLASS_NAMES
from avikit.errors import UsageError
from avikit.models.encoders.input_geometry import LabelMap
from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.models.perception.avs import N_MELS, AppearanceMap, frame_colours, segment_spectra
from avikit.models.perception.retrieval import RetrievalModel
from avikit.models.perception.retrieval import from_pretrained as load_retrieval
from avikit.nn import AudioGuidedAttention, HybridAttentionTransformer, segment_frame_indices
from avikit.tasks import Task

__all__ = [
    "COLOUR_SIZE",
    "KIND",
    "ClassificationConfig",
    "ClassificationHead",
    "ClassificationModel",
    "HeardHead",
    "ZeroShotClassifier",
    "build_classification_head",
    "from_pretrained",
    "load_zero_shot_minilm",
    "media_cues",
    "zero_shot_from_pretrained",
]

KIND = "avikit.models.classification"
_TASKS = ("classification", "classification-multilabel")
Features = dict[str, torch.Tensor]
COLOUR_SIZE = 16
"""Side of the colour grid the multi-label head's appearance classifier reads (8 x 8 pixel cells)."""


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class ClassificationConfig:
    """Sizes of the classification head; ``dim`` is the trunk's width."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 64
    depth: int = 1
    heads: int = 4
    dropout: float = 0.1


# ----------------------------------------------------------------------------------------------- blocks


class HeardHead(nn.Module):
    """Heard-class logits from a trunk-audio, a spectrum and an on-screen class score per class.

    ``trunk``: ``[B, 2D] -> [B, C]``; ``spectrum``: ``[B, S, 2M] -> [B, S, C]``; ``appearance``: maps
    ``[B*S, D, h, w]`` and colours ``[B*S, 3, s, s]`` -> ``[B*S, C, s, s]``; ``combine``: ``[B, C, 3] ->
    [B, C, 1]`` (shared by the classes).
    """

    def __init__(
        self, trunk: nn.Module, spectrum: nn.Module, appearance: nn.Module, combine: nn.Module
    ) -> None:
        super().__init__()
        self.trunk, self.spectrum, self.appearance, self.combine = trunk, spectrum, appearance, combine
        self.bias = nn.Parameter(torch.zeros(len(CLASS_NAMES)))

    def visible_logits(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``[B, C]``: is an object of the class on screen (max over positions and seconds)."""
        maps, colours = features["visual_maps"], features["colours"]  # [B, S, D, h, w], [B, S, 3, s, s]
        b, s = maps.shape[:2]
        looks = self.appearance(maps.flatten(0, 1), colours.flatten(0, 1))  # [B*S, C, s, s]
        return looks.flatten(2).amax(-1).view(b, s, -1).amax(1)

    def cues(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The three class scores ``[B, C, 3]``: trunk audio, spectrum (max over seconds), on screen."""
        audio = features["audio_segments"]  # [B, S, D]
        trunk = self.trunk(torch.cat([audio.mean(1), audio.amax(1)], dim=-1))  # [B, C]
        spectrum = self.spectrum(features["spectra"]).amax(1)  # [B, C]
        return torch.stack([trunk, spectrum, self.visible_logits(features)], dim=-1)

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Heard-class logits ``[B, C]``."""
        return self.combine(self.cues(features))[..., 0] + self.bias


class ClassificationHead(nn.Module):
    """Audio-guided attention, HAN, per-second class logits averaged over time; a heard-class head."""

    def __init__(
        self,
        guide: AudioGuidedAttention,
        fusion: HybridAttentionTransformer,
        classifier: nn.Module,
        heard: HeardHead,
    ) -> None:
        super().__init__()
        self.guide, self.fusion, self.classifier, self.heard = guide, fusion, classifier, heard

    def forward(self, features: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Main-class logits ``[B, C]`` and heard-class logits ``[B, C]``."""
        audio = features["audio_segments"]  # [B, S, D]
        regions = features["visual_maps"].flatten(3).transpose(2, 3)  # [B, S, h*w, D]
        visual, _ = self.guide(regions, audio)  # [B, S, D]
        fused_a, fused_v = self.fusion(audio, visual)  # [B, S, D] each
        logits = self.classifier(torch.cat([fused_a, fused_v], dim=-1)).mean(dim=1)  # [B, C]
        return logits, self.heard(features)


# ------------------------------------------------------------------------------------------------ model


class ClassificationModel(TrunkModel):
    """The frozen trunk and the classification head: single-label and multi-label scores per class."""

    tasks: tuple[str, ...] = _TASKS
    default_id = "avikit/classification"
    head: ClassificationHead

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Softmax (single-label) or sigmoid (multi-label) scores over the dataset's classes.

        A class the model never learned scores 0.
        """
        self.check_task(task)
        batch = self.adapt(task, batch)
        seconds = self.window_seconds(batch)
        features = encode_items(self.encoder, batch, seconds)
        features.update(
            media_cues([item.frames for item in batch], [item.waveform for item in batch], seconds)
        )
        main, heard = self.head(features)
        ours = main.softmax(-1) if task.name == "classification" else heard.sigmoid()
        scores = LabelMap(CLASS_NAMES, task.vocabularies()["classes"]).scores(ours.numpy())
        return [{"id": item.id, "scores": row.tolist()} for item, row in zip(batch, scores, strict=True)]


class ZeroShotClassifier:
    """Scores each class by the clip's mean sound and look cosine with the class caption's two halves."""

    tasks: tuple[str, ...] = ("classification",)

    def __init__(self, retrieval: RetrievalModel, model_id: str = "avikit/classification-zeroshot") -> None:
        self.retrieval = retrieval
        self.id = model_id
        self.weights_hash = retrieval.weights_hash

    def input_resampling(self, task: Task) -> dict[str, str]:
        """What the model changes in the task's media (its retrieval trunk's geometry)."""
        return self.retrieval.input_resampling(task)

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Cosine scores over the dataset's classes that are AVSynth classes, seen in training or not.

        A class without an AVSynth caption scores the lowest score of the batch.
        """
        if task.name not in self.tasks:
            raise UsageError(f"{self.id} predicts {', '.join(self.tasks)}, not {task.name!r}")
        batch = self.retrieval.adapt(task, batch)
        ours = self.retrieval.head.class_scores(self.retrieval.features(batch), CLASS_NAMES).numpy()  # [B, K]
        scores = LabelMap(CLASS_NAMES, task.vocabularies()["classes"]).scores(ours, fill=float(ours.min()))
        return [{"id": item.id, "scores": row.tolist()} for item, row in zip(batch, scores, strict=True)]


def build_classification_head(cfg: ClassificationConfig) -> ClassificationHead:
    """Build the head from its config."""
    d, c = cfg.dim, len(CLASS_NAMES)
    classifier = nn.Sequential(
        nn.LayerNorm(2 * d),
        nn.Dropout(cfg.dropout),
        nn.Linear(2 * d, cfg.hidden),
        nn.GELU(),
        nn.Linear(cfg.hidden, c),
    )
    trunk_heard = nn.Sequential(nn.LayerNorm(2 * d), nn.Linear(2 * d, c))
    fusion = HybridAttentionTransformer(d, cfg.depth, cfg.heads)
    guide = AudioGuidedAttention(d, d, cfg.hidden)
    m = 2 * N_MELS
    spectrum = nn.Sequential(nn.LayerNorm(m), nn.Linear(m, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, c))
    appearance = AppearanceMap(d, cfg.hidden, c)
    combine = nn.Sequential(nn.Linear(3, 16), nn.GELU(), nn.Linear(16, 1))
    heard = HeardHead(trunk_heard, spectrum, appearance, combine)
    return ClassificationHead(guide, fusion, classifier, heard)


def media_cues(
    frames: Sequence[NDArray[np.uint8]], waveforms: Sequence[NDArray[np.float32]], seconds: int
) -> Features:
    """The multi-label head's media cues of clips of ``seconds`` seconds.

    ``colours [B, S, 3, 16, 16]`` of the frames the trunk sees (one per second) and ``spectra [B, S, 128]``
    of each second's audio.
    """
    picked = np.stack([f[segment_frame_indices(len(f), seconds)] for f in frames])  # [B, S, H, W, 3]
    waveform = np.stack(waveforms).astype(np.float32, copy=False)  # [B, C, N]
    return {"colours": frame_colours(picked, COLOUR_SIZE), "spectra": segment_spectra(waveform, seconds)}


def from_pretrained(name_or_path: str | os.PathLike[str] = "classification") -> ClassificationModel:
    """Load the model from a packaged name (default ``"classification"``), a folder or a hub id."""
    head, _, encoder, weights_hash = load_head(
        name_or_path, ClassificationConfig, build_classification_head, KIND
    )
    return ClassificationModel(encoder, head, weights_hash=weights_hash).eval()


def zero_shot_from_pretrained(
    name_or_path: str | os.PathLike[str] = "retrieval", model_id: str | None = None
) -> ZeroShotClassifier:
    """The zero-shot classifier over a packaged (``"retrieval"``, ``"retrieval-minilm"``) or given model.

    The id defaults to ``avikit/classification-zeroshot`` plus ``-minilm`` for the MiniLM text side.
    """
    retrieval = load_retrieval(name_or_path)
    suffix = retrieval.id.removeprefix("avikit/retrieval")
    return ZeroShotClassifier(retrieval, model_id or f"avikit/classification-zeroshot{suffix}")


def load_zero_shot_minilm() -> ZeroShotClassifier:
    """The zero-shot classifier over the MiniLM retrieval model (``"classification-zeroshot-minilm"``)."""
    return zero_shot_from_pretrained("retrieval-minilm")
