"""AVVP reference model: a hybrid attention network trained with video-level labels only, as LLP is.

After Tian et al., "Unified Multisensory Perception: Weakly-Supervised Audio-Visual Video Parsing" (ECCV
2020). The frozen AVSynth trunk gives per-second audio and visual features; a hybrid attention transformer
(self- plus cross-modal attention) lets them read each other; a shared classifier gives per-second,
per-modality class probabilities, and attentive multimodal multiple-instance pooling (over time, then over
the two modalities, per class) turns them into one video-level probability per class. Only that video
level is supervised (the classes present anywhere in the clip, in either modality); at test time the
per-second, per-modality probabilities above 0.5 are the parse.

Example:
    >>> import torch
    >>> head = build_avvp_head(AVVPConfig(dim=32))
    >>> features = {"audio_segments": torch.randn(2, 10, 32), "visual_segments": torch.randn(2, 10, 32)}
    >>> video, segments = head(features)
    >>> video.shape, segments.shape  # segments: [B, S, 2 modalities, C]
    (torch.Size([2, 27]), torch.Size([2, 10, 2, 27]))
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
from avikit.models.encoders.input_geometry import LabelMap
from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.nn import HybridAttentionTransformer
from avikit.tasks import Task

__all__ = ["KIND", "AVVPConfig", "AVVPHead", "AVVPModel", "build_avvp_head", "from_pretrained"]

KIND = "avikit.models.avvp"


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class AVVPConfig:
    """Sizes of the HAN head; ``dim`` is the trunk's width; ``threshold`` makes the parse."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    depth: int = 1
    heads: int = 4
    threshold: float = 0.5


# ----------------------------------------------------------------------------------------------- blocks


class AVVPHead(nn.Module):
    """HAN, a shared classifier and attentive MMIL pooling (temporal and modality attention per class)."""

    def __init__(
        self, han: HybridAttentionTransformer, classifier: nn.Module, temporal: nn.Module, modality: nn.Module
    ) -> None:
        super().__init__()
        self.han, self.classifier = han, classifier
        self.temporal, self.modality = temporal, modality

    def forward(self, features: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Video-level probabilities ``[B, C]`` and segment probabilities ``[B, S, 2, C]`` (audio, visual)."""
        a, v = self.han(features["audio_segments"], features["visual_segments"])  # [B, S, D] each
        x = torch.stack([a, v], dim=2)  # [B, S, 2, D]
        probs = self.classifier(x).sigmoid()  # [B, S, 2, C]
        time_weights = self.temporal(x).softmax(dim=1)  # [B, S, 2, C]: over time
        modality_weights = self.modality(x).softmax(dim=2)  # [B, S, 2, C]: over modalities
        video = (time_weights * modality_weights * probs).sum(dim=(1, 2)).clamp(1e-6, 1 - 1e-6)  # [B, C]
        return video, probs


# ------------------------------------------------------------------------------------------------ model


class AVVPModel(TrunkModel):
    """The frozen trunk and the HAN head, measured on task ``avvp``."""

    tasks: tuple[str, ...] = ("avvp",)
    default_id = "avikit/avvp"
    head: AVVPHead

    def __init__(
        self,
        encoder: AVJointEncoder,
        head: AVVPHead,
        threshold: float = 0.5,
        model_id: str | None = None,
        weights_hash: str = "untrained",
    ) -> None:
        super().__init__(encoder, head, model_id, weights_hash)
        self.threshold = threshold

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Per second, the classes heard and the classes seen."""
        self.check_task(task)
        batch = self.adapt(task, batch)
        video, probs = self.head(encode_items(self.encoder, batch, len(batch[0].inputs.segments)))
        # a class is parsed only where the whole video also holds it (as HAN does), among the dataset's
        known = torch.from_numpy(LabelMap(CLASS_NAMES, task.vocabularies()["classes"]).mask())
        on = (probs > self.threshold) & (video > self.threshold)[:, None, None, :] & known  # [B, S, 2, C]
        out = []
        for item, row in zip(batch, on, strict=True):
            parse = {
                m: [
                    [CLASS_NAMES[c] for c in torch.nonzero(row[t, k]).flatten().tolist()]
                    for t in range(len(row))
                ]
                for k, m in enumerate(("audio", "visual"))
            }
            out.append({"id": item.id, **parse})
        return out


def build_avvp_head(cfg: AVVPConfig) -> AVVPHead:
    """Build the head from its config."""
    c = len(CLASS_NAMES)
    return AVVPHead(
        HybridAttentionTransformer(cfg.dim, cfg.depth, cfg.heads),
        nn.Linear(cfg.dim, c),
        nn.Linear(cfg.dim, c),
        nn.Linear(cfg.dim, c),
    )


def from_pretrained(name_or_path: str | os.PathLike[str] = "avvp") -> AVVPModel:
    """Load the model from a packaged name (default ``"avvp"``), a folder or a hub id, in eval mode."""
    head, cfg, encoder, weights_hash = load_head(name_or_path, AVVPConfig, build_avvp_head, KIND)
    return AVVPModel(encoder, head, cfg.threshold, weights_hash=weights_hash).eval()
