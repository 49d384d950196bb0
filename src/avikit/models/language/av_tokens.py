"""From the frozen AV trunk to LM input embeddings: clip tokens, their clock, and the projector.

The trunk (:mod:`avikit.models.encoders.av_encoder`) gives, per 1 s segment, audio tokens (10 per second),
audio and visual segment features and per-frame visual maps. :func:`clip_tokens` turns them into

- audio tokens ``[B, S * audio_rate, 2D]``: the audio tokens average-pooled to ``audio_rate`` per second,
  each with its segment's (temporally contextualized) feature;
- video tokens ``[B, S, 5D]``: per second the visual segment feature, the map's mean and the maximum over
  each third of the frame's width (left, middle, right; what "where is it?" needs);

with their start times in seconds. :class:`Projector` maps each stream to the LM width and adds a modality
embedding and a sinusoidal embedding of the token's time, so the LM reads both streams on one clock; the
reading order is :func:`avikit.models.language.interleave.interleave` of their time ids.

Example:
    >>> import torch
    >>> features = {"audio_tokens": torch.zeros(2, 40, 8), "audio_segments": torch.zeros(2, 4, 8),
    ...             "visual_segments": torch.zeros(2, 4, 8), "visual_maps": torch.zeros(2, 4, 8, 6, 6)}
    >>> tokens = clip_tokens(features, audio_rate=2)
    >>> tokens.audio.shape, tokens.video.shape, tokens.audio_times[:3].tolist()
    (torch.Size([2, 8, 16]), torch.Size([2, 4, 40]), [0.0, 0.5, 1.0])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from avikit.models.language.interleave import QWEN2_5_OMNI, Clock, Interleaved, interleave

__all__ = ["ClipTokens", "Projector", "clip_tokens", "reading_order", "time_embedding"]


@dataclass
class ClipTokens:
    """Per-clip stream features before projection.

    Attributes:
        audio: ``[B, Na, Da]``.
        video: ``[B, Nv, Dv]``.
        audio_times: ``[Na]`` start time of each audio token in seconds.
        video_times: ``[Nv]`` start time of each video token in seconds.
    """

    audio: torch.Tensor
    video: torch.Tensor
    audio_times: torch.Tensor
    video_times: torch.Tensor

    def select(self, rows: torch.Tensor | list[int]) -> ClipTokens:
        """The tokens of some clips (rows of the batch)."""
        return ClipTokens(self.audio[rows], self.video[rows], self.audio_times, self.video_times)


def clip_tokens(features: Mapping[str, torch.Tensor], audio_rate: int = 2) -> ClipTokens:
    """Stream features of a batch of trunk outputs (see the module docstring for the layout)."""
    segments = features["audio_segments"]  # [B, S, D]
    b, s, d = segments.shape
    tokens = features["audio_tokens"]  # [B, S * n, D]
    n = tokens.shape[1] // s
    if n % audio_rate:
        raise ValueError(f"{n} audio tokens per segment cannot be pooled to {audio_rate} per second")
    pooled = tokens.reshape(b, s, audio_rate, n // audio_rate, d).mean(3)  # [B, S, r, D]
    audio = torch.cat([pooled, segments[:, :, None].expand(-1, -1, audio_rate, -1)], -1).flatten(1, 2)
    maps = features["visual_maps"]  # [B, S, D, h, w]
    thirds = [part.amax(dim=(3, 4)) for part in maps.tensor_split(3, dim=4)]  # 3 x [B, S, D]
    video = torch.cat([features["visual_segments"], maps.mean(dim=(3, 4)), *thirds], -1)  # [B, S, 5D]
    return ClipTokens(
        audio=audio,
        video=video,
        audio_times=torch.arange(s * audio_rate, dtype=torch.float32) / audio_rate,
        video_times=torch.arange(s, dtype=torch.float32),
    )


def reading_order(tokens: ClipTokens, mode: str = "chunked", clock: Clock = QWEN2_5_OMNI) -> Interleaved:
    """The interleaved reading order of a clip's tokens on ``clock`` (time ids from their start times)."""
    rate = clock.position_ids_per_second
    video = np.floor(tokens.video_times.numpy() * rate + 1e-6).astype(np.int64)
    audio = np.floor(tokens.audio_times.numpy() * rate + 1e-6).astype(np.int64)
    return interleave(video, audio, mode, clock)


def time_embedding(times: torch.Tensor, dim: int, max_period: float = 100.0) -> torch.Tensor:
    """Sinusoidal features ``[N, dim]`` of times in seconds (periods from 1 s to ``max_period`` s)."""
    half = dim // 2
    periods = torch.logspace(0, math.log10(max_period), half)  # [dim / 2]
    angles = 2 * math.pi * times[:, None] / periods[None, :]
    return torch.cat([angles.sin(), angles.cos()], -1)


class Projector(nn.Module):
    """Two-layer MLPs from each stream to the LM width, plus modality and time embeddings."""

    def __init__(self, audio_dim: int, video_dim: int, width: int, time_dim: int = 32) -> None:
        super().__init__()
        self.audio = nn.Sequential(
            nn.LayerNorm(audio_dim), nn.Linear(audio_dim, width), nn.GELU(), nn.Linear(width, width)
        )
        self.video = nn.Sequential(
            nn.LayerNorm(video_dim), nn.Linear(video_dim, width), nn.GELU(), nn.Linear(width, width)
        )
        self.time = nn.Linear(time_dim, width)
        self.modality = nn.Parameter(torch.zeros(2, width))  # [video, audio]
        self.time_dim = time_dim

    def forward(self, tokens: ClipTokens, order: Interleaved) -> torch.Tensor:
        """Projected tokens in reading order ``[B, Na + Nv, width]``."""
        audio = (
            self.audio(tokens.audio)
            + self.modality[1]
            + self.time(time_embedding(tokens.audio_times, self.time_dim))
        )
        video = (
            self.video(tokens.video)
            + self.modality[0]
            + self.time(time_embedding(tokens.video_times, self.time_dim))
        )
        index = torch.as_tensor(order.index)
        is_audio = torch.tensor([m == "audio" for m in order.modality])
        out = torch.empty(audio.shape[0], len(order), audio.shape[-1], dtype=audio.dtype)
        out[:, is_audio] = audio[:, index[is_audio]]
        out[:, ~is_audio] = video[:, index[~is_audio]]
        return out
