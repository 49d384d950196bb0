"""The joint audio-visual encoder every task head reuses: config, blocks, model and ``from_pretrained``.

Audio (log-Mel time patches) and vision (per-frame ViT patches) are encoded separately, pooled to one-second
segments, given temporal context, then fused by hybrid attention (HAN). For pretraining without labels
(:mod:`avikit.train.pretrain`, after CAV-MAE, Gong et al., ICLR 2023) the encoder also carries contrastive
heads and small masked-reconstruction decoders (:meth:`AVJointEncoder.pretrain_losses`).

File order: config dataclass, blocks, model, builder and ``from_pretrained``.

Example:
    >>> import torch
    >>> cfg = AVEncoderConfig(n_mels=32, patch_size=16, dim=32, heads=2, embed_dim=16)
    >>> model = build_av_encoder(cfg)
    >>> mel, frames = torch.randn(2, 32, 401), torch.rand(2, 4, 3, 64, 64)  # 4 s, one frame per second
    >>> features = model.encode(mel, frames)
    >>> features.audio_segments.shape, features.visual_maps.shape, features.audio_embedding.shape
    (torch.Size([2, 4, 32]), torch.Size([2, 4, 32, 4, 4]), torch.Size([2, 16]))
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from avikit.errors import UsageError
from avikit.models.packaged import WEIGHTS_DIR
from avikit.nn import (
    AudioEncoder,
    Block,
    HybridAttentionTransformer,
    LogMel,
    TemporalTransformer,
    VisualEncoder,
    info_nce,
    masked_reconstruction_loss,
    normalize_spectrogram,
    patchify_frames,
    patchify_spectrogram,
    random_masking,
    segment_info_nce,
    unmask,
)
from avikit.nn import from_pretrained as _load_pretrained

__all__ = [
    "KIND",
    "WEIGHTS_DIR",
    "AVEncoderConfig",
    "AVFeatures",
    "AVJointEncoder",
    "MaskedDecoder",
    "build_av_encoder",
    "from_pretrained",
]

KIND = "avikit.pretrain.av_encoder"
"""The model kind written into ``config.json`` and checked by :func:`from_pretrained`."""


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class AVEncoderConfig:
    """Sizes of the joint encoder, fit to AVSynth: 16 kHz audio, 128 px frames seen at 64 px, 1 s segments."""

    sample_rate: int = 16000
    n_mels: int = 64
    hop_length: int = 160
    patch_frames: int = 10
    image_size: int = 64
    patch_size: int = 8
    frames_per_segment: int = 1
    dim: int = 64
    heads: int = 4
    audio_depth: int = 2
    visual_depth: int = 2
    temporal_depth: int = 1
    joint_depth: int = 1
    embed_dim: int = 64
    decoder_dim: int = 64
    decoder_depth: int = 1


# ----------------------------------------------------------------------------------------------- blocks


class MaskedDecoder(nn.Module):
    """MAE decoder over groups of tokens: visible tokens plus mask tokens, a context token, patch predictions.

    Works on ``[B, G, ., D]`` groups (audio: the tokens of each segment; vision: the patches of each frame);
    attention stays inside a group, whose context (a fused segment token) is added to all its tokens.
    """

    def __init__(
        self, dim: int, decoder_dim: int, depth: int, heads: int, group_size: int, out_dim: int
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(dim, decoder_dim)
        self.context = nn.Linear(dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(decoder_dim))
        self.pos = nn.Parameter(torch.randn(group_size, decoder_dim) * 0.02)  # [N, Dd]
        self.blocks = nn.ModuleList(Block(decoder_dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(decoder_dim)
        self.head = nn.Linear(decoder_dim, out_dim)

    def forward(self, visible: torch.Tensor, restore: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Predict every patch.

        Args:
            visible: encoded visible tokens ``[B, G, K, D]``.
            restore: ``long [B, G, N]`` from :func:`~avikit.nn.random_masking`.
            context: one token per group ``[B, G, D]``.

        Returns:
            predicted patches ``[B, G, N, out_dim]``.
        """
        x = unmask(self.embed(visible), restore, self.mask_token)  # [B, G, N, Dd]
        x = x + self.pos + self.context(context)[:, :, None, :]
        b, g, n, d = x.shape
        x = x.reshape(b * g, n, d)  # [B*G, N, Dd]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)).view(b, g, n, -1)


