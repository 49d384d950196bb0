"""Audio encoder: a patch transformer over log-Mel spectrograms, and the waveform-to-log-Mel front end.

The spectrogram ``[B, M, T]`` (``M`` mel bands, ``T`` frames at ``frame_rate`` Hz) is normalised per clip,
cut into full-height time patches of ``patch_frames`` frames (one token per patch, ``token_rate =
frame_rate / patch_frames`` tokens per second), embedded linearly, given sine positions and run through
pre-norm transformer blocks. Segment and clip embeddings are means of the tokens.

Example:
    >>> import torch
    >>> encoder = AudioEncoder(n_mels=64, patch_frames=10, dim=32, depth=1, heads=2)
    >>> mel = torch.randn(2, 64, 1001)  # 10 s of 10 ms frames
    >>> encoder(mel).shape  # 100 tokens, 10 per second
    torch.Size([2, 100, 32])
    >>> segments, clip = encoder.encode(mel, num_segments=10)
    >>> segments.shape, clip.shape
    (torch.Size([2, 10, 32]), torch.Size([2, 32]))
"""

from __future__ import annotations

import torch
from torch import nn

from avikit.errors import UsageError
from avikit.media import log_mel
from avikit.nn.patches import patchify_spectrogram
from avikit.nn.temporal import pool_segments
from avikit.nn.transformer import Block, sinusoidal_positions

__all__ = ["AudioEncoder", "LogMel", "normalize_spectrogram"]


def normalize_spectrogram(mel: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Return ``mel [B, M, T]`` shifted and scaled to zero mean and unit variance per clip."""
    mean = mel.mean(dim=(1, 2), keepdim=True)  # [B, 1, 1]
    std = mel.std(dim=(1, 2), keepdim=True)  # [B, 1, 1]
    return (mel - mean) / (std + eps)


class LogMel(nn.Module):
    """Waveform ``[B, C, N]`` to mono log-Mel ``[B, n_mels, 1 + N // hop_length]`` (channels averaged)."""

    def __init__(
        self, sample_rate: int = 16000, n_mels: int = 64, n_fft: int = 400, hop_length: int = 160
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.n_mels = n_mels
        self.n_fft = n_fft
        self.hop_length = hop_length

    @property
    def frame_rate(self) -> float:
        """Spectrogram frames per second."""
        return self.sample_rate / self.hop_length

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Compute the natural-log Mel spectrogram of the channel mean of ``waveform [B, C, N]``."""
        if waveform.ndim != 3:
            raise UsageError(f"waveform must be [B, C, N], got shape {list(waveform.shape)}")
        mono = waveform.mean(dim=1)  # [B, N]
        return log_mel(mono, self.sample_rate, self.n_mels, n_fft=self.n_fft, hop_length=self.hop_length)


class AudioEncoder(nn.Module):
    """Patch transformer over log-Mel: ``[B, M, T] -> [B, T // patch_frames, D]`` tokens."""

    def __init__(
        self,
        n_mels: int = 64,
        patch_frames: int = 10,
        dim: int = 96,
        depth: int = 2,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        frame_rate: float = 100.0,
    ) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.patch_frames = patch_frames
        self.dim = dim
        self.frame_rate = frame_rate
        self.patch_embed = nn.Linear(n_mels * patch_frames, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    @property
    def token_rate(self) -> float:
        """Tokens per second of audio."""
        return self.frame_rate / self.patch_frames

    def embed(self, mel: torch.Tensor) -> torch.Tensor:
        """Normalise, patchify and embed: ``[B, M, T] -> [B, S, D]`` with positions added."""
        if mel.ndim != 3 or mel.shape[1] != self.n_mels or mel.shape[2] < self.patch_frames:
            raise UsageError(
                f"expected a log-Mel [B, {self.n_mels}, T >= {self.patch_frames}], got {list(mel.shape)}"
            )
        patches = patchify_spectrogram(normalize_spectrogram(mel), self.patch_frames)  # [B, S, M*p]
        x = self.patch_embed(patches)  # [B, S, D]
        return x + sinusoidal_positions(x.shape[1], self.dim).to(x)

    def transform(self, tokens: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run the transformer over embedded tokens ``[B, N, D]`` (all, or a visible subset)."""
        for block in self.blocks:
            tokens = block(tokens, key_mask)
        return self.norm(tokens)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Encode ``mel [B, M, T]`` into tokens ``[B, T // patch_frames, D]``."""
        return self.transform(self.embed(mel))

    def encode(self, mel: torch.Tensor, num_segments: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return segment embeddings ``[B, num_segments, D]`` and the clip embedding ``[B, D]``."""
        segments = pool_segments(self(mel), num_segments)  # [B, S, D]
        return segments, segments.mean(dim=1)
