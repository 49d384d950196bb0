"""Sound source localisation reference model: audio-visual similarity maps on the frozen AVSynth trunk.

In the line of attention-based localisation (Senocak et al., CVPR 2018; LVS, Chen et al., CVPR 2021): the
task's frame and the 3 s of audio around it are encoded by the frozen trunk; the audio embedding and every
position of the frame's feature map are projected into one space, and their scaled cosine is the heatmap.
The heatmap is trained against the task-style source maps of training clips (pixel-wise binary
cross-entropy, at the map's resolution), then upsampled bilinearly; scores under half the peak are set to 0
(the median-threshold cIoU rule then marks the region around the peak, not half of the frame).

Example:
    >>> import torch
    >>> head = build_source_head(SourceConfig(dim=32))
    >>> features = {"audio_segments": torch.randn(2, 1, 32), "visual_maps": torch.randn(2, 1, 32, 4, 4)}
    >>> head(features).shape
    torch.Size([2, 4, 4])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.models.pretrain import AVJointEncoder
from avikit.models.trunk import ENCODER_NAME, FeatureSet, MediaItem, TrunkModel, encode_items, load_head
from avikit.tasks import Task

__all__ = [
    "KIND",
    "SourceConfig",
    "SourceHead",
    "SourceLocalizationModel",
    "build_source_head",
    "from_pretrained",
    "source_loss",
    "source_training_data",
]

KIND = "avikit.models.source_localization"


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class SourceConfig:
    """Sizes of the head; ``heatmap_size`` is the side of the predicted heatmap (it divides the frame)."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 64
    heatmap_size: int = 32


# ----------------------------------------------------------------------------------------------- blocks


class SourceHead(nn.Module):
    """Scaled cosine between a projected audio embedding and every projected map position."""

    def __init__(self, audio: nn.Module, visual: nn.Module) -> None:
        super().__init__()
        self.audio, self.visual = audio, visual
        self.scale = nn.Parameter(torch.tensor(10.0))
        self.bias = nn.Parameter(torch.tensor(-5.0))

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Heatmap logits ``[B, h, w]`` from ``audio_segments [B, 1, D]``, ``visual_maps [B, 1, D, h, w]``."""
        a = F.normalize(self.audio(features["audio_segments"].mean(1)), dim=-1)  # [B, H]
        v = F.normalize(self.visual(features["visual_maps"][:, 0]), dim=1)  # [B, H, h, w]
        return self.scale * torch.einsum("bc,bchw->bhw", a, v) + self.bias


# ------------------------------------------------------------------------------------------------ model


class SourceLocalizationModel(TrunkModel):
    """The frozen trunk and the similarity head, measured on task ``source-localization``."""

    tasks: tuple[str, ...] = ("source-localization",)
    default_id = "avikit/source-localization"
    head: SourceHead

    def __init__(
        self,
        encoder: AVJointEncoder,
        head: SourceHead,
        heatmap_size: int = 32,
        model_id: str | None = None,
        weights_hash: str = "untrained",
    ) -> None:
        super().__init__(encoder, head, model_id, weights_hash)
        self.heatmap_size = heatmap_size

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """A ``heatmap_size`` square heatmap (sigmoid scores) per item."""
        self.check_task(task)
        logits = self.head(encode_items(self.encoder, batch, 1))[:, None]  # [B, 1, h, w]
        size = (self.heatmap_size, self.heatmap_size)
        heat = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)[:, 0].sigmoid()
        # scores below half the peak are set to 0, so the map marks a region, not a ranking of every pixel
        heat = torch.where(heat >= heat.amax(dim=(1, 2), keepdim=True) / 2, heat, torch.zeros_like(heat))
        return [
            {"id": item.sample.id, "heatmap": h.round(decimals=4).tolist()}
            for item, h in zip(batch, heat, strict=True)
        ]


def build_source_head(cfg: SourceConfig) -> SourceHead:
    """Build the head from its config."""
    audio = nn.Sequential(nn.LayerNorm(cfg.dim), nn.Linear(cfg.dim, cfg.hidden))
    visual = nn.Sequential(nn.Conv2d(cfg.dim, cfg.hidden, 1), nn.GELU(), nn.Conv2d(cfg.hidden, cfg.hidden, 1))
    return SourceHead(audio, visual)


def from_pretrained(name_or_path: str | os.PathLike[str] = "source-localization") -> SourceLocalizationModel:
    """Load the model from a packaged name (default ``"source-localization"``), a folder or a hub id."""
    head, cfg, encoder, weights_hash = load_head(name_or_path, SourceConfig, build_source_head, KIND)
    return SourceLocalizationModel(encoder, head, cfg.heatmap_size, weights_hash=weights_hash).eval()


# --------------------------------------------------------------------------------------------- training


def source_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Trunk features and the source map averaged to the feature map's grid ``[N, h, w]`` (soft labels)."""
    grid = data.features["visual_maps"].shape[-1]
    maps = torch.stack(
        [torch.as_tensor(task.build_target(s)["map"], dtype=torch.float32) for s in data.samples]
    )
    soft = F.adaptive_avg_pool2d(maps[:, None], grid)[:, 0]  # [N, h, w]
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_maps": data.features["visual_maps"],
        "map": soft,
    }


def source_loss(head: SourceHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Pixel-wise binary cross-entropy against the soft source map."""
    return {"loss": F.binary_cross_entropy_with_logits(head(batch), batch["map"])}
