"""Cut media through the frozen trunk: frame choice, resizing, the log-Mel front end and the encoder call.

Every reference task model reads the joint encoder's features
(:class:`avikit.models.encoders.av_encoder.AVFeatures`)
of exactly the inputs its task builds. This module turns cut media into those features:

- :func:`prepare_media`: frames ``[B, T, H, W, 3]`` uint8 and waveforms ``[B, C, N]`` -> the encoder's inputs,
  with the frames picked evenly over ``num_segments`` equal parts of the window (one per part);
- :func:`encode_prepared`: prepared inputs -> features (gradients flow when enabled, for fine-tuning);
- :func:`encode_media`: both at once, frozen, in batches;
- :func:`encode_items`: the same for a batch of evaluation items (anything with ``.frames``/``.waveform``).

Example:
    >>> import numpy as np
    >>> from avikit.models.encoders.av_encoder import AVEncoderConfig, build_av_encoder
    >>> cfg = AVEncoderConfig(n_mels=32, patch_size=16, dim=32, heads=2, embed_dim=16)
    >>> encoder = freeze(build_av_encoder(cfg))
    >>> frames = np.zeros((2, 16, 64, 64, 3), np.uint8)
    >>> waveform = np.zeros((2, 2, 64000), np.float32)
    >>> features = encode_media(encoder, frames, waveform, num_segments=4)
    >>> features["audio_segments"].shape, features["visual_maps"].shape
    (torch.Size([2, 4, 32]), torch.Size([2, 4, 32, 4, 4]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from numpy.typing import NDArray

from avikit.errors import UsageError
from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.nn import segment_frame_indices
from avikit.tasks import TaskInputs

__all__ = [
    "FEATURE_KEYS",
    "Features",
    "MediaItem",
    "encode_items",
    "encode_media",
    "encode_prepared",
    "freeze",
    "prepare_media",
]

FEATURE_KEYS = (
    "audio_tokens",
    "visual_maps",
    "audio_segments",
    "visual_segments",
    "joint_audio",
    "joint_visual",
    "audio_embedding",
    "visual_embedding",
)
"""The encoder outputs (see :class:`avikit.models.encoders.av_encoder.AVFeatures`), by name."""

Features = dict[str, torch.Tensor]
"""Encoder outputs by name (see :data:`FEATURE_KEYS`)."""


class MediaItem(Protocol):
    """What a task model reads from an evaluation item (satisfied by :class:`avikit.models.protocol.Item`)."""

    @property
    def id(self) -> str:
        """The item's opaque id."""
        ...

    @property
    def inputs(self) -> TaskInputs:
        """The task's inputs (frame indices, audio window, text)."""
        ...

    @property
    def frames(self) -> NDArray[np.uint8]:
        """``[T, H, W, 3]``."""
        ...

    @property
    def waveform(self) -> NDArray[np.float32]:
        """``[C, N]``."""
        ...


def freeze(encoder: AVJointEncoder) -> AVJointEncoder:
    """Put ``encoder`` in eval mode with no trainable parameters and return it."""
    encoder.eval()
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    return encoder


def _frames_uint8(frames: NDArray[np.uint8], image_size: int, num_segments: int) -> torch.Tensor:
    """``[B, T, H, W, 3]`` uint8 -> ``[B, S, 3, image_size, image_size]`` uint8 (one frame per segment)."""
    picked = segment_frame_indices(frames.shape[1], num_segments) if frames.shape[1] != num_segments else None
    x = torch.from_numpy(np.ascontiguousarray(frames if picked is None else frames[:, picked]))
    b, s = x.shape[:2]
    x = x.permute(0, 1, 4, 2, 3).flatten(0, 1)  # [B*S, 3, H, W] uint8
    if x.shape[-1] != image_size:  # area resize then round, as the encoder saw in pretraining
        x = F.interpolate(x.float(), size=(image_size, image_size), mode="area").round().to(torch.uint8)
    return x.reshape(b, s, 3, image_size, image_size)


def prepare_media(
    encoder: AVJointEncoder, frames: NDArray[np.uint8], waveform: NDArray[np.float32], num_segments: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut media -> the encoder's inputs: log-Mel ``[B, M, T_mel]`` and frames ``[B, S, 3, s, s]`` uint8.

    One frame per segment is kept (the centre of each of ``num_segments`` equal parts), resized to the
    encoder's ``image_size``; the audio goes through the encoder's (fixed) log-Mel front end.
    """
    if frames.ndim != 5 or waveform.ndim != 3 or len(frames) != len(waveform):
        raise UsageError(
            f"need frames [B, T, H, W, 3] and waveforms [B, C, N] of one batch size, got "
            f"{list(frames.shape)} and {list(waveform.shape)}"
        )
    with torch.no_grad():
        mel = encoder.frontend(torch.from_numpy(np.ascontiguousarray(waveform)))  # [B, M, T_mel]
    return mel, _frames_uint8(frames, encoder.visual.image_size, num_segments)


def encode_prepared(encoder: AVJointEncoder, mel: torch.Tensor, frames: torch.Tensor) -> Features:
    """Encoder features of prepared inputs (see :func:`prepare_media`); gradients flow when enabled."""
    out = encoder.encode(mel, frames.float() / 255)
    return {key: getattr(out, key) for key in FEATURE_KEYS}


@torch.no_grad()
def encode_media(
    encoder: AVJointEncoder,
    frames: NDArray[np.uint8],
    waveform: NDArray[np.float32],
    num_segments: int,
    batch_size: int = 32,
) -> Features:
    """Encode cut media with the frozen encoder.

    Args:
        encoder: the joint encoder (its ``frames_per_segment`` must be 1).
        frames: ``[B, T, H, W, 3]`` uint8 with ``T >= num_segments``; one frame per segment is used (the
            centre of each of ``num_segments`` equal parts).
        waveform: ``[B, C, N]`` float32 at the encoder's sample rate; split into ``num_segments`` equal parts.
        num_segments: time steps of the output.
        batch_size: clips per encoder call.

    Returns:
        the encoder outputs by name (see :data:`FEATURE_KEYS`), e.g. ``audio_segments [B, S, D]`` and
        ``visual_maps [B, S, D, h, w]``.
    """
    parts: list[Features] = []
    for begin in range(0, len(frames), batch_size):
        end = begin + batch_size
        parts.append(
            encode_prepared(
                encoder, *prepare_media(encoder, frames[begin:end], waveform[begin:end], num_segments)
            )
        )
    if not parts:
        raise UsageError("encode_media needs at least one clip")
    return {key: torch.cat([p[key] for p in parts]) for key in FEATURE_KEYS}


def encode_items(encoder: AVJointEncoder, batch: Sequence[MediaItem], num_segments: int) -> Features:
    """Encode a batch of evaluation items (items of one task share their media shapes)."""
    frames = np.stack([item.frames for item in batch])  # [B, T, H, W, 3]
    waveform = np.stack([item.waveform for item in batch]).astype(np.float32, copy=False)  # [B, C, N]
    return encode_media(encoder, frames, waveform, num_segments)
