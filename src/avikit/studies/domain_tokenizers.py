"""The tokenizers of the domain study: which kinds, rates and codebooks, and how each is trained.

A :class:`TokenizerSpec` names one tokenizer of the grid: its kind (``acoustic``: the RVQ waveform codec of
:mod:`avikit.nn.codec`; ``semantic``: the X-Codec-style variant whose codes also predict the packaged
audio-visual encoder's audio features; ``mel``: the mel tokenizer of
:mod:`avikit.models.tokenizers.mel_codec`, decoded by the packaged vocoder, frozen), its token rate and the
audio it trains on (``mixture``: the training clips of every domain; or one domain's alone).

Token rates are 64 or 16 code steps per second, so that the codes fall on the V2A models' timeline (8 video
frames per second: 8 or 2 steps per frame, 250 or 1000 samples per step at 16 kHz). Waveform codecs reach
them with strides (5, 5, 10) and (5, 5, 5, 8); the mel tokenizer with 1 or 4 mel frames (hop 250) per step.
Every tokenizer has ``num_codebooks`` codebooks of ``codebook_size`` entries and trains with quantizer
dropout, so that its first ``Q`` codes decode at every ``Q``: bitrate ``rate * Q * log2(K)`` bit/s.

Training (:func:`train_tokenizer`): waveform codecs with Adam, cosine decay, the multi-scale mel loss plus the
commitment (and semantic) losses on random 1 s crops, EMA codebooks with a fast decay; the mel tokenizer with
:func:`avikit.train.mel_codec.train_mel_codec` on the same crops and steps.

Example:
    >>> spec = TokenizerSpec("acoustic", 64, "speech")
    >>> spec.name, spec.strides, spec.bitrate(4, 256)
    ('acoustic-64-speech', (5, 5, 10), 2048.0)
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from avikit.errors import UsageError
from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.models.generation.v2a_network import V2AConfig
from avikit.models.generation.v2a_pipeline import load_vocoder
from avikit.models.tokenizers.mel_codec import MelCodec, build_mel_codec
from avikit.nn.codec import AudioCodec, build_audio_codec, build_semantic_codec
from avikit.nn.objectives import MultiScaleMelLoss
from avikit.nn.quantize import VectorQuantizer
from avikit.train.loops import draw_crops, run_steps
from avikit.train.mel_codec import train_mel_codec

__all__ = ["KINDS", "RATES", "TokenizerSpec", "TrainSettings", "train_tokenizer"]

log = logging.getLogger(__name__)

KINDS = ("acoustic", "semantic", "mel")
"""Tokenizer kinds of the study."""

RATES = {64: (5, 5, 10), 16: (5, 5, 5, 8)}
"""Token rate (steps/s) -> strides of the waveform codecs (hop 250 or 1000 samples at 16 kHz)."""

_MEL_HOP = 250


@dataclass(frozen=True)
class TokenizerSpec:
    """One tokenizer of the grid: ``kind``, token ``rate`` (steps/s) and the ``trained_on`` audio."""

    kind: str
    rate: int
    trained_on: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.rate not in RATES:
            raise UsageError(f"a tokenizer is one of {KINDS} at one of {sorted(RATES)} steps/s, got {self}")

    @property
    def name(self) -> str:
        """``"<kind>-<rate>-<trained_on>"``."""
        return f"{self.kind}-{self.rate}-{self.trained_on}"

    @property
    def strides(self) -> tuple[int, ...]:
        """Encoder strides of a waveform codec at this rate."""
        return RATES[self.rate]

    def bitrate(self, num_codebooks: int, codebook_size: int) -> float:
        """Bits per second with the first ``num_codebooks`` codes."""
        return float(self.rate * num_codebooks * math.log2(codebook_size))


@dataclass(frozen=True)
class TrainSettings:
    """How every tokenizer trains: sizes, steps, crops, learning rate, EMA decay, seed."""

    codebook_size: int = 256
    num_codebooks: int = 4
    steps: int = 300
    batch_size: int = 4
    crop_samples: int = 16000
    learning_rate: float = 3e-3
    ema_decay: float = 0.9
    vocoder: str = "v2a-flow"
    seed: int = 0


class _AudioTeacher(nn.Module):
    """The encoder's audio branch: waveform ``[B, C, N]`` to features ``[B, N / 1600, D]``."""

    def __init__(self, encoder: AVJointEncoder) -> None:
        super().__init__()
        self.frontend, self.audio = encoder.frontend, encoder.audio

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.audio(self.frontend(waveform))


