"""Diffusion-transformer blocks with joint attention over two token streams and adaLN-Zero modulation.

The MM-DiT / MMAudio design: a *generated* stream ``x [B, N, D]`` (audio latents, codec-token embeddings,
frame latents) and a *context* stream ``y [B, M, D]`` (per-frame video features, text, class tokens) keep
their own weights, but attend jointly: queries of both streams see the keys of both (a causal mask restricts
``x`` to its past and keeps ``y`` from seeing ``x``). Each stream is modulated by adaLN-Zero (Peebles & Xie,
2023): a conditioning vector (timestep + global condition) predicts shift, scale and gate of every sub-layer,
with the gates initialised to zero so each block starts as the identity. The conditioning of ``x`` may be per
token ``[B, N, D]``: frame-aligned features (MMAudio's sync features) then steer each time step.

Positions are sinusoidal and *aligned*: the ``M`` context tokens are placed on the same timeline as the
``N`` generated ones (position ``j N / M``), so a video frame and the audio frames it covers are close.

Example:
    >>> backbone = JointDiT(dim=32, depth=2, heads=4)
    >>> x, y, c = torch.randn(2, 16, 32), torch.randn(2, 4, 32), torch.randn(2, 32)
    >>> backbone(x, y, c).shape
    torch.Size([2, 16, 32])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError

__all__ = ["FinalLayer", "JointDiT", "JointDiTBlock", "TimestepEmbedder", "aligned_positions"]


def aligned_positions(length: int, dim: int, span: int | None = None) -> torch.Tensor:
    """Sinusoidal codes ``[length, dim]`` for ``length`` tokens spread evenly over ``span`` positions.

    Args:
        length: tokens to place.
        dim: code width (even).
        span: timeline length in positions (default ``length``: one position per token).
    """
    if dim % 2:
        raise UsageError(f"aligned positions need an even dim, got {dim}")
    scale = (span or length) / length
    pos = (torch.arange(length, dtype=torch.float32) * scale)[:, None]  # [L, 1]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))  # [D/2]
    return torch.cat([torch.sin(pos * freq), torch.cos(pos * freq)], dim=1)  # [L, D]


class TimestepEmbedder(nn.Module):
    """Flow time ``t [B]`` in [0, 1] to a vector ``[B, D]``: sinusoidal code of ``1000 t`` then an MLP."""

    def __init__(self, dim: int, frequency_dim: int = 64) -> None:
        super().__init__()
        self.frequency_dim = frequency_dim
        self.mlp = nn.Sequential(nn.Linear(frequency_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """Embed ``t [B]`` to ``[B, D]``."""
        half = self.frequency_dim // 2
        freq = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        angles = 1000.0 * t.float()[:, None] * freq[None]  # [B, F/2]
        return self.mlp(torch.cat([torch.cos(angles), torch.sin(angles)], dim=1))


def _modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``x (1 + scale) + shift`` with conditioning ``[B, D]`` or per-token ``[B, N, D]``."""
    if shift.ndim == 2:
        shift, scale = shift[:, None], scale[:, None]
    return x * (1 + scale) + shift


def _gate(gate: torch.Tensor) -> torch.Tensor:
    return gate[:, None] if gate.ndim == 2 else gate


