"""Dense localisation reference model: per-second multi-label AV event scores grouped into detections.

UnAV-100-style dense localisation on the frozen AVSynth trunk: each second's audio attends to its frame's
regions (AVE-style audio-guided attention), a hybrid attention transformer mixes the streams over time,
and a sigmoid per class scores whether an audio-visual event of that class covers the second. Runs of
seconds above a threshold become detections ``(class, start, end, score)``; several thresholds give several
proposals per event, scored by their mean probability (a simple multi-scale proposal scheme).

Example:
    >>> import torch
    >>> head = build_dense_head(DenseConfig(dim=32))
    >>> features = {"audio_segments": torch.randn(2, 10, 32), "visual_maps": torch.randn(2, 10, 32, 4, 4)}
    >>> head(features).shape
    torch.Size([2, 10, 27])
    >>> decode_events(torch.tensor([[0.1], [0.9], [0.8], [0.2]]), (0.5,), ("bell",))
    [{'label': 'bell', 'start': 1.0, 'end': 3.0, 'score': 0.85}]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from avikit.data.synth.classes import CLASS_NAMES
from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.nn import AudioGuidedAttention, HybridAttentionTransformer
from avikit.tasks import Task

__all__ = [
    "KIND",
    "DenseConfig",
    "DenseHead",
    "DenseLocalizationModel",
    "build_dense_head",
    "decode_events",
    "from_pretrained",
]

KIND = "avikit.models.dense_localization"


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class DenseConfig:
    """Sizes of the head; ``thresholds`` make proposals from the per-second scores."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 64
    depth: int = 1
    heads: int = 4
    thresholds: tuple[float, ...] = (0.3, 0.5, 0.7)


# ----------------------------------------------------------------------------------------------- blocks


class DenseHead(nn.Module):
    """Audio-guided attention, HAN, a per-second multi-label classifier: ``[B, S, C]`` logits."""

    def __init__(
        self, guide: AudioGuidedAttention, fusion: HybridAttentionTransformer, classifier: nn.Module
    ) -> None:
        super().__init__()
        self.guide, self.fusion, self.classifier = guide, fusion, classifier

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Per-second class logits ``[B, S, C]``."""
        audio = features["audio_segments"]  # [B, S, D]
        visual, _ = self.guide(features["visual_maps"].flatten(3).transpose(2, 3), audio)  # [B, S, D]
        audio, visual = self.fusion(audio, visual)
        return self.classifier(torch.cat([audio, visual], dim=-1))


def decode_events(
    probs: torch.Tensor, thresholds: Sequence[float], names: Sequence[str], seconds: float = 1.0
) -> list[dict[str, Any]]:
    """Runs of steps with ``probs [S, C]`` above each threshold -> detections in seconds (no duplicates)."""
    events: dict[tuple[str, float, float], float] = {}
    for threshold in thresholds:
        on = (probs > threshold).tolist()
        for c, name in enumerate(names):
            t = 0
            while t < len(on):
                if not on[t][c]:
                    t += 1
                    continue
                end = t
                while end < len(on) and on[end][c]:
                    end += 1
                key = (name, t * seconds, end * seconds)
                events[key] = max(events.get(key, 0.0), round(float(probs[t:end, c].mean()), 6))
                t = end
    return [{"label": k[0], "start": k[1], "end": k[2], "score": s} for k, s in events.items()]


# ------------------------------------------------------------------------------------------------ model


class DenseLocalizationModel(TrunkModel):
    """The frozen trunk and the dense head, measured on task ``dense-localization``."""

    tasks: tuple[str, ...] = ("dense-localization",)
    default_id = "avikit/dense-localization"
    head: DenseHead

    def __init__(
        self,
        encoder: AVJointEncoder,
        head: DenseHead,
        thresholds: Sequence[float] = (0.3, 0.5, 0.7),
        model_id: str | None = None,
        weights_hash: str = "untrained",
    ) -> None:
        super().__init__(encoder, head, model_id, weights_hash)
        self.thresholds = tuple(thresholds)

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Detected audio-visual events of every item."""
        self.check_task(task)
        batch = self.adapt(task, batch)
        probs = self.head(
            encode_items(self.encoder, batch, self.window_seconds(batch))
        ).sigmoid()  # [B, S, C]
        known = set(task.vocabularies()["classes"])  # only classes the dataset declares
        return [
            {"id": item.id, "events": [e for e in decode_events(p, self.thresholds, CLASS_NAMES)
                                       if e["label"] in known]}
            for item, p in zip(batch, probs, strict=True)
        ]  # fmt: skip


def build_dense_head(cfg: DenseConfig) -> DenseHead:
    """Build the head from its config."""
    d = cfg.dim
    classifier = nn.Sequential(
        nn.LayerNorm(2 * d), nn.Linear(2 * d, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, len(CLASS_NAMES))
    )
    return DenseHead(
        AudioGuidedAttention(d, d, cfg.hidden),
        HybridAttentionTransformer(d, cfg.depth, cfg.heads),
        classifier,
    )


def from_pretrained(name_or_path: str | os.PathLike[str] = "dense-localization") -> DenseLocalizationModel:
    """Load the model from a packaged name (default ``"dense-localization"``), a folder or a hub id."""
    head, cfg, encoder, weights_hash = load_head(name_or_path, DenseConfig, build_dense_head, KIND)
    return DenseLocalizationModel(encoder, head, cfg.thresholds, weights_hash=weights_hash).eval()
