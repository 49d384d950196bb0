"""Joint audio+video generation from a caption or class name: one flow-matching backbone, both streams.

The generated stream of a :class:`~avikit.nn.dit.JointDiT` holds the tokens of *both* modalities,
interleaved on one timeline: for each video frame, the audio tokens of the log-Mel frames it covers
(``mels_per_token`` mel frames each) then the pixel patches of the frame (low resolution). The backbone's
positions follow token order, so a frame's patches sit next to its sound; learned modality and patch
embeddings tell the tokens apart. The context stream holds the caption: learned embeddings of its words
(:class:`CaptionVocabulary`), whose mean also joins the global adaLN conditioning.

Flow matching (rectified flow, :class:`~avikit.nn.schedulers.FlowMatchingScheduler`) moves noise to data.
The network predicts the *clean* tokens and the velocity follows as ``(x_pred - x_t) / (1 - t)``: pixel
patches are much wider than the backbone, and a clean image lies on a low-dimensional set where noise does
not ("Back to Basics: Let Denoising Generative Models Denoise", Li & He, 2025). Classifier-free guidance
uses a learned null caption; :func:`generate_joint` is the whole sampling loop.

Timeline (defaults): 16 kHz audio, mel hop 250 = 8 mel frames per video frame at 8 fps = 2 audio tokens;
frames of 16 x 16 pixels in 8 x 8 patches = 4 video tokens per frame.

Example:
    >>> from avikit.models.generation.joint_sampling import generate_joint
    >>> vocabulary = build_vocabulary(["a bell rings"])
    >>> model = build_joint(JointConfig(dim=32, depth=1, heads=2), len(vocabulary))
    >>> mel, frames = generate_joint(model, vocabulary.encode(["a bell rings"]), num_frames=2, num_steps=2)
    >>> tuple(mel.shape), tuple(frames.shape)
    ((1, 16, 32), (1, 2, 3, 16, 16))
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.models.generation.v2a_network import LogMelFeatures
from avikit.models.packaged import WEIGHTS_DIR
from avikit.nn import from_pretrained as load_pretrained
from avikit.nn.dit import FinalLayer, JointDiT, TimestepEmbedder
from avikit.nn.schedulers import FlowMatchingScheduler, drop_condition

__all__ = [
    "KIND",
    "CaptionVocabulary",
    "JointCheckpoint",
    "JointConfig",
    "JointFlow",
    "build_joint",
    "build_vocabulary",
    "from_pretrained",
]

KIND = "avikit.joint-generation"
"""The ``kind`` of joint-generator weights folders."""


@dataclass(frozen=True)
class JointConfig:
    """Sizes and rates of the joint generator (the defaults total about 0.5 M parameters)."""

    sample_rate: int = 16000
    fps: int = 8
    image_size: int = 16
    patch_size: int = 8
    n_mels: int = 32
    n_fft: int = 1024
    hop_length: int = 250
    mels_per_token: int = 4
    dim: int = 64
    depth: int = 3
    heads: int = 4
    condition_dropout: float = 0.1

    @property
    def audio_tokens_per_frame(self) -> int:
        """Audio tokens per video frame."""
        return self.sample_rate // (self.hop_length * self.fps * self.mels_per_token)

    @property
    def patches_per_frame(self) -> int:
        """Video tokens per frame."""
        return (self.image_size // self.patch_size) ** 2


@dataclass(frozen=True)
class CaptionVocabulary:
    """Lower-case words of captions to ids; 0 pads, 1 is an unknown word.

    Attributes:
        words: the known words, id ``i + 2`` for ``words[i]``.
    """

    words: tuple[str, ...]

    def __len__(self) -> int:
        """Ids in use, padding and unknown included."""
        return len(self.words) + 2

    @staticmethod
    def split(caption: str) -> list[str]:
        """The words of ``caption`` (letters only, lower case)."""
        return re.findall(r"[a-z]+", caption.lower())

    def encode(self, captions: Sequence[str]) -> torch.Tensor:
        """Ids ``[B, L]`` (``L`` the longest caption, at least 1), padded with 0."""
        index = {word: i + 2 for i, word in enumerate(self.words)}
        rows = [[index.get(word, 1) for word in self.split(c)] or [1] for c in captions]
        length = max(len(row) for row in rows)
        return torch.tensor([row + [0] * (length - len(row)) for row in rows], dtype=torch.long)


def build_vocabulary(captions: Sequence[str]) -> CaptionVocabulary:
    """The sorted set of words in ``captions``."""
    return CaptionVocabulary(tuple(sorted({w for c in captions for w in CaptionVocabulary.split(c)})))


# ---------------------------------------------------------------------------------------------- network


class JointFlow(nn.Module):
    """Clean-token predictor over interleaved audio and video tokens, conditioned on a caption.

    Data: normalised log-Mel ``[B, N, M]`` (``N = 8 T``) and frames ``[B, T, 3, H, W]`` in [0, 1]; both are
    tokenised by :meth:`tokenize` to ``[B, T, A, a]`` audio and ``[B, T, P, p]`` video tokens.
    """

    def __init__(
        self,
        backbone: JointDiT,
        features: LogMelFeatures,
        vocabulary_size: int,
        mels_per_token: int,
        patch_size: int,
        patches_per_frame: int,
    ) -> None:
        super().__init__()
        dim = backbone.dim
        self.backbone, self.features = backbone, features
        self.n_mels = features.filterbank.shape[0]
        self.mels_per_token, self.patch_size = mels_per_token, patch_size
        self.patches_per_frame = patches_per_frame
        audio_dim, video_dim = mels_per_token * self.n_mels, 3 * patch_size**2
        self.audio_in, self.video_in = nn.Linear(audio_dim, dim), nn.Linear(video_dim, dim)
        self.modality = nn.Parameter(torch.randn(2, dim) * 0.02)
        self.patch_position = nn.Parameter(torch.randn(patches_per_frame, dim) * 0.02)
        self.words = nn.Embedding(vocabulary_size, dim, padding_idx=0)
        self.null_caption = nn.Parameter(torch.zeros(1, 1, dim))
        self.time = TimestepEmbedder(dim)
        self.audio_out, self.video_out = FinalLayer(dim, audio_dim), FinalLayer(dim, video_dim)

    # tokens <-> data
    def tokenize(self, mel: torch.Tensor, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``mel [B, N, M]``, ``frames [B, T, 3, H, W]`` in [0, 1] to ``([B, T, A, a], [B, T, P, p])``."""
        batch, count, _, height, width = frames.shape
        audio = mel.reshape(batch, count, -1, self.mels_per_token * self.n_mels)
        s = self.patch_size
        video = frames.reshape(batch, count, 3, height // s, s, width // s, s) * 2 - 1
        video = video.permute(0, 1, 3, 5, 2, 4, 6).flatten(4).flatten(2, 3)  # [B, T, P, 3 s s]
        return audio, video

    def untokenize(self, audio: torch.Tensor, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inverse of :meth:`tokenize`; frames clamped to [0, 1]."""
        batch, count, patches = video.shape[:3]
        s, side = self.patch_size, round(patches**0.5)
        frames = video.reshape(batch, count, side, side, 3, s, s).permute(0, 1, 4, 2, 5, 3, 6)
        frames = frames.reshape(batch, count, 3, side * s, side * s)
        return audio.reshape(batch, -1, self.n_mels), ((frames + 1) / 2).clamp(0, 1)

    def encode_caption(self, ids: torch.Tensor) -> torch.Tensor:
        """Caption ids ``[B, L]`` to context tokens ``[B, L, D]``."""
        return self.words(ids)

    def null_context(self, context: torch.Tensor) -> torch.Tensor:
        """The "no caption" context of the same shape (the unconditional branch of CFG)."""
        return self.null_caption.expand_as(context)

    def forward(
        self, audio: torch.Tensor, video: torch.Tensor, t: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Predicted clean tokens, shaped like ``audio [B, T, A, a]`` and ``video [B, T, P, p]``."""
        count, num_audio = audio.shape[1:3]
        a = self.audio_in(audio) + self.modality[0]  # [B, T, A, D]
        v = self.video_in(video) + self.modality[1] + self.patch_position  # [B, T, P, D]
        x = torch.cat([a, v], dim=2).flatten(1, 2)  # [B, T (A + P), D]: interleaved per frame
        condition = self.time(t) + context.mean(1)  # [B, D]
        hidden = self.backbone(x, context, condition).unflatten(1, (count, -1))  # [B, T, A + P, D]
        cond = condition[:, None, None]
        return (
            self.audio_out(hidden[:, :, :num_audio], cond),
            self.video_out(hidden[:, :, num_audio:], cond),
        )

    def velocity(
        self, audio: torch.Tensor, video: torch.Tensor, t: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Velocities ``(x_pred - x_t) / (1 - t)`` of both streams (``1 - t`` floored at 0.05)."""
        clean_audio, clean_video = self(audio, video, t, context)
        gap = (1 - t).clamp_min(0.05)[:, None, None, None]
        return (clean_audio - audio) / gap, (clean_video - video) / gap

    def loss(
        self,
        waveform: torch.Tensor,
        frames: torch.Tensor,
        ids: torch.Tensor,
        scheduler: FlowMatchingScheduler,
        dropout: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Velocity MSE of both streams (mean of the two); the caption dropped with ``dropout``."""
        data = self.tokenize(self.features(waveform), frames)
        noise = [torch.randn(d.shape, generator=generator) for d in data]
        t = scheduler.sample_time(waveform.shape[0], generator)
        context = self.encode_caption(ids)
        context = drop_condition(context, self.null_caption, dropout, generator)
        noisy = [scheduler.interpolate(d, n, t) for d, n in zip(data, noise, strict=True)]
        v_audio, v_video = self.velocity(noisy[0], noisy[1], t, context)
        targets = [scheduler.velocity_target(d, n) for d, n in zip(data, noise, strict=True)]
        return (F.mse_loss(v_audio, targets[0]) + F.mse_loss(v_video, targets[1])) / 2


# ---------------------------------------------------------------------------------------------- build


def build_joint(config: JointConfig, vocabulary_size: int) -> JointFlow:
    """Build the joint generator for a caption vocabulary of ``vocabulary_size`` ids."""
    if config.image_size % config.patch_size:
        raise UsageError(
            f"image_size {config.image_size} is not a multiple of patch_size {config.patch_size}"
        )
    if config.sample_rate // (config.hop_length * config.fps) != 8 or 8 % config.mels_per_token:
        raise UsageError("the joint generator expects 8 mel frames per video frame, split evenly into tokens")
    return JointFlow(
        JointDiT(config.dim, config.depth, config.heads),
        LogMelFeatures(config.sample_rate, config.n_fft, config.hop_length, config.n_mels),
        vocabulary_size,
        config.mels_per_token,
        config.patch_size,
        config.patches_per_frame,
    )


@dataclass(frozen=True)
class JointCheckpoint:
    """What a joint-generator weights folder records besides the weights.

    Attributes:
        model: the network's sizes and rates.
        words: the caption vocabulary (:class:`CaptionVocabulary` words, in id order).
        num_steps: Euler steps of the sampling loop the weights were scored with.
        guidance: classifier-free guidance scale they were scored with.
        vocoder_iterations: Griffin-Lim iterations that turn the generated mel into audio.
    """

    model: JointConfig = field(default_factory=JointConfig)
    words: tuple[str, ...] = ()
    num_steps: int = 16
    guidance: float = 2.0
    vocoder_iterations: int = 32


def _build_checkpoint(checkpoint: JointCheckpoint) -> JointFlow:
    return build_joint(checkpoint.model, len(CaptionVocabulary(checkpoint.words)))


def from_pretrained(
    name_or_path: str | os.PathLike[str] = "joint",
) -> tuple[JointFlow, CaptionVocabulary, JointCheckpoint]:
    """Load the generator, its vocabulary and checkpoint record from a packaged name or folder (eval mode)."""
    model, checkpoint = load_pretrained(name_or_path, JointCheckpoint, _build_checkpoint, KIND, [WEIGHTS_DIR])
    return model, CaptionVocabulary(checkpoint.words), checkpoint