def _build(spec: TokenizerSpec, settings: TrainSettings, encoder: AVJointEncoder | None) -> AudioCodec:
    books, size = settings.num_codebooks, settings.codebook_size
    if spec.kind == "mel":
        vocoder, vocoder_config = load_vocoder(settings.vocoder)
        stride = 16000 // _MEL_HOP // spec.rate
        network = V2AConfig(tokenizer="mel", token_stride=stride, num_codebooks=books, codebook_size=size)
        return build_mel_codec(network, vocoder_config, quantizer_dropout=True, vocoder_weights=vocoder)
    if spec.kind == "semantic":
        if encoder is None:
            raise UsageError("a semantic tokenizer needs the audio-visual encoder as its teacher")
        teacher = _AudioTeacher(encoder)
        return build_semantic_codec(
            teacher,
            encoder.audio.dim,
            strides=spec.strides,
            base=8,
            latent_dim=32,
            num_codebooks=books,
            codebook_size=size,
        )
    return build_audio_codec(
        strides=spec.strides, base=8, latent_dim=32, num_codebooks=books, codebook_size=size
    )


def train_tokenizer(
    spec: TokenizerSpec, settings: TrainSettings, audio: torch.Tensor, encoder: AVJointEncoder | None = None
) -> tuple[AudioCodec, dict[str, Any]]:
    """Build and train ``spec`` on random crops of ``audio [N, 1, S]``; returns it (eval mode) and its record.

    The record holds ``seconds``, ``loss_first`` / ``loss_last`` (means over the first and last tenth of the
    steps) and ``parameters`` (trainable ones; the mel tokenizer's frozen vocoder excluded).
    """
    torch.manual_seed(settings.seed)
    codec = _build(spec, settings, encoder)
    for module in codec.modules():
        if isinstance(module, VectorQuantizer):
            module.decay = settings.ema_decay
    start = time.perf_counter()
    frozen_ids: set[int] = set()
    if isinstance(codec, MelCodec):
        seconds = settings.crop_samples / codec.sample_rate
        trained = train_mel_codec(
            codec, audio, settings.steps, settings.batch_size, seconds, settings.learning_rate, settings.seed
        )
        frozen_ids = {id(p) for p in codec.decoder.vocoder.parameters()}
    else:
        trained = _train_waveform_codec(codec, audio, settings)
    curve = trained["loss_curve"]
    tenth = max(len(curve) // 10, 1)
    teacher = {id(p) for n, p in codec.named_parameters() if n.startswith("teacher.")}
    record = {
        "seconds": time.perf_counter() - start,
        "loss_first": float(sum(curve[:tenth]) / tenth),
        "loss_last": float(sum(curve[-tenth:]) / tenth),
        "parameters": sum(p.numel() for p in codec.parameters() if id(p) not in frozen_ids | teacher),
    }
    log.info(
        "trained %s in %.1f s (loss %.3f -> %.3f)",
        spec.name,
        record["seconds"],
        record["loss_first"],
        record["loss_last"],
    )
    return codec.eval(), record


def _train_waveform_codec(codec: AudioCodec, audio: torch.Tensor, settings: TrainSettings) -> dict[str, Any]:
    optimizer = torch.optim.Adam(
        [p for p in codec.parameters() if p.requires_grad], lr=settings.learning_rate
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(settings.steps, 1))
    loss_fn = MultiScaleMelLoss(codec.sample_rate)
    generator = torch.Generator().manual_seed(settings.seed)

    def step_loss() -> torch.Tensor:
        target = draw_crops(audio, settings.batch_size, settings.crop_samples, generator)
        reconstruction, _, losses = codec(target)
        return loss_fn(reconstruction, target) + sum(losses.values())

    return run_steps(codec, (optimizer, schedule), step_loss, settings.steps)
