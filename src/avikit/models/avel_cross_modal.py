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
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.data.synth.ground_truth import BACKGROUND
from avikit.models.feature_sets import FeatureSet
from avikit.models.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.trunk_encoding import MediaItem, encode_items
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
        distances = self.head(encode_items(self.encoder, batch, len(batch[0].inputs.segments)))
        return [
            {"id": item.sample.id, "distances": d.round(decimals=5).tolist()}
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


# --------------------------------------------------------------------------------------------- training


def cross_modal_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Segment features, the event mask ``[N, S]`` of every clip, and whether the task would score it ``[N]``.

    Every clip teaches the per-second event logits; the clips the task scores (one run of event seconds,
    neither empty nor the whole clip) also teach the listwise choice of the window.
    """
    cross = get_task("avel-cross-modal")
    events = torch.tensor([[label != BACKGROUND for label in s.target("avel")] for s in data.samples])
    scored = [cross.includes(replace(s, split=cross.spec.protocol.split)) for s in data.samples]
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_segments": data.features["visual_segments"],
        "events": events.float(),
        "scored": torch.tensor(scored, dtype=torch.bool),
    }


def _window_costs(cost: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Costs ``[B, S]`` and event lengths ``[B]`` -> summed cost of every window start ``[B, S]``.

    A window that would run past the end costs ``inf``.
    """
    s = cost.shape[1]
    csum = F.pad(cost.cumsum(1), (1, 0))  # [B, S + 1]
    starts = torch.arange(s)
    ends = (starts[None, :] + length[:, None]).clamp(max=s)  # [B, S]
    total = csum.gather(1, ends) - csum[:, :s]
    return torch.where(starts[None, :] + length[:, None] <= s, total, torch.full_like(total, float("inf")))


def _listwise(logits: torch.Tensor, events: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the true window start under a softmax over the negated window costs."""
    windows = _window_costs(F.softplus(-logits), events.sum(1).long())  # [B, S]
    return F.cross_entropy(-windows, events.argmax(1))


def cross_modal_loss(head: CrossModalHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per-second binary cross-entropy plus a listwise loss over the places the task slides the query to.

    The task picks the window start with the least summed distance; the listwise term is the cross-entropy of
    the true start under a softmax over the negated window costs.
    """
    logits = head.event_logits(batch)  # [B, S]
    events = batch["events"]  # [B, S]
    per_second = F.binary_cross_entropy_with_logits(logits, events)
    scored = batch["scored"]
    listwise = _listwise(logits[scored], events[scored]) if bool(scored.any()) else logits.sum() * 0
    return {"loss": per_second + listwise, "per_second": per_second, "listwise": listwise}
