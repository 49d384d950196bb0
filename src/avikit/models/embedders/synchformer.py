"""Synchformer (Iashin et al. 2024), the audio-visual offset classifier av-benchmark uses for DeSync.

Synchformer = :class:`~avikit.models.embedders.synchformer_features.MotionformerFeatures` (video segments ->
8 tokens each), :class:`~avikit.models.embedders.synchformer_features.ASTFeatures` (log-mel segments -> 6
tokens each) and :class:`SynchformerHead`: linear projections ``vproj``/``aproj``, then a 3-layer, 8-head,
768-wide transformer over ``[OFF, video tokens, MOD, audio tokens]`` with a learned positional embedding of
198 positions (1 + 14 x 8 + 1 + 14 x 6) and ``off_head``, 21 logits for the offsets ``linspace(-2, 2, 21)`` s.
:func:`load_synchformer` builds the whole model from the official checkpoint
(``synchformer_state_dict.pth``, the AudioSet model ``24-01-04T16-39-21`` as MMAudio re-saved it;
av-benchmark loads it strictly) under its own key names: ``vfeat_extractor.*``, ``afeat_extractor.*``,
``vproj``, ``aproj``, ``transformer.{vis_in_lnorm, aud_in_lnorm, OFF_tok, MOD_tok, pos_emb_cfg.pos_emb,
blocks.i.{ln1, ln2, attn.{query,key,value,proj}, mlp.{0,2}}, ln_f, off_head}``.
:func:`load_synchformer_head` loads the head alone, for cached features.

:class:`SynchformerEmbedder` goes from an :class:`~avikit.media.AVClip` to the logits of the two windows
av-benchmark scores; :func:`avikit.metrics.generation.evaluate_desync` turns those into DeSync. Preprocessing
is pinned from av-benchmark 050a5cdb9b (``extract.py::encode_audio_with_sync``, ``extract_video.py``,
``data/{audio,video}_dataset.py``, ``evaluate.py``) in
:data:`avikit.metrics.generation.SYNCHFORMER_PREPROCESSING`, the one source of those values.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.media import AVClip
from avikit.media.mel import mel_filterbank
from avikit.metrics.generation import SYNCHFORMER_PREPROCESSING
from avikit.models.embedders.base import load_checkpoint_state, load_state_strict
from avikit.models.embedders.hub import WEIGHTS, resolve_weights
from avikit.models.embedders.synchformer_features import (
    ASTFeatures,
    ASTFeaturesConfig,
    MotionformerConfig,
    MotionformerFeatures,
)

__all__ = [
    "SYNCHFORMER_PREPROCESSING",
    "Synchformer",
    "SynchformerConfig",
    "SynchformerEmbedder",
    "SynchformerHead",
    "load_synchformer",
    "load_synchformer_head",
    "synchformer_audio_input",
    "synchformer_video_input",
]


@dataclass(frozen=True)
class SynchformerConfig:
    """Sizes of the head and of the two feature extractors; the defaults are the official AudioSet model.

    ``video_tokens`` and ``audio_tokens`` are the tokens per segment the head expects; a full model needs them
    to equal ``video.tokens`` and ``audio.tokens`` (and ``dim`` to equal both extractors' ``dim``).
    """

    dim: int = 768
    layers: int = 3
    heads: int = 8
    classes: int = 21
    segments: int = 14
    video_tokens: int = 8
    audio_tokens: int = 6
    video: MotionformerConfig = field(default_factory=MotionformerConfig)
    audio: ASTFeaturesConfig = field(default_factory=ASTFeaturesConfig)

    @property
    def positions(self) -> int:
        """Sequence length: OFF + video tokens + MOD + audio tokens (198 for the official model)."""
        return 2 + self.segments * (self.video_tokens + self.audio_tokens)


class _SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.key, self.query, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.proj, self.heads = nn.Linear(dim, dim), heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        split = lambda t: t.view(batch, length, self.heads, dim // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))  # [B, h, L, d]
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(k.shape[-1]), dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(batch, length, dim))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = _SelfAttention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class _PositionEmbedding(nn.Module):
    def __init__(self, positions: int, dim: int) -> None:
        super().__init__()
        self.pos_emb = nn.Parameter(torch.randn(1, positions, dim))


class _GlobalTransformer(nn.Module):
    def __init__(self, cfg: SynchformerConfig) -> None:
        super().__init__()
        self.vis_in_lnorm, self.aud_in_lnorm = nn.LayerNorm(cfg.dim), nn.LayerNorm(cfg.dim)
        self.OFF_tok = nn.Parameter(torch.randn(1, 1, cfg.dim))
        self.MOD_tok = nn.Parameter(torch.randn(1, 1, cfg.dim))
        self.pos_emb_cfg = _PositionEmbedding(cfg.positions, cfg.dim)
        self.blocks = nn.Sequential(*[_Block(cfg.dim, cfg.heads) for _ in range(cfg.layers)])
        self.ln_f = nn.LayerNorm(cfg.dim)
        self.off_head = nn.Linear(cfg.dim, cfg.classes)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        batch = video.shape[0]
        x = torch.cat(
            [
                self.OFF_tok.expand(batch, -1, -1),
                self.vis_in_lnorm(video),
                self.MOD_tok.expand(batch, -1, -1),
                self.aud_in_lnorm(audio),
            ],
            dim=1,
        )  # [B, L, D]
        x = self.ln_f(self.blocks(x + self.pos_emb_cfg.pos_emb))
        return self.off_head(x[:, 0])


class SynchformerHead(nn.Module):
    """Offset logits ``[B, 21]`` from video ``[B, S, tv, D]`` and audio ``[B, S, ta, D]`` segment features."""

    def __init__(self, cfg: SynchformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.vproj, self.aproj = nn.Linear(cfg.dim, cfg.dim), nn.Linear(cfg.dim, cfg.dim)
        self.transformer = _GlobalTransformer(cfg)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """``compare_v_a``: project, flatten segments and tokens, classify the offset."""
        cfg = self.cfg
        want_v, want_a = (cfg.segments, cfg.video_tokens, cfg.dim), (cfg.segments, cfg.audio_tokens, cfg.dim)
        if tuple(video.shape[1:]) != want_v or tuple(audio.shape[1:]) != want_a:
            raise UsageError(
                f"Synchformer's head needs video features [B, {', '.join(map(str, want_v))}] and audio "
                f"[B, {', '.join(map(str, want_a))}], got {list(video.shape)} and {list(audio.shape)}; "
                "av-benchmark scores the first and the last 14 segments of an 8 s clip"
            )
        video = self.vproj(video).flatten(1, 2)  # [B, S * tv, D]
        audio = self.aproj(audio).flatten(1, 2)  # [B, S * ta, D]
        return self.transformer(video, audio)


class Synchformer(SynchformerHead):
    """The whole model: segments ``[B, S, 16, 3, 224, 224]`` and ``[B, S, 1, 128, 66]`` -> logits ``[B, 21]``.

    The head plus ``vfeat_extractor`` (Motionformer) and ``afeat_extractor`` (AST); :meth:`compare` is the
    head alone, on segment features.
    """

    def __init__(self, cfg: SynchformerConfig) -> None:
        pairs = {
            "video_tokens / video.tokens": (cfg.video_tokens, cfg.video.tokens),
            "audio_tokens / audio.tokens": (cfg.audio_tokens, cfg.audio.tokens),
            "dim / video.dim": (cfg.dim, cfg.video.dim),
            "dim / audio.dim": (cfg.dim, cfg.audio.dim),
        }
        wrong = [f"{name} = {a} / {b}" for name, (a, b) in pairs.items() if a != b]
        if wrong:
            raise UsageError(f"the head does not fit the feature extractors: {', '.join(wrong)}")
        super().__init__(cfg)
        self.vfeat_extractor = MotionformerFeatures(cfg.video)
        self.afeat_extractor = ASTFeatures(cfg.audio)

    def compare(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """The head: features ``[B, S, tv, D]`` and ``[B, S, ta, D]`` -> logits ``[B, 21]``."""
        return super().forward(video, audio)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Segments (from :func:`synchformer_video_input`, :func:`synchformer_audio_input`) -> logits."""
        return self.compare(self.vfeat_extractor(video), self.afeat_extractor(audio))


def load_synchformer(
    checkpoint: str | os.PathLike[str] | None = None, cfg: SynchformerConfig | None = None
) -> Synchformer:
    """Build the whole model and load every key of the official checkpoint (downloaded, MD5-checked if None).

    Raises:
        CheckpointLayoutError: a key is missing, unexpected or of another shape (all are listed).

    Example:
        >>> from avikit.models.embedders import load_synchformer
        >>> model = load_synchformer("synchformer_state_dict.pth")  # doctest: +SKIP
    """
    model = Synchformer(cfg or SynchformerConfig())
    path = resolve_weights(WEIGHTS["synchformer"], checkpoint)
    load_state_strict(model, load_checkpoint_state(path, nested=("state_dict", "model")), "Synchformer")
    return model.eval()


def load_synchformer_head(
    checkpoint: str | os.PathLike[str] | None = None, cfg: SynchformerConfig | None = None
) -> SynchformerHead:
    """Build the head and load it from the official full checkpoint (downloaded and MD5-checked if None).

    The feature extractors' keys (``vfeat_extractor.*``, ``afeat_extractor.*``) are skipped; every head key
    must be present with its shape, and any other key is an error that lists it.
    """
    head = SynchformerHead(cfg or SynchformerConfig())
    path = resolve_weights(WEIGHTS["synchformer"], checkpoint)
    state = load_checkpoint_state(path, nested=("state_dict", "model"))
    load_state_strict(head, state, "Synchformer", ignore_prefixes=("vfeat_extractor.", "afeat_extractor."))
    return head.eval()


def _segments(x: torch.Tensor, size: int, step: int, what: str) -> torch.Tensor:
    if x.shape[1] < size:
        raise UsageError(f"Synchformer needs at least {size} {what}, got {x.shape[1]}")
    return x.unfold(1, size, step)  # [B, S, ..., size]


def synchformer_audio_input(waveform: torch.Tensor) -> torch.Tensor:
    """16 kHz waveforms ``[B, N]`` -> normalised log-mel segments ``[B, S, 1, 128, 66]``.

    Segments of 10240 samples every 5120 (24 for 8 s); torchaudio's ``MelSpectrogram`` (n_fft 1024, Hann
    window of 400, hop 160, centred with reflect padding, power, 128 HTK bands without normalisation),
    ``log(x + 1e-6)``, zero-padded to 66 frames, ``(x + 4.2677393) / (2 * 4.5689974)``.
    """
    cfg = SYNCHFORMER_PREPROCESSING["audio"]
    segments = _segments(waveform, cfg["segment_samples"], cfg["segment_step"], "samples")  # [B, S, 10240]
    batch, count = segments.shape[:2]
    rows = segments.reshape(batch * count, -1).to(torch.float64)
    window = torch.hann_window(cfg["win_length"], periodic=True, dtype=torch.float64)
    spec = (
        torch.stft(
            rows,
            cfg["n_fft"],
            cfg["hop_length"],
            cfg["win_length"],
            window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        .abs()
        .square()
    )  # [BS, 513, 65]
    bank = mel_filterbank(cfg["sample_rate"], cfg["n_fft"], cfg["n_mels"], htk=True, norm=None)
    mel = torch.log(torch.from_numpy(bank.copy()) @ spec + cfg["log_offset"])  # [BS, 128, 65]
    mel = F.pad(mel, (0, max(0, cfg["frames"] - mel.shape[-1])))[..., : cfg["frames"]]
    mel = (mel - cfg["mean"]) / (2 * cfg["std"])
    return mel.float().reshape(batch, count, 1, cfg["n_mels"], cfg["frames"])


def synchformer_video_input(frames: torch.Tensor) -> torch.Tensor:
    """25 fps uint8 frames ``[B, T, 3, H, W]`` -> segments ``[B, S, 16, 3, 224, 224]`` in ``[-1, 1]``.

    Shorter side resized to 224 (bicubic, antialiased, rounded back to uint8 as torchvision's ``v2.Resize``
    does on uint8 tensors), centre crop 224, ``x / 255``, ``(x - 0.5) / 0.5``; segments of 16 frames every 8.
    """
    cfg = SYNCHFORMER_PREPROCESSING["video"]
    if frames.ndim != 5 or frames.shape[2] != 3 or frames.dtype != torch.uint8:
        raise UsageError(f"frames must be uint8 [B, T, 3, H, W], got {frames.dtype} {list(frames.shape)}")
    batch, count, _, height, width = frames.shape
    size = cfg["size"]
    scale = size / min(height, width)
    target = (size, int(width * scale)) if height <= width else (int(height * scale), size)
    x = frames.reshape(batch * count, 3, height, width)
    if (height, width) != target:  # resizing to the same size is the identity, skip it
        x = F.interpolate(x.float(), size=target, mode="bicubic", align_corners=False, antialias=True)
        x = x.round().clamp(0, 255)
    top, left = round((target[0] - size) / 2), round((target[1] - size) / 2)
    x = x[..., top : top + size, left : left + size].to(torch.float32).div_(255.0)
    x = x.sub_(0.5).div_(0.5).reshape(batch, count, 3, size, size)
    segments = _segments(x, cfg["segment_frames"], cfg["segment_step"], "frames")  # [B, S, 3, H, W, 16]
    return segments.permute(0, 1, 5, 2, 3, 4).contiguous()


class SynchformerEmbedder:
    """Clip -> offset logits ``{"logits": [2, 21]}`` of the first and the last 14 segments, as av-benchmark.

    The clip must hold 25 fps video and 16 kHz audio covering the 8 s (av-benchmark's loaders refuse shorter
    files); the video is cut to 200 frames, the audio made mono (channel mean, no mean removal) and cut to
    128000 samples. Nothing is resampled. Stack the logits of N clips into ``[N, 2, 21]`` and pass them to
    :func:`avikit.metrics.generation.evaluate_desync`. av-benchmark pairs the ground-truth video with the
    generated audio: build the clip with ``gt_clip.with_waveform(generated, sample_rate=16000)``.

    Example:
        >>> from avikit.metrics.generation import evaluate_desync
        >>> embedder = SynchformerEmbedder(load_synchformer())  # doctest: +SKIP
        >>> evaluate_desync(np.stack([embedder.embed(clip)["logits"] for clip in clips]))  # doctest: +SKIP
    """

    name = "synchformer"

    def __init__(self, model: Synchformer) -> None:
        self.model = model.eval()

    @property
    def preprocessing(self) -> Mapping[str, Any]:
        """The pinned values of :data:`SYNCHFORMER_PREPROCESSING` plus the mono mixdown."""
        return {**SYNCHFORMER_PREPROCESSING, "mono": True, "remove_mean": False}

    def prepare(self, clip: AVClip) -> tuple[torch.Tensor, torch.Tensor]:
        """Video segments ``[1, S, 16, 3, 224, 224]`` and log-mel segments ``[1, S, 1, 128, 66]``."""
        video, audio = SYNCHFORMER_PREPROCESSING["video"], SYNCHFORMER_PREPROCESSING["audio"]
        duration = SYNCHFORMER_PREPROCESSING["windows"]["duration"]
        frames, waveform = clip.require_frames(), clip.require_waveform()
        if clip.fps != video["fps"] or clip.sample_rate != audio["sample_rate"]:
            raise UsageError(
                f"Synchformer needs {video['fps']} fps video and {audio['sample_rate']} Hz audio, the clip "
                f"has {clip.fps} fps and {clip.sample_rate} Hz; resample it first (avikit never resamples "
                "silently)"
            )
        num_frames, num_samples = round(duration * video["fps"]), round(duration * audio["sample_rate"])
        if len(frames) < num_frames or waveform.shape[1] < num_samples:
            raise UsageError(
                f"DeSync scores {duration} s clips: {num_frames} frames and {num_samples} samples, the clip "
                f"has {len(frames)} frames and {waveform.shape[1]} samples"
            )
        pixels = torch.from_numpy(np.ascontiguousarray(frames[:num_frames])).permute(0, 3, 1, 2)[None]
        mono = torch.from_numpy(np.ascontiguousarray(waveform[:, :num_samples])).mean(0)[None]
        return synchformer_video_input(pixels), synchformer_audio_input(mono)

    @torch.no_grad()
    def embed(self, clip: AVClip) -> dict[str, np.ndarray]:
        """``{"logits": [2, 21]}``: the first and the last ``segments`` segments (14 of 24 for 8 s)."""
        video, audio = self.prepare(clip)
        model, count = self.model, video.shape[1]
        size = model.cfg.segments
        if count < size or audio.shape[1] != count:
            raise UsageError(
                f"Synchformer needs {size} or more segments per stream, got {count} and {audio.shape[1]}"
            )
        dtype = next(model.parameters()).dtype
        device = next(model.parameters()).device
        video_features = model.vfeat_extractor(video.to(device, dtype))  # [1, S, 8, D]
        audio_features = model.afeat_extractor(audio.to(device, dtype))  # [1, S, 6, D]
        windows = (slice(0, size), slice(count - size, count))
        logits = torch.cat([model.compare(video_features[:, w], audio_features[:, w]) for w in windows])
        return {"logits": logits.float().cpu().numpy()}
