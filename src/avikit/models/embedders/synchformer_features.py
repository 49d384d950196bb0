"""Synchformer's segment feature extractors: Motionformer for video, AST for audio, each with its aggregation.

Both read the official checkpoint (``synchformer_state_dict.pth``) under its own key names, the
``vfeat_extractor.*`` and ``afeat_extractor.*`` halves, as av-benchmark 050a5cdb9b builds them
(``av_bench/synchformer/{motionformer,video_model_builder,vit_helper,ast}.py``, ``hf_src/modeling_ast.py``).

- :class:`MotionformerFeatures`: ViT-B/16 with divided space-time attention (Motionformer's
  ``divided_224_16x4`` config) over a 16-frame, 224 px segment cut into 2 x 16 x 16 tubelets
  (8 x 14 x 14 tokens + CLS). Each block attends over time (``timeattn``, pre-norm ``norm3``), then over space
  (``attn``, ``norm1``), then runs its MLP (``norm2``); the CLS token attends to every token and is the first
  key of every time and space group. After the final norm, ``spatial_attn_agg`` pools each of the 8 frames'
  196 tokens into one: ``[B, S, 16, 3, 224, 224]`` -> ``[B, S, 8, 768]``. The image patch embedding
  ``patch_embed`` is in the checkpoint but unused (tokens come from ``patch_embed_3d``).
- :class:`ASTFeatures`: the Audio Spectrogram Transformer (HF ``ASTModel``, 12 layers, 16 x 16 patches with
  stride 10, CLS and distillation tokens, LayerNorm eps 1e-12) over a 128 mel x 66 frame segment
  (12 x 6 patches), then ``freq_attn_agg`` pools each time column's 12 bands:
  ``[B, S, 1, 128, 66]`` -> ``[B, S, 6, 768]``.

The aggregation layers are torch ``nn.TransformerEncoderLayer`` (pre-norm, GELU, eps 1e-6) with a learned CLS
token in front, whose output they keep (``BaseEncoderLayer`` upstream); their keys are torch's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.models.embedders.base import TimmMlp

__all__ = ["ASTFeatures", "ASTFeaturesConfig", "MotionformerConfig", "MotionformerFeatures", "attend"]


@dataclass(frozen=True)
class MotionformerConfig:
    """Motionformer sizes; the defaults are Synchformer's (``divided_224_16x4``, ViT-B/16)."""

    dim: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: int = 4
    image_size: int = 224
    patch_size: int = 16
    tubelet: int = 2
    tokens: int = 8

    @property
    def grid(self) -> int:
        """Patches per side (14)."""
        return self.image_size // self.patch_size

    @property
    def frames(self) -> int:
        """Frames per segment (16): ``tokens`` temporal positions of ``tubelet`` frames."""
        return self.tokens * self.tubelet


@dataclass(frozen=True)
class ASTFeaturesConfig:
    """AST sizes; the defaults are Synchformer's (HF ``ASTConfig`` with ``max_length=66``)."""

    dim: int = 768
    depth: int = 12
    heads: int = 12
    hidden: int = 3072
    mel_bins: int = 128
    frames: int = 66
    patch_size: int = 16
    stride: int = 10

    @property
    def bands(self) -> int:
        """Patch rows along frequency (12)."""
        return (self.mel_bins - self.patch_size) // self.stride + 1

    @property
    def tokens(self) -> int:
        """Patch columns along time (6): the tokens per segment after frequency aggregation."""
        return (self.frames - self.patch_size) // self.stride + 1


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head softmax attention ``[N, Lq, D], [N, Lk, D] -> [N, Lq, D]``, scale ``sqrt(heads / D)``."""
    split = lambda t: t.unflatten(-1, (heads, -1)).transpose(1, 2)  # noqa: E731  [N, h, L, d]
    return F.scaled_dot_product_attention(split(q), split(k), split(v)).transpose(1, 2).flatten(2)


class _PackedAttention(nn.Module):
    """``nn.MultiheadAttention``'s parameters (``in_proj_weight``, ``in_proj_bias``, ``out_proj``)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.in_proj_weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(3 * dim, dim)))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        self.heads = heads


