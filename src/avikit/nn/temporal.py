"""Temporal models over sequences of per-step features ``[B, T, D]``: pooling, a transformer, a conv stack.

Example:
    >>> import torch
    >>> x = torch.randn(2, 100, 16)
    >>> pool_segments(x, 10).shape
    torch.Size([2, 10, 16])
    >>> TemporalTransformer(dim=16, depth=1, heads=2)(pool_segments(x, 10)).shape
    torch.Size([2, 10, 16])
    >>> TemporalConv(dim=16, depth=2)(x).shape
    torch.Size([2, 100, 16])
    >>> segment_frame_indices(num_frames=80, num_segments=10, per_segment=2)[:4]
    [2, 6, 10, 14]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.nn.transformer import Block, sinusoidal_positions

__all__ = ["TemporalConv", "TemporalTransformer", "pool_segments", "segment_frame_indices"]


def pool_segments(x: torch.Tensor, num_segments: int) -> torch.Tensor:
    """Average ``x [B, N, D]`` over ``num_segments`` equal spans of the time axis: ``[B, num_segments, D]``.

    When ``N`` is a multiple of ``num_segments`` each output is the exact mean of ``N / num_segments``
    consecutive steps; otherwise spans overlap by at most one step (adaptive average pooling).
    """
    if x.ndim != 3 or x.shape[1] < num_segments or num_segments < 1:
        raise UsageError(f"cannot pool {list(x.shape)} ([B, N, D]) into {num_segments} segments")
    return F.adaptive_avg_pool1d(x.transpose(1, 2), num_segments).transpose(1, 2)


def segment_frame_indices(num_frames: int, num_segments: int, per_segment: int = 1) -> list[int]:
    """Indices of ``per_segment`` evenly spaced frames in each of ``num_segments`` equal spans.

    Frame ``j`` of segment ``s`` is the centre of the ``j``-th of ``per_segment`` equal parts of the span,
    computed in exact integer arithmetic; the result has ``num_segments * per_segment`` entries.
    """
    if num_segments < 1 or per_segment < 1 or num_frames < num_segments * per_segment:
        raise UsageError(
            f"cannot pick {per_segment} frame(s) in each of {num_segments} segments from {num_frames} frames"
        )
    parts = num_segments * per_segment
    return [(2 * i + 1) * num_frames // (2 * parts) for i in range(parts)]


class TemporalTransformer(nn.Module):
    """Transformer over time: ``[B, T, D] -> [B, T, D]`` with sine positions and an optional key mask."""

    def __init__(self, dim: int, depth: int = 1, heads: int = 4, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.dim = dim
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mix ``x [B, T, D]`` over time; ``key_mask`` ``bool [B, T]`` hides padded steps from attention."""
        x = x + sinusoidal_positions(x.shape[1], self.dim).to(x)
        for block in self.blocks:
            x = block(x, key_mask)
        return self.norm(x)


class TemporalConv(nn.Module):
    """Residual stack of dilated 1-D convolutions (dilation ``2**i``): ``[B, T, D] -> [B, T, D]``."""

    def __init__(self, dim: int, depth: int = 2, kernel_size: int = 3) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise UsageError(f"kernel_size must be odd to keep the length, got {kernel_size}")
        self.convs = nn.ModuleList(
            nn.Conv1d(dim, dim, kernel_size, padding=2**i * (kernel_size // 2), dilation=2**i)
            for i in range(depth)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x + conv(gelu(ln(x)))`` applied ``depth`` times, shape ``[B, T, D]``."""
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = x + conv(F.gelu(norm(x)).transpose(1, 2)).transpose(1, 2)  # [B, T, D]
        return x
