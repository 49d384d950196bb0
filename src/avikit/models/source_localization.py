"""Sound source localisation reference model: audio-visual similarity maps on the frozen AVSynth trunk.

In the line of attention-based localisation (Senocak et al., CVPR 2018; LVS, Chen et al., CVPR 2021): the
sound (3 s around the frame) and every position of the frame are projected into one space, and their
scaled cosine is the heatmap. The sound is described by its log-Mel spectrum (mean and max over time, see
:func:`avikit.models.avs.segment_spectra`), which keeps the pitch and timbre that tell AVSynth's classes
apart; a frame position by the frozen trunk's feature map upsampled to 32 x 32 plus the frame's own colours
at that grid (:class:`avikit.models.avs.AppearanceMap`), so small objects keep their shape. An
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
from fractions import Fraction
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.data.synth import load_clip
from avikit.data.synth.classes import CLASS_NAMES
from avikit.models.av_encoder import AVJointEncoder
from avikit.models.avs import N_MELS, AppearanceMap, frame_colours, segment_spectra
from avikit.models.feature_sets import FeatureSet
from avikit.models.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.trunk_encoding import MediaItem, encode_items
from avikit.tasks import Task, cut_media

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
            {"id": item.sample.id, "heatmap": h.round(decimals=4).tolist()}
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


# --------------------------------------------------------------------------------------------- training


def source_training_data(data: FeatureSet, task: Task, size: int = 32) -> dict[str, torch.Tensor]:
    """Trunk features, media cues, soft source maps and the classes heard in the audio window.

    The source map is averaged to ``[N, size, size]``, the heard classes are ``[N, C]``. The
    media are remade from the samples (AVSynth regenerates a clip in milliseconds).
    """
    maps, colours, spectra, heard = [], [], [], torch.zeros(len(data), len(CLASS_NAMES))
    for n, (sample, inputs) in enumerate(zip(data.samples, data.inputs, strict=True)):
        maps.append(torch.as_tensor(task.build_target(sample)["map"], dtype=torch.float32))
        frames, waveform = cut_media(load_clip(sample), inputs)
        colours.append(frame_colours(frames[None], size)[0])
        spectra.append(segment_spectra(waveform[None].astype(np.float32), 1)[0])
        rate = task.check_rates(sample).sample_rate
        start, stop = (Fraction(x, rate) for x in inputs.audio)
        for event in sample.target("events")["audio"]:
            if Fraction(event["onset"]) < stop and Fraction(event["offset"]) > start:
                heard[n, CLASS_NAMES.index(event["label"])] = 1.0
    return {
        "visual_maps": data.features["visual_maps"],
        "colours": torch.stack(colours),
        "spectra": torch.stack(spectra),
        "map": F.adaptive_avg_pool2d(torch.stack(maps)[:, None], size)[:, 0],  # [N, s, s]
        "heard": heard,
    }


def source_loss(head: SourceHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Pixel-wise binary cross-entropy against the soft source map, plus heard-class cross-entropy."""
    heatmap = F.binary_cross_entropy_with_logits(head(batch), batch["map"])
    heard = F.binary_cross_entropy_with_logits(head.heard(head.audio_embedding(batch)), batch["heard"])
    return {"loss": heatmap + heard, "heatmap": heatmap, "heard": heard}