class _ClsPool(nn.Module):
    """CLS token + one pre-norm ``nn.TransformerEncoderLayer`` (GELU, eps 1e-6); returns the CLS output.

    Only the CLS row of the layer's output is kept, so only the CLS query is computed (same result).
    """

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.self_attn = _PackedAttention(dim, heads)
        self.linear1, self.linear2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, L, D]`` -> ``[N, D]``."""
        x = torch.cat([self.cls_token.expand(len(x), -1, -1), x], dim=1)  # [N, 1 + L, D]
        attn = self.self_attn
        q, k, v = F.linear(self.norm1(x), attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
        cls = x[:, :1] + attn.out_proj(attend(q[:, :1], k, v, attn.heads))  # [N, 1, D]
        cls = cls + self.linear2(F.gelu(self.linear1(self.norm2(cls))))
        return cls[:, 0]


# ------------------------------------------------------------------------------------------ video


class _DividedAttention(nn.Module):
    """Motionformer's divided attention over ``[B, 1 + F * N, D]`` (CLS, then F frames of N patches)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.qkv, self.proj, self.heads = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim), heads

    def forward(self, x: torch.Tensor, frames: int, over_time: bool) -> torch.Tensor:
        """Each patch attends to CLS and the patches of its frame (space) or its position (time)."""
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        cls = attend(q[:, :1], k, v, self.heads)  # [B, 1, D]: CLS attends to every token

        def group(t: torch.Tensor) -> torch.Tensor:  # [B, F * N, D] -> [B * G, len, D]
            t = t.reshape(batch, frames, -1, dim)  # [B, F, N, D]
            return (t.transpose(1, 2) if over_time else t).flatten(0, 1)

        q_, k_, v_ = group(q[:, 1:]), group(k[:, 1:]), group(v[:, 1:])
        count = len(q_) // batch
        k_ = torch.cat([k[:, :1].repeat_interleave(count, dim=0), k_], dim=1)
        v_ = torch.cat([v[:, :1].repeat_interleave(count, dim=0), v_], dim=1)
        out = attend(q_, k_, v_, self.heads).reshape(batch, count, -1, dim)  # [B, G, len, D]
        out = (out.transpose(1, 2) if over_time else out).reshape(batch, length - 1, dim)
        return self.proj(torch.cat([cls, out], dim=1))


class _DividedBlock(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(dim, eps=1e-6) for _ in range(3))
        self.attn, self.timeattn = _DividedAttention(dim, heads), _DividedAttention(dim, heads)
        self.mlp = TimmMlp(dim, hidden)

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        x = x + self.timeattn(self.norm3(x), frames, over_time=True)
        x = x + self.attn(self.norm1(x), frames, over_time=False)
        return x + self.mlp(self.norm2(x))


class _PatchEmbed(nn.Module):
    def __init__(self, proj: nn.Module) -> None:
        super().__init__()
        self.proj = proj


