"""Neural audio codecs: a conv encoder/decoder around residual VQ, and a semantic+acoustic variant.

:class:`AudioCodec` is the EnCodec / DAC / SoundStream family without the adversarial losses: a strided
convolutional encoder maps ``[B, 1, N]`` to latents ``[B, D, N / hop]``, residual VQ turns them
into codes ``[B, Q, N / hop]``, and a mirrored transposed-conv decoder maps them back to ``[B, 1, N]``.

:class:`SemanticAcousticCodec` follows the X-Codec idea (Ye et al., 2024): features of a frozen *teacher*
(any module from waveform ``[B, C, N]`` to features ``[B, S, E]``, e.g. an audio or audio-visual encoder) are
encoded beside the acoustic latent, both are fused and quantized together, and the codes must reconstruct the
waveform *and* the teacher's features. Decoding needs only the codes, never the teacher.

Example:
    >>> codec = build_audio_codec(strides=(4, 4), num_codebooks=2, codebook_size=32)
    >>> codes = codec.encode(torch.zeros(1, 1, 1600))
    >>> tuple(codes.shape), codec.frame_rate, tuple(codec.decode(codes).shape)
    ((1, 2, 100), 1000.0, (1, 1, 1600))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.nn.quantize import ResidualVectorQuantizer, build_rvq

__all__ = [
    "AudioCodec",
    "ConvDecoder",
    "ConvEncoder",
    "SemanticAcousticCodec",
    "build_audio_codec",
    "build_semantic_codec",
]


class _ResidualUnit(nn.Module):
    """Dilated conv residual unit: ``x + conv1x1(elu(conv7(elu(x))))``, shape kept ``[B, C, T]``."""

    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 7, dilation=dilation, padding=3 * dilation)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(F.elu(self.conv(F.elu(x))))


class ConvEncoder(nn.Module):
    """Waveform ``[B, C, N]`` to latents ``[B, latent_dim, N / hop]`` (``N`` a multiple of the hop)."""

    def __init__(self, channels: int, base: int, strides: Sequence[int], latent_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(channels, base, 7, padding=3)]
        width = base
        for stride in strides:
            padding = (stride + 1) // 2
            layers += [
                _ResidualUnit(width),
                nn.ELU(),
                nn.Conv1d(width, 2 * width, 2 * stride, stride, padding),
            ]
            width *= 2
        layers += [nn.ELU(), nn.Conv1d(width, latent_dim, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Encode ``[B, C, N]`` to ``[B, latent_dim, N / hop]``."""
        return self.net(waveform)


