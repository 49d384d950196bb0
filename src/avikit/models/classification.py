"""Classification reference models: a supervised classifier and a zero-shot one through the AV-text space.

:class:`ClassificationModel` (VGGSound-style single label, AudioSet-style multi-label) reads the frozen
AVSynth trunk: each second's audio picks the sounding region of its frame (AVE-style audio-guided
attention), the streams read each other (HAN), and per-second class logits are averaged over the clip. A
second linear head scores every heard class (multi-label). Both heads know only the classes seen in
training.

:class:`ZeroShotClassifier` needs no classifier at all: it scores a clip by the cosine of its fused
audio-visual embedding with the caption of every class in the joint audio-visual-text space of
:mod:`avikit.models.retrieval`, so it names classes never seen in training (the ``open_test`` split).

Example:
    >>> import torch
    >>> head = build_classification_head(ClassificationConfig(dim=32))
    >>> features = {"audio_segments": torch.randn(2, 10, 32), "visual_maps": torch.randn(2, 10, 32, 4, 4)}
    >>> [t.shape for t in head(features)]
    [torch.Size([2, 27]), torch.Size([2, 27])]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.data.synth.classes import CLASS_NAMES
from avikit.models.retrieval import RetrievalModel, main_class
from avikit.models.retrieval import from_pretrained as load_retrieval
from avikit.models.trunk import ENCODER_NAME, FeatureSet, MediaItem, TrunkModel, encode_items, load_head
from avikit.nn import AudioGuidedAttention, HybridAttentionTransformer
from avikit.tasks import Task

__all__ = [
    "KIND",
    "ClassificationConfig",
    "ClassificationHead",
    "ClassificationModel",
    "ZeroShotClassifier",
    "build_classification_head",
    "classification_loss",
    "classification_training_data",
    "from_pretrained",
    "zero_shot_from_pretrained",
]

KIND = "avikit.models.classification"
_TASKS = ("classification", "classification-multilabel")


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


class ClassificationHead(nn.Module):
    """Audio-guided attention, HAN, per-second class logits averaged over time; a heard-class head."""

    def __init__(
        self,
        guide: AudioGuidedAttention,
        fusion: HybridAttentionTransformer,
        classifier: nn.Module,
        heard: nn.Module,
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
        return logits, self.heard(torch.cat([audio.mean(1), audio.amax(1)], dim=-1))


# ------------------------------------------------------------------------------------------------ model


class ClassificationModel(TrunkModel):
    """The frozen trunk and the classification head: single-label and multi-label scores per class."""

    tasks: tuple[str, ...] = _TASKS
    default_id = "avikit/classification"
    head: ClassificationHead

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Softmax (single-label) or sigmoid (multi-label) scores over the AVSynth classes."""
        self.check_task(task)
        main, heard = self.head(encode_items(self.encoder, batch, self.window_seconds(batch)))
        scores = main.softmax(-1) if task.name == "classification" else heard.sigmoid()
        return [
            {"id": item.sample.id, "scores": row.tolist()} for item, row in zip(batch, scores, strict=True)
        ]


class ZeroShotClassifier:
    """Scores each class by the cosine of the clip's fused AV embedding with the class caption."""

    tasks: tuple[str, ...] = ("classification",)

    def __init__(self, retrieval: RetrievalModel, model_id: str = "avikit/classification-zeroshot") -> None:
        self.retrieval = retrieval
        self.id = model_id
        self.weights_hash = retrieval.weights_hash

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Cosine scores over every AVSynth class, seen in training or not."""
        if task.name not in self.tasks:
            raise ValueError(f"{self.id} predicts {', '.join(self.tasks)}, not {task.name!r}")
        scores = self.retrieval.head.class_scores(self.retrieval.features(batch), CLASS_NAMES)  # [B, C]
        return [
            {"id": item.sample.id, "scores": row.tolist()} for item, row in zip(batch, scores, strict=True)
        ]


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
    heard = nn.Sequential(nn.LayerNorm(2 * d), nn.Linear(2 * d, c))
    fusion = HybridAttentionTransformer(d, cfg.depth, cfg.heads)
    return ClassificationHead(AudioGuidedAttention(d, d, cfg.hidden), fusion, classifier, heard)


def from_pretrained(name_or_path: str | os.PathLike[str] = "classification") -> ClassificationModel:
    """Load the model from a packaged name (default ``"classification"``), a folder or a hub id."""
    head, _, encoder, weights_hash = load_head(
        name_or_path, ClassificationConfig, build_classification_head, KIND
    )
    return ClassificationModel(encoder, head, weights_hash=weights_hash).eval()


def zero_shot_from_pretrained(name_or_path: str | os.PathLike[str] = "retrieval") -> ZeroShotClassifier:
    """The zero-shot classifier over the packaged (or given) retrieval model."""
    return ZeroShotClassifier(load_retrieval(name_or_path))


# --------------------------------------------------------------------------------------------- training


def classification_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Segment features, the main class (``-1``: no audio-visual event) and the heard classes ``[N, C]``."""
    heard = torch.zeros(len(data), len(CLASS_NAMES))
    for n, sample in enumerate(data.samples):
        heard[n, [CLASS_NAMES.index(c) for c in sample.target("sounding_classes")]] = 1.0
    labels = torch.tensor([main_class(s) for s in data.samples])
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_maps": data.features["visual_maps"],
        "label": labels,
        "heard": heard,
    }


def classification_loss(
    head: ClassificationHead, batch: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Cross-entropy of the main class (clips with an event) plus binary cross-entropy of heard classes."""
    logits, heard = head(batch)
    keep = batch["label"] >= 0
    main = F.cross_entropy(logits[keep], batch["label"][keep]) if bool(keep.any()) else logits.sum() * 0
    multi = F.binary_cross_entropy_with_logits(heard, batch["heard"])
    return {"loss": main + multi, "main": main, "heard": multi}
