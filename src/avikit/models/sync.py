"""Synchronisation reference model: offset logits from the cross-correlation of audio and visual steps.

The sync task shows 5 s of video and 5 s of audio shifted by one of 21 offsets (-2..2 s in 0.2 s steps). The
frozen AVSynth trunk encodes both in 0.2 s steps (25 steps: one frame and two audio tokens each); small
temporal convolutions map each stream to a common space, and the logit of offset ``k`` is the mean
similarity of audio step ``t`` with video step ``t + k`` (the offset grid is the step grid), scaled and
biased per offset, as in correlation-based sync models (e.g. Chung & Zisserman's SyncNet scoring). Objects
in AVSynth pulse while they sound, so the visual stream carries the rhythm the audio has.

Example:
    >>> import torch
    >>> head = build_sync_head(SyncConfig(dim=32))
    >>> features = {"audio_tokens": torch.randn(2, 50, 32), "visual_maps": torch.randn(2, 25, 32, 4, 4)}
    >>> head(features).shape
    torch.Size([2, 21])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.models.trunk import ENCODER_NAME, FeatureSet, MediaItem, TrunkModel, encode_items, load_head
from avikit.nn import TemporalConv
from avikit.tasks import SYNC_OFFSETS, Task

__all__ = [
    "KIND",
    "NUM_STEPS",
    "SyncConfig",
    "SyncHead",
    "SyncModel",
    "build_sync_head",
    "from_pretrained",
    "sync_loss",
    "sync_training_data",
]

KIND = "avikit.models.sync"
NUM_STEPS = 25
"""Steps of 0.2 s in the task's 5 s window: the offset grid's step."""


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class SyncConfig:
    """Sizes of the sync head; ``dim`` is the trunk's width."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 64
    depth: int = 2


# ----------------------------------------------------------------------------------------------- blocks


class SyncHead(nn.Module):
    """Per-stream projection and temporal convolution, then per-offset mean similarity."""

    def __init__(
        self, audio: nn.Module, visual: nn.Module, audio_time: TemporalConv, visual_time: TemporalConv
    ) -> None:
        super().__init__()
        self.audio, self.visual = audio, visual
        self.audio_time, self.visual_time = audio_time, visual_time
        self.scale = nn.Parameter(torch.tensor(5.0))
        self.bias = nn.Parameter(torch.zeros(len(SYNC_OFFSETS)))

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Offset logits ``[B, 21]`` from ``audio_tokens [B, 2*S, D]`` and ``visual_maps [B, S, D, h, w]``."""
        maps = features["visual_maps"]
        b, s = maps.shape[:2]
        tokens = features["audio_tokens"]
        a = tokens[:, : (tokens.shape[1] // s) * s].reshape(b, s, -1, tokens.shape[-1]).mean(2)  # [B, S, D]
        v = torch.cat([maps.flatten(3).mean(-1), maps.flatten(3).amax(-1)], dim=-1)  # [B, S, 2D]
        a = F.normalize(self.audio_time(self.audio(a)), dim=-1)  # [B, S, H]
        v = F.normalize(self.visual_time(self.visual(v)), dim=-1)  # [B, S, H]
        sim = a @ v.transpose(1, 2)  # [B, S(audio t), S(video u)]
        half = len(SYNC_OFFSETS) // 2
        # offset class k pairs audio step t with video step t + (k - half)
        scores = torch.stack(
            [sim.diagonal(offset=k - half, dim1=1, dim2=2).mean(-1) for k in range(2 * half + 1)], -1
        )
        return self.scale * scores + self.bias  # [B, 21]


# ------------------------------------------------------------------------------------------------ model


class SyncModel(TrunkModel):
    """The frozen trunk and the correlation head, measured on task ``sync``."""

    tasks: tuple[str, ...] = ("sync",)
    default_id = "avikit/sync"
    head: SyncHead

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """21 offset logits per item."""
        self.check_task(task)
        logits = self.head(encode_items(self.encoder, batch, NUM_STEPS))
        return [
            {"id": item.sample.id, "logits": row.tolist()} for item, row in zip(batch, logits, strict=True)
        ]


def build_sync_head(cfg: SyncConfig) -> SyncHead:
    """Build the head from its config."""
    audio = nn.Sequential(nn.LayerNorm(cfg.dim), nn.Linear(cfg.dim, cfg.hidden))
    visual = nn.Sequential(nn.LayerNorm(2 * cfg.dim), nn.Linear(2 * cfg.dim, cfg.hidden))
    return SyncHead(audio, visual, TemporalConv(cfg.hidden, cfg.depth), TemporalConv(cfg.hidden, cfg.depth))


def from_pretrained(name_or_path: str | os.PathLike[str] = "sync") -> SyncModel:
    """Load the model from a packaged name (default ``"sync"``), a folder or a hub id, in eval mode."""
    head, _, encoder, weights_hash = load_head(name_or_path, SyncConfig, build_sync_head, KIND)
    return SyncModel(encoder, head, weights_hash=weights_hash).eval()


# --------------------------------------------------------------------------------------------- training


def sync_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Audio tokens, visual maps and the offset class of every clip."""
    labels = torch.tensor([task.build_target(s)["label"] for s in data.samples])
    return {
        "audio_tokens": data.features["audio_tokens"],
        "visual_maps": data.features["visual_maps"],
        "label": labels,
    }


def sync_loss(head: SyncHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cross-entropy over the 21 offsets."""
    logits = head(batch)
    loss = F.cross_entropy(logits, batch["label"])
    return {"loss": loss, "accuracy": (logits.argmax(-1) == batch["label"]).float().mean()}