class ConvDecoder(nn.Module):
    """Latents ``[B, latent_dim, T]`` to waveform ``[B, C, T * prod(strides)]`` in ``[-1, 1]``."""

    def __init__(self, channels: int, base: int, strides: Sequence[int], latent_dim: int) -> None:
        super().__init__()
        width = base * 2 ** len(strides)
        layers: list[nn.Module] = [nn.Conv1d(latent_dim, width, 7, padding=3)]
        for stride in reversed(strides):
            padding = (stride + 1) // 2
            upsample = nn.ConvTranspose1d(
                width, width // 2, 2 * stride, stride, padding, 2 * padding - stride
            )
            layers += [nn.ELU(), upsample, _ResidualUnit(width // 2)]
            width //= 2
        layers += [nn.ELU(), nn.Conv1d(width, channels, 7, padding=3), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        """Decode ``[B, latent_dim, T]`` to ``[B, C, T * hop]``."""
        return self.net(latents)


class AudioCodec(nn.Module):
    """Conv encoder + residual VQ + conv decoder; satisfies :class:`avikit.nn.tokenizer.Tokenizer`."""

    def __init__(
        self,
        encoder: nn.Module,
        quantizer: ResidualVectorQuantizer,
        decoder: nn.Module,
        sample_rate: int,
        hop: int,
    ) -> None:
        super().__init__()
        self.encoder, self.quantizer, self.decoder = encoder, quantizer, decoder
        self._sample_rate, self.hop = sample_rate, hop

    @property
    def sample_rate(self) -> int:
        """Sample rate of the waveform in Hz."""
        return self._sample_rate

    @property
    def frame_rate(self) -> float:
        """Code steps per second."""
        return self._sample_rate / self.hop

    @property
    def num_codebooks(self) -> int:
        """Codebooks of the residual quantizer."""
        return self.quantizer.num_codebooks

    @property
    def cardinality(self) -> int:
        """Entries per codebook."""
        return self.quantizer.cardinality

    def _pad(self, waveform: torch.Tensor) -> torch.Tensor:
        if waveform.ndim != 3:
            raise UsageError(f"waveform must be [B, C, N], got {list(waveform.shape)}")
        return F.pad(waveform, (0, -waveform.shape[-1] % self.hop))  # [B, C, ceil(N / hop) * hop]

    def encode(self, waveform: torch.Tensor, num_codebooks: int | None = None) -> torch.Tensor:
        """Waveform ``[B, C, N]`` to codes ``[B, Q, ceil(N / hop)]``."""
        return self.quantizer.encode(self.encoder(self._pad(waveform)), num_codebooks)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, Q, T]`` to waveform ``[B, C, T * hop]``."""
        return self.decoder(self.quantizer.decode(codes))

    def forward(
        self, waveform: torch.Tensor, num_codebooks: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Reconstruct ``waveform [B, C, N]``: ``(reconstruction [B, C, N], codes [B, Q, T], losses)``."""
        latents = self.encoder(self._pad(waveform))  # [B, D, T]
        quantized, codes, commitment = self.quantizer(latents, num_codebooks)
        reconstruction = self.decoder(quantized)[..., : waveform.shape[-1]]
        return reconstruction, codes, {"commitment": commitment}


class SemanticAcousticCodec(AudioCodec):
    """X-Codec-style codec: quantizes fused acoustic latents and frozen-teacher features together."""

    def __init__(
        self,
        encoder: nn.Module,
        quantizer: ResidualVectorQuantizer,
        decoder: nn.Module,
        teacher: nn.Module,
        teacher_dim: int,
        latent_dim: int,
        sample_rate: int,
        hop: int,
    ) -> None:
        super().__init__(encoder, quantizer, decoder, sample_rate, hop)
        self.teacher = teacher.eval().requires_grad_(False)
        self.semantic_in = nn.Conv1d(teacher_dim, latent_dim, 3, padding=1)
        self.fuse = nn.Conv1d(2 * latent_dim, latent_dim, 1)
        self.acoustic_out = nn.Conv1d(latent_dim, latent_dim, 1)
        self.semantic_out = nn.Conv1d(latent_dim, teacher_dim, 3, padding=1)

    def train(self, mode: bool = True) -> SemanticAcousticCodec:
        """Set training mode; the teacher always stays frozen in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def teacher_features(self, waveform: torch.Tensor, steps: int) -> torch.Tensor:
        """Teacher features ``[B, E, steps]``, linearly resampled to the code rate."""
        with torch.no_grad():
            features = self.teacher(waveform).transpose(1, 2)  # [B, E, S]
        return F.interpolate(features, size=steps, mode="linear", align_corners=False)

    def _fused(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        padded = self._pad(waveform)
        acoustic = self.encoder(padded)  # [B, D, T]
        target = self.teacher_features(padded, acoustic.shape[-1])  # [B, E, T]
        return self.fuse(torch.cat([acoustic, self.semantic_in(target)], dim=1)), target  # [B, D, T]

    def encode(self, waveform: torch.Tensor, num_codebooks: int | None = None) -> torch.Tensor:
        """Waveform ``[B, C, N]`` to codes ``[B, Q, ceil(N / hop)]`` (runs the teacher)."""
        return self.quantizer.encode(self._fused(waveform)[0], num_codebooks)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, Q, T]`` to waveform ``[B, C, T * hop]`` (no teacher needed)."""
        return self.decoder(self.acoustic_out(self.quantizer.decode(codes)))

    def decode_semantic(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, Q, T]`` to predicted teacher features ``[B, E, T]``."""
        return self.semantic_out(self.quantizer.decode(codes))

    def forward(
        self, waveform: torch.Tensor, num_codebooks: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Like :meth:`AudioCodec.forward`; ``losses`` adds ``"semantic"`` (MSE to the teacher features)."""
        fused, target = self._fused(waveform)
        quantized, codes, commitment = self.quantizer(fused, num_codebooks)
        reconstruction = self.decoder(self.acoustic_out(quantized))[..., : waveform.shape[-1]]
        semantic = F.mse_loss(self.semantic_out(quantized), target)
        return reconstruction, codes, {"commitment": commitment, "semantic": semantic}


def build_audio_codec(
    sample_rate: int = 16000,
    strides: Sequence[int] = (4, 4, 4),
    base: int = 16,
    latent_dim: int = 64,
    num_codebooks: int = 4,
    codebook_size: int = 256,
    quantizer_dropout: bool = True,
    channels: int = 1,
) -> AudioCodec:
    """Build a tiny :class:`AudioCodec`; the code rate is ``sample_rate / prod(strides)``.

    With the defaults: hop 64 (250 codes/s), about 0.33 M parameters.
    """
    hop = math.prod(strides)
    return AudioCodec(
        ConvEncoder(channels, base, strides, latent_dim),
        build_rvq(latent_dim, codebook_size, num_codebooks, quantizer_dropout),
        ConvDecoder(channels, base, strides, latent_dim),
        sample_rate,
        hop,
    )


def build_semantic_codec(
    teacher: nn.Module,
    teacher_dim: int,
    sample_rate: int = 16000,
    strides: Sequence[int] = (4, 4, 4),
    base: int = 16,
    latent_dim: int = 64,
    num_codebooks: int = 4,
    codebook_size: int = 256,
    quantizer_dropout: bool = True,
) -> SemanticAcousticCodec:
    """Build a :class:`SemanticAcousticCodec` around ``teacher`` (``[B, C, N]`` to ``[B, S, E]``)."""
    hop = math.prod(strides)
    return SemanticAcousticCodec(
        ConvEncoder(1, base, strides, latent_dim),
        build_rvq(latent_dim, codebook_size, num_codebooks, quantizer_dropout),
        ConvDecoder(1, base, strides, latent_dim),
        teacher,
        teacher_dim,
        latent_dim,
        sample_rate,
        hop,
    )
