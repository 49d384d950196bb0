"""Sound source localisation reference model: audio-visual similarity maps on the frozen AVSynth trunk.

In the line of attention-based localisation (Senocak et al., CVPR 2018; LVS, Chen et al., CVPR 2021): the
sound (3 s around the frame) and every position of the frame are projected into one space, and their
scaled cosine is the heatmap. The sound is described by its log-Mel spectrum (mean and max over time, see
:func:`avikit.models.perception.avs.segment_spectra`), which keeps the pitch and timbre that tell AVSynth's
classes
apart; a frame position by the frozen trunk's feature map upsampled to 32 x 32 plus the frame's own colours
at that grid (:class:`avikit.models.perception.avs.AppearanceMap`), so small objects keep their shape. An
auxiliary head names the classes heard in the audio (binary cross-entropy), so that the audio embedding
carries the class. The heatmap is trained against the task-style source maps of training clips (pixel-wise
binary cross-entropy, at 32 x 32); scores under half the peak are set to 0 (the median-threshold cIoU rule
then marks the region around the peak, not half of the frame).

Example:
    >>> import torch
    >>> head = build_source_head(SourceConfig(dim=32))
    >>> features = {"spectra": torch.randn(2, 1, 128), "visual_maps": torch.randn(2, 1, 32, 4, 4),
    ...             "colours": torch.rand(2, 1, 3, 32, 32)}
    >>> head(features).shape
    torch.Size([2, 32, 32])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.data.synth.classes import CLASS_NAMES
from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.models.perception.avs import N_MELS, AppearanceMap, frame_colours, segment_spectra
from avikit.tasks import Task

__all__ = [
    "KIND",
    "SourceConfig",
    "SourceHead",
    "SourceLocalizationModel",
    "build_source_head",
    "from_pretrained",
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
    """Scaled cosine between a projected audio embedding and every projected frame position."""

    def __init__(self, audio: nn.Module, visual: AppearanceMap, heard: nn.Module) -> None:
        super().__init__()
        self.audio, self.visual, self.heard = audio, visual, heard
        self.scale = nn.Parameter(torch.tensor(10.0))
        self.bias = nn.Parameter(torch.tensor(-5.0))

    def audio_embedding(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``[B, H]`` from the audio's spectrum ``spectra [B, 1, 2M]``."""
        return self.audio(features["spectra"][:, 0])

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Heatmap logits ``[B, s, s]`` from ``spectra [B, 1, 2M]``, ``visual_maps`` and ``colours``."""
        a = F.normalize(self.audio_embedding(features), dim=-1)  # [B, H]
        v = self.visual(features["visual_maps"][:, 0], features["colours"][:, 0])  # [B, H, s, s]
        v = F.normalize(v, dim=1)
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
        batch = self.adapt(task, batch)
        features = encode_items(self.encoder, batch, 1)
        features["colours"] = frame_colours(np.stack([item.frames for item in batch]))
        waveform = np.stack([item.waveform for item in batch]).astype(np.float32, copy=False)
        features["spectra"] = segment_spectra(waveform, 1)
        logits = self.head(features)[:, None]  # [B, 1, s, s]
        size = (self.heatmap_size, self.heatmap_size)
        heat = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)[:, 0].sigmoid()
        # scores below half the peak are set to 0, so the map marks a region, not a ranking of every pixel
        heat = torch.where(heat >= heat.amax(dim=(1, 2), keepdim=True) / 2, heat, torch.zeros_like(heat))
        return [
            {"id": item.id, "heatmap": h.round(decimals=4).tolist()}
            for item, h in zip(batch, heat, strict=True)
        ]


def build_source_head(cfg: SourceConfig) -> SourceHead:
    """Build the head from its config."""
    spectrum = 2 * N_MELS
    audio = nn.Sequential(
        nn.LayerNorm(spectrum), nn.Linear(spectrum, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, cfg.hidden)
    )
    visual = AppearanceMap(cfg.dim, cfg.hidden, cfg.hidden)
    return SourceHead(audio, visual, nn.Linear(cfg.hidden, len(CLASS_NAMES)))


def from_pretrained(name_or_path: str | os.PathLike[str] = "source-localization") -> SourceLocalizationModel:
    """Load the model from a packaged name (default ``"source-localization"``), a folder or a hub id."""
    head, cfg, encoder, weights_hash = load_head(name_or_path, SourceConfig, build_source_head, KIND)
    return SourceLocalizationModel(encoder, head, cfg.heatmap_size, weights_hash=weights_hash).eval()
