"""AVE cross-modal localisation reference model: a learned distance between visual and audio seconds.

After the cross-modality localisation of Tian et al. (ECCV 2018, AVE): audio and visual segment features
of the frozen AVSynth trunk are mapped by two small networks into one space, trained with a contrastive
loss (Hadsell et al., 2006) so that seconds of the same audio-visual event are close and an event second is
far from a second without the event. The distance matrix is the prediction; the task slides the query
modality's event over the other modality and takes the closest place (A2V and V2A).

Example:
    >>> import torch
    >>> head = build_cross_modal_head(CrossModalConfig(dim=32))
    >>> features = {"audio_segments": torch.randn(2, 10, 32), "visual_segments": torch.randn(2, 10, 32)}
    >>> head(features).shape  # distances[b, visual i, audio j]
    torch.Size([2, 10, 10])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.models.trunk import ENCODER_NAME, FeatureSet, MediaItem, TrunkModel, encode_items, load_head
from avikit.nn import TemporalConv
from avikit.tasks import Task, get_task

__all__ = [
    "KIND",
    "CrossModalConfig",
    "CrossModalHead",
    "CrossModalModel",
    "build_cross_modal_head",
    "cross_modal_loss",
    "cross_modal_training_data",
    "from_pretrained",
]

KIND = "avikit.models.avel_cross_modal"


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class CrossModalConfig:
    """Sizes of the head; ``margin`` is the contrastive loss's margin on unit-normalised embeddings."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 64
    margin: float = 1.0


# ----------------------------------------------------------------------------------------------- blocks


class CrossModalHead(nn.Module):
    """Two projections with temporal context into one space; Euclidean distances between all pairs."""

    def __init__(self, audio: nn.Module, visual: nn.Module, margin: float) -> None:
        super().__init__()
        self.audio, self.visual, self.margin = audio, visual, margin

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Distances ``[B, S (visual), S (audio)]``."""
        a = F.normalize(self.audio(features["audio_segments"]), dim=-1)  # [B, S, H]
        v = F.normalize(self.visual(features["visual_segments"]), dim=-1)  # [B, S, H]
        return torch.cdist(v, a)


# ------------------------------------------------------------------------------------------------ model


class CrossModalModel(TrunkModel):
    """The frozen trunk and the distance head, measured on task ``avel-cross-modal``."""

    tasks: tuple[str, ...] = ("avel-cross-modal",)
    default_id = "avikit/avel-cross-modal"
    head: CrossModalHead

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """A visual-by-audio distance matrix per item."""
        self.check_task(task)
        distances = self.head(encode_items(self.encoder, batch, len(batch[0].inputs.segments)))
        return [
            {"id": item.sample.id, "distances": d.round(decimals=5).tolist()}
            for item, d in zip(batch, distances, strict=True)
        ]


def _stream(dim: int, hidden: int) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), TemporalConv(hidden, depth=1))


def build_cross_modal_head(cfg: CrossModalConfig) -> CrossModalHead:
    """Build the head from its config."""
    return CrossModalHead(_stream(cfg.dim, cfg.hidden), _stream(cfg.dim, cfg.hidden), cfg.margin)


def from_pretrained(name_or_path: str | os.PathLike[str] = "avel-cross-modal") -> CrossModalModel:
    """Load the model from a packaged name (default ``"avel-cross-modal"``), a folder or a hub id."""
    head, _, encoder, weights_hash = load_head(name_or_path, CrossModalConfig, build_cross_modal_head, KIND)
    return CrossModalModel(encoder, head, weights_hash=weights_hash).eval()


# --------------------------------------------------------------------------------------------- training


def cross_modal_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Segment features and the event mask ``[N, S]`` of the clips the task would score."""
    cross = get_task("avel-cross-modal")
    keep = [
        n for n, s in enumerate(data.samples) if cross.includes(replace(s, split=cross.spec.protocol.split))
    ]
    events = torch.stack([torch.as_tensor(cross.build_target(data.samples[n])["events"]) for n in keep])
    index = torch.tensor(keep)
    return {
        "audio_segments": data.features["audio_segments"][index],
        "visual_segments": data.features["visual_segments"][index],
        "events": events.float(),
    }


def cross_modal_loss(head: CrossModalHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contrastive loss: event-event pairs close, event-background pairs at least ``margin`` apart."""
    distances = head(batch)  # [B, S, S]
    events = batch["events"]  # [B, S]
    positive = events[:, :, None] * events[:, None, :]
    negative = events[:, :, None] + events[:, None, :] - 2 * positive  # exactly one side is an event
    loss = (positive * distances.square()).sum() / positive.sum().clamp(min=1)
    loss = loss + (negative * F.relu(head.margin - distances).square()).sum() / negative.sum().clamp(min=1)
    return {"loss": loss}
