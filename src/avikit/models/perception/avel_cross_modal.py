"""AVE cross-modal localisation reference model: distances between seconds from where the AV event is.

The task (Tian et al., ECCV 2018, AVE) slides the query modality's event seconds over the other modality
and takes the place with the least summed distance (A2V and V2A). An audio-visual event needs both a sound
and a visible source: in AVSynth, audio alone hears off-screen sounds too, and one frame a second barely
shows an object pulse. The head therefore scores every second for the event from both streams: the
trunk's audio and visual segment features are projected, fused (``[a, v, a * v]``) and read by dilated
temporal convolutions into an event logit per second, and the distance between visual second ``i`` and
audio second ``j`` is ``-log p(i) - log p(j)``, the negative log-probability that both hold the event. It is
trained with a per-second binary cross-entropy on every training clip and, on the clips the task scores,
a listwise loss that matches the task's decision: the cross-entropy of the true window start under a
softmax over the negated window costs.

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
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.nn import TemporalConv
from avikit.tasks import Task

__all__ = [
    "KIND",
    "CrossModalConfig",
    "CrossModalHead",
    "CrossModalModel",
    "build_cross_modal_head",
    "from_pretrained",
]

KIND = "avikit.models.avel_cross_modal"


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class CrossModalConfig:
    """Sizes of the head; ``depth`` is the number of dilated temporal convolutions after the fusion."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 64
    depth: int = 2


# ----------------------------------------------------------------------------------------------- blocks


class CrossModalHead(nn.Module):
    """Per-second event logits from both streams; distances are negative log-probabilities of the event."""

    def __init__(self, audio: nn.Module, visual: nn.Module, fusion: nn.Module) -> None:
        super().__init__()
        self.audio, self.visual, self.fusion = audio, visual, fusion

    def event_logits(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Logit ``[B, S]`` that each second holds the audio-visual event."""
        a = self.audio(features["audio_segments"])  # [B, S, H]
        v = self.visual(features["visual_segments"])  # [B, S, H]
        return self.fusion(torch.cat([a, v, a * v], dim=-1))[..., 0]  # [B, S]

    @staticmethod
    def distances_from_logits(logits: torch.Tensor) -> torch.Tensor:
        """Event logits ``[B, S]`` -> distances ``[B, S (visual), S (audio)]``: ``-log p(i) - log p(j)``."""
        cost = F.softplus(-logits)  # [B, S]: -log sigmoid
        return cost[:, :, None] + cost[:, None, :]

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Distances ``[B, S (visual), S (audio)]``: ``-log p(i) - log p(j)``, ``p`` the event probability."""
        return self.distances_from_logits(self.event_logits(features))


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
        batch = self.adapt(task, batch)
        distances = self.head(encode_items(self.encoder, batch, len(batch[0].inputs.segments)))
        return [
            {"id": item.id, "distances": d.round(decimals=5).tolist()}
            for item, d in zip(batch, distances, strict=True)
        ]


def _stream(dim: int, hidden: int) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU())


def build_cross_modal_head(cfg: CrossModalConfig) -> CrossModalHead:
    """Build the head from its config."""
    fusion = nn.Sequential(
        nn.Linear(3 * cfg.hidden, cfg.hidden), TemporalConv(cfg.hidden, cfg.depth), nn.Linear(cfg.hidden, 1)
    )
    return CrossModalHead(_stream(cfg.dim, cfg.hidden), _stream(cfg.dim, cfg.hidden), fusion)


def from_pretrained(name_or_path: str | os.PathLike[str] = "avel-cross-modal") -> CrossModalModel:
    """Load the model from a packaged name (default ``"avel-cross-modal"``), a folder or a hub id."""
    head, _, encoder, weights_hash = load_head(name_or_path, CrossModalConfig, build_cross_modal_head, KIND)
    return CrossModalModel(encoder, head, weights_hash=weights_hash).eval()