@dataclass
class AVFeatures:
    """What the encoder gives a task head (``S`` segments, ``T`` frames, ``h x w`` patch grid).

    Attributes:
        audio_tokens: ``[B, S * n, D]`` audio tokens (``n`` per segment).
        visual_maps: ``[B, T, D, h, w]`` per-frame feature maps.
        audio_segments: ``[B, S, D]`` audio segment features with temporal context.
        visual_segments: ``[B, S, D]`` visual segment features with temporal context.
        joint_audio: ``[B, S, D]`` audio segments after audio-visual fusion.
        joint_visual: ``[B, S, D]`` visual segments after audio-visual fusion.
        audio_embedding: ``[B, E]`` clip embedding in the shared audio-visual space.
        visual_embedding: ``[B, E]`` clip embedding in the shared audio-visual space.
    """

    audio_tokens: torch.Tensor
    visual_maps: torch.Tensor
    audio_segments: torch.Tensor
    visual_segments: torch.Tensor
    joint_audio: torch.Tensor
    joint_visual: torch.Tensor
    audio_embedding: torch.Tensor
    visual_embedding: torch.Tensor


# ------------------------------------------------------------------------------------------------ model


class AVJointEncoder(nn.Module):
    """Audio and visual encoders, temporal models, HAN fusion, contrastive heads and MAE decoders."""

    def __init__(
        self,
        frontend: LogMel,
        audio: AudioEncoder,
        visual: VisualEncoder,
        audio_temporal: TemporalTransformer,
        visual_temporal: TemporalTransformer,
        joint: HybridAttentionTransformer,
        audio_head: nn.Module,
        visual_head: nn.Module,
        audio_decoder: MaskedDecoder,
        visual_decoder: MaskedDecoder,
        frames_per_segment: int = 1,
    ) -> None:
        super().__init__()
        self.frontend = frontend
        self.audio, self.visual = audio, visual
        self.audio_temporal, self.visual_temporal = audio_temporal, visual_temporal
        self.joint = joint
        self.audio_head, self.visual_head = audio_head, visual_head
        self.audio_decoder, self.visual_decoder = audio_decoder, visual_decoder
        self.frames_per_segment = frames_per_segment

    @property
    def sample_rate(self) -> int:
        """Audio sample rate the front end expects."""
        return self.frontend.sample_rate

    def _segment_tokens(self, mel: torch.Tensor, num_segments: int) -> torch.Tensor:
        a = self.audio.embed(mel)  # [B, Sa, D]
        n = a.shape[1] // num_segments
        if n < 1:
            raise UsageError(
                f"{a.shape[1]} audio tokens cannot cover {num_segments} segments; pass more audio"
            )
        return a[:, : num_segments * n].reshape(a.shape[0], num_segments, n, -1)  # [B, S, n, D]

    def _num_segments(self, frames: torch.Tensor) -> int:
        if frames.ndim != 5 or frames.shape[1] % self.frames_per_segment:
            raise UsageError(
                f"frames [B, T, C, H, W] need T a multiple of frames_per_segment={self.frames_per_segment}, "
                f"got {list(frames.shape)}"
            )
        return frames.shape[1] // self.frames_per_segment

    def _context(self, a_enc: torch.Tensor, v_enc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, s = a_enc.shape[:2]
        a_seg = self.audio_temporal(a_enc.mean(dim=2))  # [B, S, D]
        v_frames = v_enc.amax(dim=2)  # [B, T, D]: max over patches keeps small objects in view
        v_seg = self.visual_temporal(
            v_frames.view(b, s, self.frames_per_segment, -1).mean(dim=2)
        )  # [B, S, D]
        return a_seg, v_seg

    def encode(self, mel: torch.Tensor, frames: torch.Tensor) -> AVFeatures:
        """Encode a batch without masking.

        Args:
            mel: log-Mel ``[B, M, T_mel]`` (see :attr:`frontend` to make it from a waveform).
            frames: ``[B, T, C, H, W]`` floats in ``[0, 1]``, ``frames_per_segment`` frames per segment.
        """
        s = self._num_segments(frames)
        a_enc = self.audio.transform(self._segment_tokens(mel, s).flatten(1, 2))  # [B, S*n, D]
        a_enc = a_enc.view(a_enc.shape[0], s, -1, a_enc.shape[-1])  # [B, S, n, D]
        v_enc = self.visual(frames)  # [B, T, P, D]
        a_seg, v_seg = self._context(a_enc, v_enc)
        a_joint, v_joint = self.joint(a_seg, v_seg)  # [B, S, D] each
        return AVFeatures(
            audio_tokens=a_enc.flatten(1, 2),
            visual_maps=self.visual.to_maps(v_enc),
            audio_segments=a_seg,
            visual_segments=v_seg,
            joint_audio=a_joint,
            joint_visual=v_joint,
            audio_embedding=self.audio_head(a_seg).mean(dim=1),
            visual_embedding=self.visual_head(v_seg).mean(dim=1),
        )

    def pretrain_losses(
        self,
        mel: torch.Tensor,
        frames: torch.Tensor,
        temperature: float,
        audio_mask_ratio: float,
        visual_mask_ratio: float,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """One masked pass (as CAV-MAE): contrastive losses on the visible tokens, reconstruction of the rest.

        Args:
            mel: log-Mel ``[B, M, T_mel]``.
            frames: ``[B, T, C, H, W]`` floats in ``[0, 1]``.
            temperature: InfoNCE temperature.
            audio_mask_ratio: share of audio tokens hidden in every segment.
            visual_mask_ratio: share of patches hidden in every frame.
            generator: random source of the masks.

        Returns:
            ``clip_nce``, ``segment_nce``, ``audio_mae`` and ``visual_mae`` (scalars).
        """
        s = self._num_segments(frames)
        a_vis, a_mask, a_restore = random_masking(self._segment_tokens(mel, s), audio_mask_ratio, generator)
        b, _, k, d = a_vis.shape
        a_enc = self.audio.transform(a_vis.flatten(1, 2)).view(b, s, k, d)  # [B, S, k, D]
        v_vis, v_mask, v_restore = random_masking(self.visual.embed(frames), visual_mask_ratio, generator)
        v_enc = self.visual.transform(v_vis)  # [B, T, kv, D]
        a_seg, v_seg = self._context(a_enc, v_enc)  # [B, S, D] each
        a_emb, v_emb = self.audio_head(a_seg), self.visual_head(v_seg)  # [B, S, E] each
        a_joint, v_joint = self.joint(a_seg, v_seg)  # [B, S, D] each
        a_pred = self.audio_decoder(a_enc, a_restore, a_joint)  # [B, S, n, M*p]
        v_pred = self.visual_decoder(v_enc, v_restore, v_joint.repeat_interleave(self.frames_per_segment, 1))
        a_target = patchify_spectrogram(normalize_spectrogram(mel), self.audio.patch_frames)  # [B, Sa, M*p]
        a_target = a_target[:, : a_mask[0].numel()].reshape(a_pred.shape)  # [B, S, n, M*p]
        v_target = patchify_frames(frames, self.visual.patch_size)  # [B, T, P, p*p*C]
        return {
            "clip_nce": info_nce(a_emb.mean(dim=1), v_emb.mean(dim=1), temperature),
            "segment_nce": segment_info_nce(a_emb, v_emb, temperature),
            "audio_mae": _reconstruction(a_pred, a_target, a_mask),
            "visual_mae": _reconstruction(v_pred, v_target, v_mask),
        }


def _reconstruction(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if not bool(mask.any()):  # a mask ratio of 0 hides nothing: no reconstruction term
        return prediction.sum() * 0.0
    return masked_reconstruction_loss(prediction, target, mask)


def build_av_encoder(cfg: AVEncoderConfig) -> AVJointEncoder:
    """Build an :class:`AVJointEncoder` from its config (the only place a config becomes modules)."""
    d, h = cfg.dim, cfg.heads
    frontend = LogMel(cfg.sample_rate, cfg.n_mels, hop_length=cfg.hop_length)
    audio = AudioEncoder(cfg.n_mels, cfg.patch_frames, d, cfg.audio_depth, h, frame_rate=frontend.frame_rate)
    visual = VisualEncoder(cfg.image_size, cfg.patch_size, 3, d, cfg.visual_depth, h)
    mel_patch = cfg.n_mels * cfg.patch_frames
    audio_decoder = MaskedDecoder(
        d, cfg.decoder_dim, cfg.decoder_depth, h, _tokens_per_segment(cfg), mel_patch
    )
    pixels = cfg.patch_size * cfg.patch_size * 3
    visual_decoder = MaskedDecoder(d, cfg.decoder_dim, cfg.decoder_depth, h, visual.num_patches, pixels)
    return AVJointEncoder(
        frontend=frontend,
        audio=audio,
        visual=visual,
        audio_temporal=TemporalTransformer(d, cfg.temporal_depth, h),
        visual_temporal=TemporalTransformer(d, cfg.temporal_depth, h),
        joint=HybridAttentionTransformer(d, cfg.joint_depth, h),
        audio_head=nn.Linear(d, cfg.embed_dim),
        visual_head=nn.Linear(d, cfg.embed_dim),
        audio_decoder=audio_decoder,
        visual_decoder=visual_decoder,
        frames_per_segment=cfg.frames_per_segment,
    )


def _tokens_per_segment(cfg: AVEncoderConfig) -> int:
    frames_per_second = cfg.sample_rate / cfg.hop_length
    return int(frames_per_second // cfg.patch_frames)


def from_pretrained(name_or_path: str | os.PathLike[str], revision: str | None = None) -> AVJointEncoder:
    """Load a pretrained encoder from a local folder, a packaged weights name or a hub id (eval mode)."""
    model, _ = _load_pretrained(
        name_or_path, AVEncoderConfig, build_av_encoder, KIND, [WEIGHTS_DIR], revision
    )
    return model