class _Stream(nn.Module):
    """One stream's weights in a joint block: adaLN, q/k/v, output projection and MLP."""

    def __init__(self, dim: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        projection = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(projection.weight)
        nn.init.zeros_(projection.bias)
        self.ada = nn.Sequential(nn.SiLU(), projection)

    def modulation(self, condition: torch.Tensor) -> list[torch.Tensor]:
        """Shift, scale, gate of attention then of the MLP, each shaped like ``condition``."""
        return list(self.ada(condition).chunk(6, dim=-1))


class JointDiTBlock(nn.Module):
    """One MM-DiT block: per-stream adaLN-Zero, attention over both streams together, per-stream MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        if dim % heads:
            raise UsageError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.x_stream = _Stream(dim, mlp_ratio)
        self.y_stream = _Stream(dim, mlp_ratio)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        return t.unflatten(-1, (self.heads, -1)).transpose(1, 2)  # [B, H, L, D/H]

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        x_condition: torch.Tensor,
        y_condition: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Update both streams.

        Args:
            x: generated tokens ``[B, N, D]``.
            y: context tokens ``[B, M, D]`` (``M`` may be 0).
            x_condition: ``[B, D]`` or per token ``[B, N, D]``.
            y_condition: ``[B, D]``.
            mask: ``bool [N + M, N + M]``, True where a query (row) may see a key (column); None: all.

        Returns:
            ``(x [B, N, D], y [B, M, D])``.
        """
        n = x.shape[1]
        xs, xc, xg, xs2, xc2, xg2 = self.x_stream.modulation(x_condition)
        ys, yc, yg, ys2, yc2, yg2 = self.y_stream.modulation(y_condition)
        qkv = torch.cat(
            [
                self.x_stream.qkv(_modulate(self.x_stream.norm1(x), xs, xc)),
                self.y_stream.qkv(_modulate(self.y_stream.norm1(y), ys, yc)),
            ],
            dim=1,
        )  # [B, N+M, 3D]
        q, k, v = (self._heads(part) for part in qkv.chunk(3, dim=-1))
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # [B, H, N+M, D/H]
        attended = attended.transpose(1, 2).flatten(2)  # [B, N+M, D]
        x = x + _gate(xg) * self.x_stream.out(attended[:, :n])
        y = y + _gate(yg) * self.y_stream.out(attended[:, n:])
        x = x + _gate(xg2) * self.x_stream.mlp(_modulate(self.x_stream.norm2(x), xs2, xc2))
        y = y + _gate(yg2) * self.y_stream.mlp(_modulate(self.y_stream.norm2(y), ys2, yc2))
        return x, y


class FinalLayer(nn.Module):
    """adaLN then a zero-initialised projection ``[B, N, D] -> [B, N, out_dim]``."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        projection = nn.Linear(dim, 2 * dim)
        self.ada = nn.Sequential(nn.SiLU(), projection)
        self.proj = nn.Linear(dim, out_dim)
        for layer in (projection, self.proj):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Project ``x [B, N, D]`` under ``condition [B, D]`` or ``[B, N, D]``."""
        shift, scale = self.ada(condition).chunk(2, dim=-1)
        return self.proj(_modulate(self.norm(x), shift, scale))


class JointDiT(nn.Module):
    """A stack of :class:`JointDiTBlock` with aligned positions and an optional causal mask.

    The backbone works on width-``D`` tokens; a model adds its own input embedding (a linear map of
    latents, or token embeddings) and output head (e.g. :class:`FinalLayer`).

    Args:
        dim: token width ``D``.
        depth: number of blocks.
        heads: attention heads.
        mlp_ratio: MLP hidden width over ``D``.
        causal: generated tokens see only their past (and all context); context never sees them.
    """

    def __init__(
        self, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0, causal: bool = False
    ) -> None:
        super().__init__()
        self.dim, self.causal = dim, causal
        self.blocks = nn.ModuleList([JointDiTBlock(dim, heads, mlp_ratio) for _ in range(depth)])

    def attention_mask(self, n: int, m: int, device: torch.device | None = None) -> torch.Tensor | None:
        """``bool [N + M, N + M]`` for the causal variant (None when not causal)."""
        if not self.causal:
            return None
        mask = torch.ones(n + m, n + m, dtype=torch.bool, device=device)
        mask[:n, :n] = torch.ones(n, n, dtype=torch.bool, device=device).tril()
        mask[n:, :n] = False  # context does not see the generated stream
        return mask

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None,
        condition: torch.Tensor,
        x_condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Run the blocks.

        Args:
            x: generated tokens ``[B, N, D]``.
            y: context tokens ``[B, M, D]`` or None.
            condition: global conditioning ``[B, D]`` (timestep and/or class), used by both streams.
            x_condition: extra per-token conditioning of ``x`` ``[B, N, D]`` (frame-aligned features), added
                to ``condition``.

        Returns:
            ``[B, N, D]``.
        """
        batch, n, dim = x.shape
        y = x.new_zeros(batch, 0, dim) if y is None else y
        m = y.shape[1]
        x = x + aligned_positions(n, dim).to(x)
        if m:
            y = y + aligned_positions(m, dim, span=n).to(y)
        x_cond = condition if x_condition is None else condition[:, None] + x_condition
        mask = self.attention_mask(n, m, x.device)
        for block in self.blocks:
            x, y = block(x, y, x_cond, condition, mask)
        return x