class MotionformerFeatures(nn.Module):
    """Video segments ``[B, S, 16, 3, 224, 224]`` in ``[-1, 1]`` -> segment features ``[B, S, 8, 768]``."""

    def __init__(self, cfg: MotionformerConfig) -> None:
        super().__init__()
        self.cfg, dim, patch = cfg, cfg.dim, cfg.patch_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.grid**2 + 1, dim))
        self.temp_embed = nn.Parameter(torch.zeros(1, cfg.tokens, dim))
        self.patch_embed = _PatchEmbed(nn.Conv2d(3, dim, patch, patch))  # in the checkpoint, unused
        tubelet = (cfg.tubelet, patch, patch)
        self.patch_embed_3d = _PatchEmbed(nn.Conv3d(3, dim, tubelet, tubelet))
        hidden = cfg.mlp_ratio * dim
        self.blocks = nn.ModuleList(_DividedBlock(dim, cfg.heads, hidden) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.spatial_attn_agg = _ClsPool(dim, cfg.heads, hidden)

    def embed_patches(self, segments: torch.Tensor) -> torch.Tensor:
        """``[N, T, 3, H, W]`` -> tubelet tokens ``[N, t * h * w, D]``, frame-major."""
        return self.patch_embed_3d.proj(segments.transpose(1, 2)).flatten(2).transpose(1, 2)

    def forward(self, segments: torch.Tensor) -> torch.Tensor:
        """``[B, S, T, 3, H, W]`` -> ``[B, S, t, D]`` (``t = T / tubelet``)."""
        cfg = self.cfg
        want = (cfg.frames, 3, cfg.image_size, cfg.image_size)
        if segments.ndim != 6 or tuple(segments.shape[2:]) != want:
            raise UsageError(
                f"Motionformer needs video segments [B, S, {', '.join(map(str, want))}], got "
                f"{list(segments.shape)}; make them with synchformer_video_input"
            )
        batch, count = segments.shape[:2]
        x = self.embed_patches(segments.flatten(0, 1))  # [BS, t * h * w, D]
        spatial, cls_pos = self.pos_embed[:, 1:], self.pos_embed[:, :1]
        pos = spatial.repeat(1, cfg.tokens, 1) + self.temp_embed.repeat_interleave(cfg.grid**2, dim=1)
        x = torch.cat([(self.cls_token + cls_pos).expand(len(x), -1, -1), x + pos], dim=1)
        for block in self.blocks:
            x = block(x, cfg.tokens)
        x = self.norm(x[:, 1:]).reshape(batch * count * cfg.tokens, cfg.grid**2, cfg.dim)  # a frame per row
        return self.spatial_attn_agg(x).reshape(batch, count, cfg.tokens, cfg.dim)


# ------------------------------------------------------------------------------------------ audio


class _Dense(nn.Module):
    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.dense = nn.Linear(dim_in, dim_out)


class _ASTSelfAttention(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)


class _ASTAttention(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.attention, self.output = _ASTSelfAttention(dim), _Dense(dim, dim)


class _ASTLayer(nn.Module):
    """HF ``ASTLayer``: pre-norm attention and MLP, LayerNorm eps 1e-12."""

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.attention = _ASTAttention(dim)
        self.intermediate, self.output = _Dense(dim, hidden), _Dense(hidden, dim)
        self.layernorm_before, self.layernorm_after = (
            nn.LayerNorm(dim, eps=1e-12),
            nn.LayerNorm(dim, eps=1e-12),
        )
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv, h = self.attention.attention, self.layernorm_before(x)
        x = x + self.attention.output.dense(attend(qkv.query(h), qkv.key(h), qkv.value(h), self.heads))
        return x + self.output.dense(F.gelu(self.intermediate.dense(self.layernorm_after(x))))


class _ASTPatchEmbeddings(nn.Module):
    def __init__(self, projection: nn.Conv2d) -> None:
        super().__init__()
        self.projection = projection


class _ASTEmbeddings(nn.Module):
    def __init__(self, cfg: ASTFeaturesConfig) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.distillation_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.position_embeddings = nn.Parameter(torch.zeros(1, cfg.bands * cfg.tokens + 2, cfg.dim))
        self.patch_embeddings = _ASTPatchEmbeddings(nn.Conv2d(1, cfg.dim, cfg.patch_size, cfg.stride))


class _ASTEncoder(nn.Module):
    def __init__(self, cfg: ASTFeaturesConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_ASTLayer(cfg.dim, cfg.heads, cfg.hidden) for _ in range(cfg.depth))


class _ASTTrunk(nn.Module):
    """HF ``ASTModel`` (``embeddings``, ``encoder``, ``layernorm``): ``[N, 1, F, T]`` -> ``[N, L, D]``."""

    def __init__(self, cfg: ASTFeaturesConfig) -> None:
        super().__init__()
        self.embeddings, self.encoder = _ASTEmbeddings(cfg), _ASTEncoder(cfg)
        self.layernorm = nn.LayerNorm(cfg.dim, eps=1e-12)

    def embed_patches(self, mel: torch.Tensor) -> torch.Tensor:
        """``[N, 1, F, T]`` -> overlapping patch tokens ``[N, f * t, D]``, frequency-major."""
        return self.embeddings.patch_embeddings.projection(mel).flatten(2).transpose(1, 2)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        emb = self.embeddings
        x = self.embed_patches(mel)
        special = torch.cat([emb.cls_token, emb.distillation_token], dim=1).expand(len(x), -1, -1)
        x = torch.cat([special, x], dim=1) + emb.position_embeddings
        for layer in self.encoder.layer:
            x = layer(x)
        return self.layernorm(x)


class ASTFeatures(nn.Module):
    """Log-mel segments ``[B, S, 1, 128, 66]`` -> segment features ``[B, S, 6, 768]``."""

    def __init__(self, cfg: ASTFeaturesConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.ast = _ASTTrunk(cfg)
        self.freq_attn_agg = _ClsPool(cfg.dim, cfg.heads, cfg.hidden)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``[B, S, 1, F, T]`` -> ``[B, S, t, D]``: each time column's bands pooled into one token."""
        cfg = self.cfg
        want = (1, cfg.mel_bins, cfg.frames)
        if mel.ndim != 5 or tuple(mel.shape[2:]) != want:
            raise UsageError(
                f"AST needs log-mel segments [B, S, {', '.join(map(str, want))}], got {list(mel.shape)}; "
                "make them with synchformer_audio_input"
            )
        batch, count = mel.shape[:2]
        x = self.ast(mel.flatten(0, 1))[:, 2:]  # [BS, f * t, D] without CLS and distillation tokens
        x = x.reshape(batch * count, cfg.bands, cfg.tokens, cfg.dim).transpose(1, 2)  # [BS, t, f, D]
        return self.freq_attn_agg(x.flatten(0, 1)).reshape(batch, count, cfg.tokens, cfg.dim)
