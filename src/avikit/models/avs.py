"""AVS reference model: TPAVI audio-conditioned mask decoding of the sounding objects, binary and semantic.

After Zhou et al., "Audio-Visual Segmentation" (ECCV 2022, AVSBench). The frozen AVSynth trunk encodes the
five task frames and the audio around each (two seconds per frame); temporal pixel-wise audio-visual
interaction (TPAVI) lets every pixel of every frame read the audio, and an upsampling decoder gives mask
logits: channel 0 is the binary "sounding object" mask (S4/MS3), channels 1.. the semantic classes with
background first (AVSS). Visible silent objects look like sounding ones; only the audio tells them apart.

Example:
    >>> import torch
    >>> head = build_avs_head(AVSConfig(dim=32))
    >>> features = {"audio_segments": torch.randn(2, 5, 32), "visual_maps": torch.randn(2, 5, 32, 4, 4)}
    >>> head(features).shape  # 1 binary + background + 27 classes, 4 x 4 maps upsampled twice
    torch.Size([2, 5, 29, 16, 16])
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
from avikit.models.trunk import ENCODER_NAME, FeatureSet, MediaItem, TrunkModel, encode_items, load_head
from avikit.nn import AudioConditionedMaskDecoder
from avikit.tasks import Task, encode_mask, get_task

__all__ = [
    "KIND",
    "AVSConfig",
    "AVSModel",
    "avs_loss",
    "avs_training_data",
    "build_avs_head",
    "from_pretrained",
]

KIND = "avikit.models.avs"
_CHANNELS = 2 + len(CLASS_NAMES)  # binary, background, classes


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class AVSConfig:
    """Sizes of the mask head; ``dim`` is the trunk's width; masks are learned at ``train_size`` pixels."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    upsample_steps: int = 2
    train_size: int = 32


# ------------------------------------------------------------------------------------------------ model


class AVSModel(TrunkModel):
    """The frozen trunk and a TPAVI mask decoder, measured on ``avs-binary`` and ``avs-semantic``."""

    tasks: tuple[str, ...] = ("avs-binary", "avs-semantic")
    default_id = "avikit/avs"
    head: AudioConditionedMaskDecoder

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Run-length masks of every item's frames (binary, or class index + 1)."""
        self.check_task(task)
        features = encode_items(self.encoder, batch, len(batch[0].inputs.frames))
        logits = self.head(_head_inputs(features), size=batch[0].inputs.frame_size)  # [B, T, 29, H, W]
        binary = task.name == "avs-binary"
        # [B, T, H, W]: 0/1, or 0 for background and class index + 1
        masks = (logits[:, :, 0] > 0).long() if binary else logits[:, :, 1:].argmax(dim=2)
        return [
            {"id": item.sample.id, "masks": [encode_mask(m) for m in mask.numpy()]}
            for item, mask in zip(batch, masks, strict=True)
        ]


def _head_inputs(features: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return features["visual_maps"], features["audio_segments"]


def build_avs_head(cfg: AVSConfig) -> AudioConditionedMaskDecoder:
    """Build the TPAVI mask decoder (binary channel, background, one channel per class)."""
    return _Head(cfg.dim, _CHANNELS, cfg.upsample_steps)


class _Head(AudioConditionedMaskDecoder):
    """The TPAVI decoder, called with the trunk's features by name."""

    def forward(  # type: ignore[override]
        self,
        features: Mapping[str, torch.Tensor] | tuple[torch.Tensor, torch.Tensor],
        size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Mask logits ``[B, T, 29, H', W']`` from ``visual_maps`` and ``audio_segments``."""
        maps, audio = _head_inputs(features) if isinstance(features, Mapping) else features
        return super().forward(maps, audio, size)


def from_pretrained(name_or_path: str | os.PathLike[str] = "avs") -> AVSModel:
    """Load the model from a packaged name (default ``"avs"``), a folder or a hub id, in eval mode."""
    head, _, encoder, weights_hash = load_head(name_or_path, AVSConfig, build_avs_head, KIND)
    return AVSModel(encoder, head, weights_hash=weights_hash).eval()


# --------------------------------------------------------------------------------------------- training


def avs_training_data(data: FeatureSet, task: Task, size: int = 32) -> dict[str, torch.Tensor]:
    """Trunk features and semantic masks ``[N, T, size, size]`` (nearest-neighbour downsampled)."""
    semantic = get_task("avs-semantic")
    masks = []
    for sample in data.samples:
        mask = semantic.build_target(sample)["masks"]  # [T, H, W]
        step = mask.shape[-1] // size
        masks.append(torch.as_tensor(np.ascontiguousarray(mask[:, step // 2 :: step, step // 2 :: step])))
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_maps": data.features["visual_maps"],
        "masks": torch.stack(masks).long(),
    }


def avs_loss(head: nn.Module, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Binary cross-entropy of the sounding mask plus cross-entropy of the semantic mask."""
    masks = batch["masks"]  # [B, T, h, w]
    logits = head(batch, size=tuple(masks.shape[-2:]))  # [B, T, 29, h, w]
    binary = F.binary_cross_entropy_with_logits(
        logits[:, :, 0], (masks > 0).float(), pos_weight=torch.tensor(3.0)
    )
    semantic = F.cross_entropy(logits[:, :, 1:].flatten(0, 1), masks.flatten(0, 1))
    return {"loss": binary + semantic, "binary": binary, "semantic": semantic}
