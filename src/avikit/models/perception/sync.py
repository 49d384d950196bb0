"""Synchronisation reference model: offset logits from a fine-grained correlation of sound and picture.

The sync task shows 5 s of video (40 frames at 8 fps) and 5 s of audio shifted by one of 21 offsets
(-2..2 s in 0.2 s steps). Objects in AVSynth pulse while they sound, in bursts of 0.15-0.45 s, so the rhythm
that ties the streams together is finer than a second. The head therefore works on a 25 ms grid (a common
divisor of the 0.125 s frame step and the 0.2 s offset step): the frozen AVSynth trunk encodes every one of
the 40 frames (its per-frame feature maps), a fixed log-Mel front end gives the audio 40 frames a second,
small temporal convolutions map each stream (the picture with its frame-to-frame change) to a common space,
and the logit of offset ``k`` is the mean similarity of audio step ``t`` with video step ``t + 8 k'``
(``k'`` the offset in 0.2 s steps), scaled and biased per offset, as in correlation-based sync models (e.g.
Chung & Zisserman's SyncNet scoring).

Example:
    >>> import torch
    >>> head = build_sync_head(SyncConfig(dim=32))
    >>> features = {"audio_frames": torch.randn(2, 32, 200), "visual_frames": torch.randn(2, 40, 64)}
    >>> head(features).shape
    torch.Size([2, 21])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from numpy.typing import NDArray
from torch import nn

from avikit.errors import UsageError
from avikit.media import log_mel
from avikit.models.encoders.input_geometry import resampling_note
from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_media
from avikit.nn import TemporalConv
from avikit.tasks import SYNC_OFFSETS, Task

__all__ = [
    "AUDIO_HOP",
    "KIND",
    "NUM_FRAMES",
    "SyncConfig",
    "SyncHead",
    "SyncModel",
    "build_sync_head",
    "compute_audio_frames",
    "from_pretrained",
]

KIND = "avikit.models.sync"
NUM_FRAMES = 40
"""Video frames in the task's 5 s window at 8 fps: the trunk encodes every one."""
_FPS = 8
AUDIO_HOP = 400
"""Audio samples per step of the head's grid (25 ms at 16 kHz): 5 steps a frame, 8 steps an offset class."""
_SAMPLE_RATE = 16000
_STEPS_PER_FRAME = 5
_STEPS_PER_OFFSET = 8
_N_MELS = 32


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class SyncConfig:
    """Sizes of the sync head; ``dim`` is the trunk's width."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 64
    depth: int = 3


# ----------------------------------------------------------------------------------------------- blocks


def compute_audio_frames(waveform: torch.Tensor | NDArray[np.float32]) -> torch.Tensor:
    """Log-Mel of the channel mean on the head's 25 ms grid: ``[B, C, N]`` -> ``[B, 32, N // 400]``.

    Example:
        >>> compute_audio_frames(torch.zeros(1, 2, 80000)).shape
        torch.Size([1, 32, 200])
    """
    mono = torch.as_tensor(waveform, dtype=torch.float32).mean(dim=1)  # [B, N]
    mel = log_mel(mono, _SAMPLE_RATE, _N_MELS, n_fft=2 * AUDIO_HOP, hop_length=AUDIO_HOP, amin=1e-6)
    return mel[..., : mono.shape[-1] // AUDIO_HOP]  # [B, M, steps]: step t is centred on sample t * hop


def pool_visual_maps(maps: torch.Tensor) -> torch.Tensor:
    """Per-frame mean and max over the trunk's map positions: ``[B, T, D, h, w]`` -> ``[B, T, 2D]``."""
    flat = maps.flatten(3)  # [B, T, D, h*w]
    return torch.cat([flat.mean(-1), flat.amax(-1)], dim=-1)


