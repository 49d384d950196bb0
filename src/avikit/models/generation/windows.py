"""How the audio-to-video and joint pipelines cut whole clips into the networks' short windows, and back.

The generation pipelines implement the :class:`~avikit.models.protocol.Model` protocol for a generation task
of :mod:`avikit.tasks.generation`: ``predict`` writes one ``.npy`` file per generated stream in the
prediction folder (``{sample_id}_video.npy``: uint8 ``[T, H, W, 3]``; ``{sample_id}_audio.npy``: float32
``[N]`` mono) and returns the prediction records. Outputs always cover the whole clip at the task's rates
and frame size.

The networks work on short windows at low resolution (2 s; 48 px for audio-to-video, 16 px for joint
generation). A clip is cut into consecutive windows of that length on its frame grid (the last window
ends with the clip and overlaps the one before; only its new frames are kept), every window is generated,
and the windows are joined and resized. This module holds those shared steps and the file writers.

Example:
    >>> window_starts(80), window_starts(20)
    ([0, 16, 32, 48, 64], [0, 4])
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from numpy.typing import NDArray

from avikit.errors import UsageError
from avikit.models.encoders.trunk import combined_hash
from avikit.models.protocol import Item
from avikit.nn import resolve_pretrained

__all__ = ["window_starts"]

SAMPLE_RATE, FPS, WINDOW_FRAMES = 16000, 8, 16
"""Rates of every generator here and the frames of one generated window (2 s at 8 fps)."""


# --------------------------------------------------------------------------------------------- helpers


def window_starts(num_frames: int, window: int = WINDOW_FRAMES) -> list[int]:
    """First frames of the windows that cover ``num_frames`` (the last one ends with the clip).

    Example:
        >>> window_starts(80), window_starts(20)
        ([0, 16, 32, 48, 64], [0, 4])
    """
    if num_frames < window:
        raise UsageError(
            f"clips must hold at least {window} frames ({window // FPS} s at {FPS} fps), got {num_frames}"
        )
    starts = list(range(0, num_frames - window + 1, window))
    return starts if starts[-1] + window == num_frames else [*starts, num_frames - window]


def _join(windows: torch.Tensor, starts: list[int], total: int, per_frame: int = 1) -> torch.Tensor:
    """Windows ``[K, W * per_frame, ...]`` back onto a timeline of ``total`` frames (later windows win)."""
    size = windows.shape[1]
    out = windows.new_zeros(total * per_frame, *windows.shape[2:])
    for window, start in zip(windows, starts, strict=True):
        out[start * per_frame : start * per_frame + size] = window
    return out


def _media(item: Item) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``(frames [T', 3, H, W] in [0, 1], mono audio [1, N], T)`` of an item.

    ``frames`` are those the task gives (all, or the one reference frame of audio-to-video); ``T`` is the
    number of output frames, which the audio must cover.
    """
    count = len(item.inputs.frames)
    frames = torch.from_numpy(np.ascontiguousarray(item.frames)).permute(0, 3, 1, 2).float() / 255
    audio = torch.from_numpy(np.asarray(item.waveform, dtype=np.float32)).mean(0, keepdim=True)
    if audio.shape[-1] != count * SAMPLE_RATE // FPS:
        raise UsageError(
            f"item {item.id}: {count} frames need {count * SAMPLE_RATE // FPS} audio samples at "
            f"{SAMPLE_RATE} Hz, got {audio.shape[-1]}"
        )
    return frames, audio, count


def _audio_windows(audio: torch.Tensor, starts: list[int]) -> torch.Tensor:
    """``[1, N]`` to ``[K, 1, W * hop]``."""
    hop = SAMPLE_RATE // FPS
    return torch.stack([audio[:, s * hop : (s + WINDOW_FRAMES) * hop] for s in starts])


def _resize(frames: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """``[..., 3, h, w]`` to ``[..., 3, *size]`` (area when shrinking, else ``mode``)."""
    if tuple(frames.shape[-2:]) == size:
        return frames
    flat = frames.reshape(-1, *frames.shape[-3:])
    shrink = size[0] < flat.shape[-2]
    out = F.interpolate(flat, size=size, mode="area" if shrink else mode, align_corners=None)
    return out.reshape(*frames.shape[:-2], *size)


def _save_video(folder: Path, sample_id: str, frames: torch.Tensor) -> str:
    """Write ``[T, 3, H, W]`` in [0, 1] as uint8 ``[T, H, W, 3]``."""
    path = folder / f"{sample_id}_video.npy"
    np.save(path, (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
    return str(path)


def _save_audio(folder: Path, sample_id: str, audio: torch.Tensor) -> str:
    path = folder / f"{sample_id}_audio.npy"
    np.save(path, audio.reshape(-1).numpy().astype(np.float32))
    return str(path)


def _caption(item: Item, model_id: str) -> str:
    if not item.inputs.text or not item.inputs.text[0].strip():
        raise UsageError(f"{model_id} generates from a caption; item {item.id} has none")
    return item.inputs.text[0]


# ---------------------------------------------------------------------------------------------- loading


def _weights_hash(name_or_path: str | os.PathLike[str], search: Path) -> str:
    return combined_hash(resolve_pretrained(name_or_path, [search]) / "model.safetensors")


def frames_to_tensor(frames: NDArray[np.uint8], image_size: int) -> torch.Tensor:
    """``[..., T, H, W, 3]`` uint8 to ``[..., T, 3, S, S]`` floats in [0, 1], ``S = image_size`` (area)."""
    if frames.ndim < 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise UsageError(f"need uint8 frames [..., T, H, W, 3], got {frames.dtype} {list(frames.shape)}")
    x = torch.from_numpy(np.ascontiguousarray(frames)).float() / 255
    lead = x.shape[:-3]
    x = x.reshape(-1, *x.shape[-3:]).permute(0, 3, 1, 2)  # [N, 3, H, W]
    if x.shape[-1] != image_size or x.shape[-2] != image_size:
        x = F.interpolate(x, size=(image_size, image_size), mode="area")
    return x.reshape(*lead, 3, image_size, image_size)


def frame_windows(frames: torch.Tensor, window: int) -> torch.Tensor:
    """``[T, 3, H, W]`` to ``[ceil(T / window), window, 3, H, W]``, the tail padded with the last frame."""
    count = -(-frames.shape[0] // window)
    pad = count * window - frames.shape[0]
    if pad:
        frames = torch.cat([frames, frames[-1:].expand(pad, *frames.shape[1:])])
    return frames.view(count, window, *frames.shape[1:])


def input_seed(seed: int, item: Item) -> int:
    """``seed`` plus the CRC-32 of what the item gives the model (its media, text and geometry).

    A clip draws the same in any batch, run folder or shard, and nothing but the model's own inputs
    decides it (item ids are opaque and change between run folders).
    """
    digest = zlib.crc32(repr((item.inputs.frame_size, len(item.inputs.frames), item.inputs.text)).encode())
    for stream in item.media:
        if stream is not None:
            digest = zlib.crc32(np.ascontiguousarray(stream).tobytes(), digest)
    return (seed + digest) % (2**63)


def write_audio(folder: Path, sample_id: str, audio: NDArray[np.float32], length: int) -> dict[str, Any]:
    """Save mono float32 audio cut or zero-padded to ``length`` samples; the prediction record."""
    audio = np.pad(audio[:length], (0, max(length - len(audio), 0))).astype(np.float32)
    path = folder / f"{sample_id}_audio.npy"
    np.save(path, audio)
    return {"id": sample_id, "audio": str(path)}
