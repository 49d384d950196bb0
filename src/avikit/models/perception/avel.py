"""AVEL reference model: audio-guided visual attention and hybrid attention on the frozen AVSynth trunk.

After Tian et al., "Audio-Visual Event Localization in Unconstrained Videos" (ECCV 2018): each second's
audio picks the sounding region of that second's frame (:class:`~avikit.nn.AudioGuidedAttention`), the two
streams read each other over time (:class:`~avikit.nn.HybridAttentionTransformer`), and a classifier labels
every 1 s segment with an event class or ``background``. A segment is an event only where the sound and
the sight agree, so the model needs both modalities.

File order: config, blocks, model, builder and ``from_pretrained``, training pieces.

Example:
    >>> import torch
    >>> head = build_avel_head(AVELConfig(dim=32))
    >>> features = {"audio_segments": torch.randn(2, 10, 32), "visual_maps": torch.randn(2, 10, 32, 4, 4)}
    >>> head(features).shape
    torch.Size([2, 10, 28])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from avikit.models.encoders.input_geometry import LabelMap
from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.nn import AudioGuidedAttention, HybridAttentionTransformer
from avikit.tasks import AVEL_LABELS, Task

__all__ = ["KIND", "AVELConfig", "AVELHead", "AVELModel", "build_avel_head", "from_pretrained"]

KIND = "avikit.models.avel"


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class AVELConfig:
    """Sizes of the AVEL head; ``dim`` is the trunk's width and ``encoder`` names the trunk's weights."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 64
    depth: int = 1
    heads: int = 4
    dropout: float = 0.1


# ----------------------------------------------------------------------------------------------- blocks


class AVELHead(nn.Module):
    """Audio-guided attention over each frame's regions, HAN over time, a per-segment classifier."""

    def __init__(
        self, guide: AudioGuidedAttention, fusion: HybridAttentionTransformer, classifier: nn.Module
    ) -> None:
        super().__init__()
        self.guide = guide
        self.fusion = fusion
        self.classifier = classifier

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Segment logits ``[B, S, K]`` from ``audio_segments [B, S, D]``, ``visual_maps [B, S, D, h, w]``."""
        audio = features["audio_segments"]  # [B, S, D]
        regions = features["visual_maps"].flatten(3).transpose(2, 3)  # [B, S, h*w, D]
        visual, _ = self.guide(regions, audio)  # [B, S, D]
        audio, visual = self.fusion(audio, visual)  # [B, S, D] each
        return self.classifier(torch.cat([audio, visual], dim=-1))  # [B, S, K]


# ------------------------------------------------------------------------------------------------ model


class AVELModel(TrunkModel):
    """The frozen trunk and the AVEL head, measured on task ``avel`` (one label per 1 s segment)."""

    tasks: tuple[str, ...] = ("avel",)
    default_id = "avikit/avel"
    head: AVELHead

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """One AVEL label per segment for every item, among the labels the dataset declares."""
        self.check_task(task)
        batch = self.adapt(task, batch)
        features = encode_items(self.encoder, batch, len(batch[0].inputs.segments))
        known = torch.from_numpy(LabelMap(AVEL_LABELS, task.vocabularies()["avel_labels"]).mask())
        logits = self.head(features).masked_fill(~known, float("-inf"))  # [B, S, K]
        labels = logits.argmax(dim=-1)  # [B, S]
        return [
            {"id": item.id, "labels": [AVEL_LABELS[k] for k in row.tolist()]}
            for item, row in zip(batch, labels, strict=True)
        ]


def build_avel_head(cfg: AVELConfig) -> AVELHead:
    """Build the head from its config (the only place the config becomes modules)."""
    d = cfg.dim
    classifier = nn.Sequential(
        nn.LayerNorm(2 * d),
        nn.Dropout(cfg.dropout),
        nn.Linear(2 * d, cfg.hidden),
        nn.GELU(),
        nn.Linear(cfg.hidden, len(AVEL_LABELS)),
    )
    return AVELHead(
        AudioGuidedAttention(d, d, cfg.hidden),
        HybridAttentionTransformer(d, cfg.depth, cfg.heads),
        classifier,
    )


def from_pretrained(name_or_path: str | os.PathLike[str] = "avel") -> AVELModel:
    """Load the model from a packaged name (default ``"avel"``), a folder or a hub id, in eval mode."""
    head, _, encoder, weights_hash = load_head(name_or_path, AVELConfig, build_avel_head, KIND)
    return AVELModel(encoder, head, weights_hash=weights_hash).eval()
