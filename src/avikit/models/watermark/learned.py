"""A small learned audio watermark: an embedder adds an imperceptible signal, a detector finds it per sample.

After AudioSeal (San Roman et al., "Proactive Detection of Voice Cloning with Localized Watermarking",
ICML 2024), at laptop scale. The **embedder** reads the host audio (divided by its own 64 ms loudness
envelope, so it sees every level alike) through a strided convolutional encoder (16x down, 1 kHz
frames), adds the sum of one learned vector per message bit value to every frame, runs dilated residual
blocks and decodes back to samples; its ``tanh`` output times ``strength`` times the envelope is the
watermark, so the watermark is never louder than ``strength`` of the host near it (``strength`` 0.1: at
least 20 dB below). The message vectors start small (standard deviation ``num_bits ** -0.5``, so their sum
is of unit size, like the host's features) and the ``tanh`` is kept out of saturation in training
(:meth:`WatermarkEmbedder.activation`): a saturated ``tanh`` passes no gradient to the message. The
**detector** reads envelope-normalized audio through its own encoder plus a linear strided convolution of
``skip_taps`` taps (a path on which the faint watermark is not gated by the host through a nonlinearity)
and its blocks, and gives, per frame, a detection logit and one logit per message bit, linearly upsampled
to every sample.

A clip's score is the mean per-sample detection probability; its message is the sigmoid of the mean bit
logit over the samples detected as watermarked (all samples when none is): the message is carried by the
whole watermarked span, not by any one frame. Training: :mod:`avikit.train.watermark`.

File order: config, blocks, model, builder and ``from_pretrained``.

Example:
    >>> marker = build_watermarker(WatermarkNetConfig(channels=8, hidden=16, depth=1, skip_taps=32))
    >>> out = marker.embed(np.zeros(1600, np.float32), np.ones(16, np.uint8))
    >>> out.shape, marker.detect(out).probability.shape
    ((1600,), (1600,))
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from numpy.typing import NDArray
from torch import nn

from avikit.models.packaged import WEIGHTS_DIR
from avikit.models.watermark.base import NUM_BITS, Detection
from avikit.nn import from_pretrained as load_pretrained
from avikit.nn import resolve_pretrained, weights_sha256

__all__ = [
    "KIND",
    "LearnedWatermarker",
    "WatermarkDetector",
    "WatermarkEmbedder",
    "WatermarkNetConfig",
    "build_watermarker",
    "envelope",
    "from_pretrained",
]

KIND = "avikit.models.watermark"


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class WatermarkNetConfig:
    """Sizes of the embedder and the detector (each has its own weights of these sizes).

    Attributes:
        sample_rate: rate in Hz of the audio both work on.
        num_bits: message bits.
        channels: width of the sample-rate layers.
        hidden: width of the frame-rate layers.
        depth: dilated residual blocks (dilations 1, 3, 9, ...).
        stride: samples per frame.
        strength: the watermark's peak ratio to the host's local envelope.
        envelope_window: samples of the loudness envelope's moving average (odd).
        skip_taps: taps of the detector's linear strided path (``stride`` plus an even number).
    """

    sample_rate: int = 16000
    num_bits: int = NUM_BITS
    channels: int = 16
    hidden: int = 48
    depth: int = 3
    stride: int = 16
    strength: float = 0.1
    envelope_window: int = 1025
    skip_taps: int = 64


# ----------------------------------------------------------------------------------------------- blocks


def envelope(audio: torch.Tensor, window: int, floor: float = 1e-3, hop: int = 64) -> torch.Tensor:
    """Local RMS ``[B, 1, T]`` of ``audio [B, 1, T]`` over ``window`` samples, at least ``floor`` (-60 dBFS).

    The mean power is taken every ``hop`` samples (centred windows, cut at the clip's ends) and linearly
    interpolated between; the RMS is ``sqrt(mean power + floor^2)``, smooth, with a finite gradient in
    digital silence.
    """
    length = audio.shape[-1]
    power = F.avg_pool1d(audio.square(), window, hop, window // 2, count_include_pad=False)  # [B, 1, L]
    if power.shape[-1] > 1:
        power = F.interpolate(power, size=(power.shape[-1] - 1) * hop + 1, mode="linear", align_corners=True)
    power = F.pad(power, (0, max(length - power.shape[-1], 0)), mode="replicate")[..., :length]
    return (power.clamp_min(0) + floor**2).sqrt()


class ResidualBlock(nn.Module):
    """``x + 1x1(GELU(dilated 3-tap conv(GELU(x))))`` on ``[B, H, F]``."""

    def __init__(self, hidden: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(hidden, hidden, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(hidden, hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, H, F]`` to ``[B, H, F]``."""
        return x + self.mix(F.gelu(self.conv(F.gelu(x))))


class FrameEncoder(nn.Module):
    """Samples ``[B, 1, T]`` to frames ``[B, H, T / stride]``: a 7-tap conv, then a strided conv."""

    def __init__(self, channels: int, hidden: int, stride: int) -> None:
        super().__init__()
        self.conv_in = nn.Conv1d(1, channels, 7, padding=3)
        self.down = nn.Conv1d(channels, hidden, stride, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 1, T]`` (``T`` a multiple of the stride) to ``[B, H, T / stride]``."""
        return F.gelu(self.down(F.gelu(self.conv_in(x))))


def _pad_to(x: torch.Tensor, stride: int) -> tuple[torch.Tensor, int]:
    length = x.shape[-1]
    return F.pad(x, (0, -length % stride)), length


# ------------------------------------------------------------------------------------------------ model


class WatermarkEmbedder(nn.Module):
    """Host audio and message to the additive watermark."""

    def __init__(self, encoder: FrameEncoder, blocks: nn.Sequential, cfg: WatermarkNetConfig) -> None:
        super().__init__()
        self.encoder, self.blocks, self.cfg = encoder, blocks, cfg
        self.message = nn.Embedding(2 * cfg.num_bits, cfg.hidden)  # row 2k + b: bit k has value b
        nn.init.normal_(self.message.weight, std=cfg.num_bits**-0.5)
        self.up = nn.ConvTranspose1d(cfg.hidden, cfg.channels, 2 * cfg.stride, cfg.stride, cfg.stride // 2)
        self.conv_out = nn.Conv1d(cfg.channels, 1, 7, padding=3)

    def activation(self, audio: torch.Tensor, bits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``tanh``'s input and the host's envelope, both ``[B, 1, T']`` (``T`` padded to the stride)."""
        x, _ = _pad_to(audio, self.cfg.stride)
        level = envelope(x, self.cfg.envelope_window)  # [B, 1, T']
        h = self.encoder(x / level)  # [B, H, F]
        rows = 2 * torch.arange(self.cfg.num_bits, device=bits.device) + bits.long()  # [B, K]
        h = self.blocks(h + self.message(rows).sum(1)[..., None])  # [B, H, F]
        return self.conv_out(F.gelu(self.up(h))), level

    def forward(self, audio: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
        """Watermark ``[B, 1, T]`` for ``audio [B, 1, T]`` and ``bits [B, num_bits]`` of 0/1."""
        return self.shape(*self.activation(audio, bits))[..., : audio.shape[-1]]

    def shape(self, activation: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """The watermark ``tanh(activation) * level * strength`` (never louder than ``strength * level``)."""
        return torch.tanh(activation) * level * self.cfg.strength


class WatermarkDetector(nn.Module):
    """Audio to per-sample logits ``[B, 1 + num_bits, T]``: detection, then the message bits."""

    def __init__(self, encoder: FrameEncoder, blocks: nn.Sequential, cfg: WatermarkNetConfig) -> None:
        super().__init__()
        self.encoder, self.blocks, self.cfg = encoder, blocks, cfg
        pad = (cfg.skip_taps - cfg.stride) // 2
        self.skip = nn.Conv1d(1, cfg.hidden, cfg.skip_taps, cfg.stride, pad)  # linear: no gating by the host
        self.head = nn.Conv1d(cfg.hidden, 1 + cfg.num_bits, 1)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """``[B, 1, T]`` to ``[B, 1 + num_bits, T]``."""
        x, length = _pad_to(audio, self.cfg.stride)
        x = x / envelope(x, self.cfg.envelope_window)
        logits = self.head(self.blocks(self.encoder(x) + self.skip(x)))  # [B, K+1, F]
        return F.interpolate(logits, scale_factor=self.cfg.stride, mode="linear")[..., :length]


class WatermarkPair(nn.Module):
    """The embedder and the detector, saved together."""

    def __init__(self, embedder: WatermarkEmbedder, detector: WatermarkDetector) -> None:
        super().__init__()
        self.embedder, self.detector = embedder, detector


class LearnedWatermarker:
    """The trained pair behind :class:`~avikit.models.watermark.base.AudioWatermarker`."""

    name = "learned"

    def __init__(self, pair: WatermarkPair, weights_hash: str = "untrained") -> None:
        self.pair = pair.eval()
        self.sample_rate = pair.embedder.cfg.sample_rate
        self.weights_hash = weights_hash

    @torch.no_grad()
    def embed(self, audio: NDArray[np.floating], message: NDArray[np.integer]) -> NDArray[np.float32]:
        """Watermarked ``float32 [N]`` for mono ``audio [N]`` and ``message [num_bits]``."""
        x = torch.as_tensor(np.asarray(audio, np.float32).reshape(1, 1, -1))
        bits = torch.as_tensor(np.asarray(message).reshape(1, -1))
        if bits.shape[1] != self.pair.embedder.cfg.num_bits:
            raise ValueError(f"message must have {self.pair.embedder.cfg.num_bits} bits, got {bits.shape[1]}")
        return (x + self.pair.embedder(x, bits)).reshape(-1).numpy()

    @torch.no_grad()
    def detect(self, audio: NDArray[np.floating]) -> Detection:
        """Per-sample detection probability, clip score (their mean) and message of mono ``audio [N]``."""
        x = torch.as_tensor(np.asarray(audio, np.float32).reshape(1, 1, -1))
        logits = self.pair.detector(x)[0]  # [1 + K, N]
        probability = torch.sigmoid(logits[0])
        detected = probability > 0.5
        pooled = logits[1:, detected].mean(1) if bool(detected.any()) else logits[1:].mean(1)
        return Detection(float(probability.mean()), probability.numpy(), torch.sigmoid(pooled).numpy())


# ---------------------------------------------------------------------------------------------- build


def _blocks(cfg: WatermarkNetConfig) -> nn.Sequential:
    return nn.Sequential(*[ResidualBlock(cfg.hidden, 3**i) for i in range(cfg.depth)])


def build_watermark_pair(cfg: WatermarkNetConfig) -> WatermarkPair:
    """An untrained embedder and detector of ``cfg``'s sizes."""
    if cfg.stride % 2 or cfg.envelope_window % 2 == 0:
        raise ValueError(
            f"stride must be even and envelope_window odd, got {cfg.stride}, {cfg.envelope_window}"
        )
    if cfg.skip_taps < cfg.stride or (cfg.skip_taps - cfg.stride) % 2:
        raise ValueError(f"skip_taps must be the stride plus an even number, got {cfg.skip_taps}")
    embedder = WatermarkEmbedder(FrameEncoder(cfg.channels, cfg.hidden, cfg.stride), _blocks(cfg), cfg)
    detector = WatermarkDetector(FrameEncoder(cfg.channels, cfg.hidden, cfg.stride), _blocks(cfg), cfg)
    return WatermarkPair(embedder, detector)


def build_watermarker(cfg: WatermarkNetConfig) -> LearnedWatermarker:
    """An untrained :class:`LearnedWatermarker`."""
    return LearnedWatermarker(build_watermark_pair(cfg))


def from_pretrained(name_or_path: str | os.PathLike[str] = "watermark") -> LearnedWatermarker:
    """The packaged watermark pair (``"watermark"``), a weights folder or a hub id."""
    folder = resolve_pretrained(name_or_path, [WEIGHTS_DIR])
    pair, _ = load_pretrained(folder, WatermarkNetConfig, build_watermark_pair, KIND, [WEIGHTS_DIR])
    return LearnedWatermarker(pair, weights_sha256(folder / "model.safetensors")[:16])
