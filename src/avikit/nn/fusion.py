"""Audio-visual fusion blocks, each after the method that introduced it.

- :class:`AudioGuidedAttention`: audio picks the sounding region of each frame (Tian et al., "Audio-Visual
  Event Localization in Unconstrained Videos", ECCV 2018).
- :class:`CrossModalAttention`: each modality reads the other with cross-attention.
- :class:`HybridAttentionBlock`: self- plus cross-modal attention in one residual step, and
  :class:`HybridAttentionTransformer`, a stack of them (Tian et al., "Unified Multisensory Perception:
  Weakly-Supervised Audio-Visual Video Parsing", ECCV 2020, the HAN).
- :class:`JointTransformer`: one transformer over the concatenated tokens of both modalities.
- :class:`TPAVI` and :class:`MaskDecoder`, composed in :class:`AudioConditionedMaskDecoder`: temporal
  pixel-wise audio-visual interaction and upsampling to mask logits (Zhou et al., "Audio-Visual
  Segmentation", ECCV 2022, AVSBench).

Shapes: ``a`` audio ``[B, T, D]``; ``v`` visual ``[B, T, D]`` (per step) or ``[B, T, D, h, w]`` (maps).

Example:
    >>> import torch
    >>> a, v = torch.randn(2, 10, 32), torch.randn(2, 10, 32)
    >>> a2, v2 = HybridAttentionTransformer(dim=32, depth=2, heads=4)(a, v)
    >>> a2.shape, v2.shape
    (torch.Size([2, 10, 32]), torch.Size([2, 10, 32]))
    >>> maps = torch.randn(2, 10, 32, 8, 8)
    >>> AudioConditionedMaskDecoder(dim=32, num_classes=1, upsample_steps=2)(maps, a).shape
    torch.Size([2, 10, 1, 32, 32])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.nn.transformer import MLP, Attention, Block, CrossBlock

__all__ = [
    "TPAVI",
    "AudioConditionedMaskDecoder",
    "AudioGuidedAttention",
    "CrossModalAttention",
    "HybridAttentionBlock",
    "HybridAttentionTransformer",
    "JointTransformer",
    "MaskDecoder",
]


class AudioGuidedAttention(nn.Module):
    """Additive attention over the regions of each frame, queried by that step's audio (AVE, 2018).

    ``w = softmax_n(u^T tanh(W_v v_n + W_a a))`` and the output is ``sum_n w_n v_n``.
    """

    def __init__(self, visual_dim: int, audio_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.visual = nn.Linear(visual_dim, hidden)
        self.audio = nn.Linear(audio_dim, hidden)
        self.score = nn.Linear(hidden, 1, bias=False)

    def forward(self, v: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend.

        Args:
            v: region features ``[B, T, N, Dv]`` (e.g. the ``N = h * w`` tokens of each frame).
            a: audio features ``[B, T, Da]``.

        Returns:
            attended visual features ``[B, T, Dv]`` and the weights ``[B, T, N]`` (each row sums to 1).
        """
        hidden = torch.tanh(self.visual(v) + self.audio(a)[:, :, None, :])  # [B, T, N, H]
        weights = self.score(hidden).squeeze(-1).softmax(dim=-1)  # [B, T, N]
        return (weights[..., None] * v).sum(dim=2), weights