class SyncHead(nn.Module):
    """Per-stream temporal convolutions on the 25 ms grid, then per-offset mean similarity."""

    def __init__(
        self, audio: nn.Module, visual: nn.Module, audio_time: TemporalConv, visual_time: TemporalConv
    ) -> None:
        super().__init__()
        self.audio, self.visual = audio, visual
        self.audio_time, self.visual_time = audio_time, visual_time
        self.scale = nn.Parameter(torch.tensor(5.0))
        self.bias = nn.Parameter(torch.zeros(len(SYNC_OFFSETS)))

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Offset logits ``[B, 21]`` from ``audio_frames [B, M, 5*T]`` and ``visual_frames [B, T, 2D]``."""
        mel = features["audio_frames"]  # [B, M, N]
        mel = (mel - mel.mean(-1, keepdim=True)) / (mel.std(-1, keepdim=True) + 1e-3)
        a = self.audio_time(self.audio(mel).transpose(1, 2))  # [B, N, H]
        pooled = features["visual_frames"]  # [B, T, 2D]
        change = pooled - torch.cat([pooled[:, :1], pooled[:, :-1]], dim=1)  # [B, T, 2D]
        v = self.visual_time(self.visual(torch.cat([pooled, change], dim=-1)))  # [B, T, H]
        v = v.repeat_interleave(_STEPS_PER_FRAME, dim=1)[:, : a.shape[1]]  # [B, N, H]
        a, v = F.normalize(a, dim=-1), F.normalize(v, dim=-1)
        sim = a @ v.transpose(1, 2)  # [B, N (audio step t), N (video step u)]
        half = len(SYNC_OFFSETS) // 2
        # offset class k pairs audio step t with video step t + 8 (k - half): the same instant
        scores = torch.stack(
            [
                sim.diagonal(offset=_STEPS_PER_OFFSET * (k - half), dim1=1, dim2=2).mean(-1)
                for k in range(2 * half + 1)
            ],
            dim=-1,
        )
        return self.scale * scores + self.bias  # [B, 21]


# ------------------------------------------------------------------------------------------------ model


class SyncModel(TrunkModel):
    """The frozen trunk (every frame), a log-Mel front end and the correlation head, on task ``sync``."""

    tasks: tuple[str, ...] = ("sync",)
    default_id = "avikit/sync"
    head: SyncHead

    @torch.no_grad()
    def compute_logits(self, frames: NDArray[np.uint8], waveform: NDArray[np.float32]) -> torch.Tensor:
        """Offset logits ``[B, 21]`` of 5 s windows: frames ``[B, 40, H, W, 3]``, waveforms ``[B, C, N]``.

        Raises:
            ValueError: unless there are 40 frames and 5 s of audio at 16 kHz per clip.
        """
        if frames.ndim != 5 or frames.shape[1] != NUM_FRAMES or waveform.ndim != 3:
            raise UsageError(
                f"{self.id} reads 5 s windows: frames [B, {NUM_FRAMES}, H, W, 3] at 8 fps and waveforms "
                f"[B, C, {5 * _SAMPLE_RATE}] at {_SAMPLE_RATE} Hz, got {list(frames.shape)} and "
                f"{list(waveform.shape)}"
            )
        if waveform.shape[-1] != 5 * _SAMPLE_RATE or self.encoder.sample_rate != _SAMPLE_RATE:
            raise UsageError(
                f"{self.id} needs 5 s of audio at {_SAMPLE_RATE} Hz ({5 * _SAMPLE_RATE} samples), got "
                f"{waveform.shape[-1]} samples for an encoder at {self.encoder.sample_rate} Hz"
            )
        maps = encode_media(self.encoder, frames, waveform, NUM_FRAMES)["visual_maps"]  # [B, 40, D, h, w]
        visual = pool_visual_maps(maps)
        return self.head({"visual_frames": visual, "audio_frames": compute_audio_frames(waveform)})

    def input_resampling(self, task: Task) -> dict[str, str]:
        """Audio resampled to 16 kHz, frames picked at 8 fps (the frame at or before each 1/8 s)."""
        picked = f"every frame at {_FPS} fps (the frame at or before each 1/{_FPS} s)"
        return resampling_note(task, self.encoder.sample_rate, self.encoder.visual.image_size, picked)

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, object]]:
        """21 offset logits per item (audio resampled to 16 kHz, frames picked at 8 fps)."""
        self.check_task(task)
        batch = self.adapt(task, batch)
        fps = Fraction(task.spec.protocol.fps)
        picks = [int(k * fps / _FPS) for k in range(NUM_FRAMES)]
        frames = np.stack([item.frames[picks] for item in batch])  # [B, 40, H, W, 3]
        waveform = np.stack([item.waveform for item in batch]).astype(np.float32, copy=False)  # [B, C, N]
        logits = self.compute_logits(frames, waveform)
        return [{"id": item.id, "logits": row.tolist()} for item, row in zip(batch, logits, strict=True)]


def build_sync_head(cfg: SyncConfig) -> SyncHead:
    """Build the head from its config."""
    audio = nn.Sequential(
        nn.Conv1d(_N_MELS, cfg.hidden, 5, padding=2), nn.GELU(), nn.Conv1d(cfg.hidden, cfg.hidden, 1)
    )
    visual = nn.Sequential(nn.LayerNorm(4 * cfg.dim), nn.Linear(4 * cfg.dim, cfg.hidden))
    return SyncHead(audio, visual, TemporalConv(cfg.hidden, cfg.depth), TemporalConv(cfg.hidden, cfg.depth))


def from_pretrained(name_or_path: str | os.PathLike[str] = "sync") -> SyncModel:
    """Load the model from a packaged name (default ``"sync"``), a folder or a hub id, in eval mode."""
    head, _, encoder, weights_hash = load_head(name_or_path, SyncConfig, build_sync_head, KIND)
    return SyncModel(encoder, head, weights_hash=weights_hash).eval()
