"""Transformer pieces shared by every encoder and fusion block: attention, MLP, pre-norm blocks, positions.

Shapes: ``B`` batch, ``N`` query tokens, ``S`` key tokens, ``D`` model width, ``H`` heads.
A key mask is ``bool [B, S]`` with ``True`` for keys that take part; every query must keep at least one key.

Example:
    >>> import torch
    >>> block = Block(dim=32, heads=4)
    >>> block(torch.randn(2, 5, 32)).shape
    torch.Size([2, 5, 32])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError

__all__ = ["MLP", "Attention", "Block", "CrossBlock", "sinusoidal_positions"]


def sinusoidal_positions(length: int, dim: int, offset: int = 0) -> torch.Tensor:
    """Return fixed sine/cosine position codes ``float32 [length, dim]`` (Vaswani et al., 2017).

    Args:
        length: number of positions.
        dim: code width (even).
        offset: index of the first position.
    """
    if dim % 2:
        raise UsageError(f"sinusoidal positions need an even dim, got {dim}")
    pos = torch.arange(offset, offset + length, dtype=torch.float32)[:, None]  # [L, 1]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))  # [D/2]
    out = torch.zeros(length, dim)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq)
    return out


class Attention(nn.Module):
    """Multi-head scaled dot-product attention of queries ``x`` over a context (``x`` itself by default)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise UsageError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.dropout = dropout
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, key_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Attend (fused kernel).

        Args:
            x: queries ``[B, N, D]``.
            context: keys and values ``[B, S, D]`` (default ``x``).
            key_mask: ``bool [B, S]``, ``True`` where a key may be attended.

        Returns:
            ``[B, N, D]``.
        """
        q, k, v = self._heads(x, x if context is None else context)
        mask = None if key_mask is None else key_mask[:, None, None, :]  # [B, 1, 1, S]
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)  # [B, H, N, D/H]
        return self.out(y.transpose(1, 2).reshape(x.shape))

    def attend(
        self, x: torch.Tensor, context: torch.Tensor | None = None, key_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`forward`, and also return the attention weights ``[B, H, N, S]``."""
        q, k, v = self._heads(x, x if context is None else context)
        logits = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # [B, H, N, S]
        if key_mask is not None:
            logits = logits.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        weights = logits.softmax(dim=-1)
        y = F.dropout(weights, self.dropout, self.training) @ v  # [B, H, N, D/H]
        return self.out(y.transpose(1, 2).reshape(x.shape)), weights

    def _heads(self, x: torch.Tensor, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, n, d = x.shape
        h = self.heads
        q = self.q(x).view(b, n, h, d // h).transpose(1, 2)  # [B, H, N, D/H]
        k, v = self.kv(ctx).view(b, ctx.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)  # 2 x [B, H, S, D/H]
        return q, k, v


class MLP(nn.Module):
    """Two-layer feed-forward network with GELU: ``[..., D] -> [..., D]``."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply ``fc2(gelu(fc1(x)))``."""
        return self.dropout(self.fc2(F.gelu(self.fc1(x))))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(ln(x))`` then ``x + mlp(ln(x))``, shapes ``[B, N, D]``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, int(dim * mlp_ratio), dropout)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Return ``[B, N, D]``; ``key_mask`` ``bool [B, N]`` hides padded tokens from attention."""
        x = x + self.attn(self.ln1(x), key_mask=key_mask)
        return x + self.mlp(self.ln2(x))


class CrossBlock(nn.Module):
    """Pre-norm cross-attention block: queries ``[B, N, D]`` read a context ``[B, S, D]``, then an MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.ln_q = nn.LayerNorm(dim)
        self.ln_ctx = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, int(dim * mlp_ratio), dropout)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor, key_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Return ``[B, N, D]``; ``key_mask`` ``bool [B, S]`` hides context tokens."""
        x = x + self.attn(self.ln_q(x), self.ln_ctx(context), key_mask=key_mask)
        return x + self.mlp(self.ln2(x))