class CrossModalAttention(nn.Module):
    """Each modality attends to the other: ``a' = a + attn(a, v)``, ``v' = v + attn(v, a)`` (plus MLPs)."""

    def __init__(self, dim: int, heads: int = 4, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.audio_reads_visual = CrossBlock(dim, heads, mlp_ratio)
        self.visual_reads_audio = CrossBlock(dim, heads, mlp_ratio)

    def forward(
        self, a: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return updated ``(a, v)``, each ``[B, T, D]``; ``key_mask`` ``bool [B, T]`` hides padded steps."""
        return self.audio_reads_visual(a, v, key_mask), self.visual_reads_audio(v, a, key_mask)


class HybridAttentionBlock(nn.Module):
    """HAN step: ``x + self_attn(x) + cross_attn(x, other)`` for both modalities, then an MLP each."""

    def __init__(self, dim: int, heads: int = 4, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.ln_a, self.ln_v = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_a, self.self_v = Attention(dim, heads), Attention(dim, heads)
        self.cross_a, self.cross_v = Attention(dim, heads), Attention(dim, heads)
        self.ln_mlp_a, self.ln_mlp_v = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.mlp_a, self.mlp_v = MLP(dim, int(dim * mlp_ratio)), MLP(dim, int(dim * mlp_ratio))

    def forward(
        self, a: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return updated ``(a, v)``, each ``[B, T, D]``; ``key_mask`` ``bool [B, T]`` hides padded steps."""
        na, nv = self.ln_a(a), self.ln_v(v)
        a = a + self.self_a(na, key_mask=key_mask) + self.cross_a(na, nv, key_mask)  # [B, T, D]
        v = v + self.self_v(nv, key_mask=key_mask) + self.cross_v(nv, na, key_mask)  # [B, T, D]
        return a + self.mlp_a(self.ln_mlp_a(a)), v + self.mlp_v(self.ln_mlp_v(v))


class HybridAttentionTransformer(nn.Module):
    """A stack of :class:`HybridAttentionBlock` with a final norm per modality (HAN, for video parsing)."""

    def __init__(self, dim: int, depth: int = 1, heads: int = 4, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(HybridAttentionBlock(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm_a, self.norm_v = nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(
        self, a: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return fused ``(a, v)``, each ``[B, T, D]``."""
        for block in self.blocks:
            a, v = block(a, v, key_mask)
        return self.norm_a(a), self.norm_v(v)


class JointTransformer(nn.Module):
    """One transformer over ``[a; v]`` with a learned modality embedding: ``[B, Na + Nv, D]`` inside."""

    def __init__(self, dim: int, depth: int = 1, heads: int = 4, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.modality = nn.Parameter(torch.zeros(2, dim))  # [2, D]: audio, visual
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(
        self, a: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fuse ``a [B, Na, D]`` and ``v [B, Nv, D]``; return both parts."""
        x = torch.cat([a + self.modality[0], v + self.modality[1]], dim=1)  # [B, Na + Nv, D]
        for block in self.blocks:
            x = block(x, key_mask)
        x = self.norm(x)
        return x[:, : a.shape[1]], x[:, a.shape[1] :]


class TPAVI(nn.Module):
    """Temporal pixel-wise audio-visual interaction (AVSBench, dot-product form), residual.

    Every pixel ``q`` of every frame queries the audio of every step ``t`` (broadcast over that step's
    pixels): ``y_q = (1/N) sum_{t,p} <theta(v_q), phi(a_t)> g(v_{t,p})`` with ``N = T * h * w``, and the
    output is ``v + BN(W_z y)``. Summing ``g`` over each frame first makes this exact in ``O(N T D)``.
    """

    def __init__(self, dim: int, inner: int | None = None) -> None:
        super().__init__()
        inner = inner or max(dim // 2, 1)
        self.theta = nn.Conv2d(dim, inner, 1)
        self.phi = nn.Linear(dim, inner)
        self.g = nn.Conv2d(dim, inner, 1)
        self.w_z = nn.Sequential(nn.Conv2d(inner, dim, 1), nn.BatchNorm2d(dim))

    def forward(self, v: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fuse.

        Args:
            v: visual maps ``[B, T, D, h, w]``.
            a: audio ``[B, T, D]``.

        Returns:
            fused maps ``[B, T, D, h, w]`` and the same-step audio-visual similarity ``[B, T, h, w]``
            (``<theta(v), phi(a_t)> / sqrt(inner)``, a sound-source localisation map).
        """
        b, t, d, h, w = v.shape
        flat = v.flatten(0, 1)  # [B*T, D, h, w]
        q = self.theta(flat).view(b, t, -1, h * w)  # [B, T, I, h*w]
        g = self.g(flat).view(b, t, -1, h * w).sum(dim=-1)  # [B, T, I]: g summed over each frame
        k = self.phi(a)  # [B, T, I]
        affinity = torch.einsum("bqip,bki->bqpk", q, k)  # [B, T, h*w, T]: query pixel x audio step
        y = torch.einsum("bqpk,bki->bqip", affinity, g) / (t * h * w)  # [B, T, I, h*w]
        z = self.w_z(y.reshape(b * t, -1, h, w)).view(b, t, d, h, w)
        same = affinity.diagonal(dim1=1, dim2=3).permute(0, 2, 1)  # [B, T, h*w]
        return v + z, same.reshape(b, t, h, w) / math.sqrt(q.shape[2])


class MaskDecoder(nn.Module):
    """Upsampling decoder: maps ``[B, T, D, h, w] -> `` mask logits ``[B, T, K, h * 2**s, w * 2**s]``."""

    def __init__(self, dim: int, num_classes: int = 1, upsample_steps: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = dim
        for _ in range(upsample_steps):
            out = max(width // 2, 8)
            layers += [
                nn.Upsample(scale_factor=2, mode="bilinear"),
                nn.Conv2d(width, out, 3, padding=1),
                nn.GELU(),
            ]
            width = out
        self.up = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """Return logits ``[B, T, K, h * 2**s, w * 2**s]`` (resize them to the frame size if needed)."""
        b, t = maps.shape[:2]
        x = self.head(self.up(maps.flatten(0, 1)))  # [B*T, K, H', W']
        return x.view(b, t, *x.shape[1:])


class AudioConditionedMaskDecoder(nn.Module):
    """TPAVI fusion of audio into visual maps, then a :class:`MaskDecoder` (AVSBench-style mask head)."""

    def __init__(self, dim: int, num_classes: int = 1, upsample_steps: int = 2) -> None:
        super().__init__()
        self.fusion = TPAVI(dim)
        self.decoder = MaskDecoder(dim, num_classes, upsample_steps)

    def forward(
        self, maps: torch.Tensor, a: torch.Tensor, size: tuple[int, int] | None = None
    ) -> torch.Tensor:
        """Mask logits ``[B, T, K, H', W']`` from maps ``[B, T, D, h, w]`` and audio ``[B, T, D]``.

        ``size``: resize the logits bilinearly to ``(H, W)`` (e.g. the frame size).
        """
        fused, _ = self.fusion(maps, a)
        logits = self.decoder(fused)  # [B, T, K, H', W']
        if size is None:
            return logits
        b, t = logits.shape[:2]
        out = F.interpolate(logits.flatten(0, 1), size=size, mode="bilinear", align_corners=False)
        return out.view(b, t, *out.shape[1:])
