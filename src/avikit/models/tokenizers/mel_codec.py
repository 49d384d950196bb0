"""Mel tokenizer: residual VQ over log-Mel frames, decoded to sound by a trained vocoder.

The SpecVQGAN idea (Iashin & Rahtu, "Taming Visually Guided Sound Generation", 2021): token models of
video-to-audio generate codes of a spectrogram codebook, and a vocoder turns the decoded spectrogram into a
waveform. Compared with a waveform codec of the same bitrate (:class:`~avikit.nn.codec.AudioCodec`), the
codes spend no bits on phase, which the vocoder restores.

:class:`MelCodec` is an :class:`~avikit.nn.codec.AudioCodec` (so it satisfies
:class:`~avikit.nn.tokenizer.Tokenizer`): waveform ``[B, 1, S]`` to codes ``[B, Q, S / (hop * stride)]`` and
back. Its encoder (:class:`MelEncoder`) computes the normalised log-Mel of
:class:`~avikit.models.generation.v2a_network.LogMelFeatures`, runs ConvNeXt blocks over the mel frames and
groups ``stride``
frames per code step; its decoder (:class:`MelDecoder`) mirrors that back to mel frames and calls a
:class:`~avikit.models.tokenizers.vocoder.MelVocoder`.

:func:`train_mel_codec` fits the encoder, quantizer and mel decoder on the mel L1 with the vocoder frozen
(the vocoder is trained on real mels beforehand, :func:`avikit.train.vocoder.train_vocoder`).

Example:
    >>> from avikit.models.generation.v2a_network import V2AConfig
    >>> from avikit.models.tokenizers.vocoder import VocoderConfig
    >>> codec = build_mel_codec(V2AConfig(tokenizer="mel", token_stride=2), VocoderConfig(dim=16, hidden=32))
    >>> codes = codec.encode(torch.zeros(1, 1, 16000))
    >>> tuple(codes.shape), codec.frame_rate, tuple(codec.decode(codes).shape)
    ((1, 2, 32), 32.0, (1, 1, 16000))
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.models.generation.v2a_network import LogMelFeatures, V2AConfig
from avikit.models.tokenizers.vocoder import ConvNeXtBlock, MelVocoder, VocoderConfig, build_vocoder
from avikit.nn.codec import AudioCodec
from avikit.nn.quantize import build_rvq

__all__ = ["MelCodec", "MelDecoder", "MelEncoder", "build_mel_codec"]

WIDTH, HIDDEN, DEPTH, LATENT = 96, 256, 2, 32
"""Width, ConvNeXt hidden width, blocks per side and latent size of the mel codec's encoder and decoder."""


class MelEncoder(nn.Module):
    """Waveform ``[B, 1, S]`` to latents ``[B, LATENT, S / (hop * stride)]`` through the log-Mel."""

    def __init__(self, features: LogMelFeatures, stride: int) -> None:
        super().__init__()
        self.features, self.stride = features, stride
        n_mels = len(features.filterbank)
        self.embed = nn.Conv1d(n_mels, WIDTH, 3, padding=1)
        self.blocks = nn.Sequential(*(ConvNeXtBlock(WIDTH, HIDDEN) for _ in range(DEPTH)))
        self.down = nn.Conv1d(WIDTH, LATENT, stride, stride)

    def from_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """Normalised log-Mel ``[B, N, M]`` (``N`` a multiple of ``stride``) to ``[B, D, N / stride]``."""
        if mel.shape[1] % self.stride:
            raise UsageError(f"need a multiple of {self.stride} mel frames, got {mel.shape[1]}")
        return self.down(self.blocks(self.embed(mel.transpose(1, 2))))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Latents of a waveform whose length is a multiple of ``hop * stride``."""
        return self.from_mel(self.features(waveform))


class MelDecoder(nn.Module):
    """Latents ``[B, LATENT, T]`` to mel ``[B, T * stride, M]`` (:meth:`mel`) and to a waveform (vocoder)."""

    def __init__(self, vocoder: MelVocoder, stride: int) -> None:
        super().__init__()
        self.vocoder, self.stride = vocoder, stride
        n_mels = len(vocoder.features.filterbank)
        self.up = nn.ConvTranspose1d(LATENT, WIDTH, stride, stride)
        self.blocks = nn.Sequential(*(ConvNeXtBlock(WIDTH, HIDDEN) for _ in range(DEPTH)))
        self.project = nn.Conv1d(WIDTH, n_mels, 3, padding=1)

    def mel(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised log-Mel ``[B, T * stride, M]``."""
        return self.project(self.blocks(self.up(latents))).transpose(1, 2)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        """Waveform ``[B, 1, T * stride * hop]`` in [-1, 1]."""
        return self.vocoder(self.mel(latents)).clamp(-1, 1)


class MelCodec(AudioCodec):
    """Mel encoder + residual VQ + mel decoder and vocoder; a :class:`~avikit.nn.tokenizer.Tokenizer`."""

    encoder: MelEncoder
    decoder: MelDecoder

    def decode_mel(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, Q, T]`` to the normalised log-Mel ``[B, T * stride, M]`` the vocoder reads."""
        return self.decoder.mel(self.quantizer.decode(codes))

    def mel_loss(self, waveform: torch.Tensor) -> torch.Tensor:
        """Training loss on waveforms ``[B, 1, S]``: mel L1 of the reconstruction plus the VQ commitment."""
        mel = self.encoder.features(self._pad(waveform))  # [B, N, M]
        quantized, _, commitment = self.quantizer(self.encoder.from_mel(mel))
        return F.l1_loss(self.decoder.mel(quantized), mel) + commitment


def build_mel_codec(
    config: V2AConfig,
    vocoder: VocoderConfig,
    quantizer_dropout: bool = False,
    vocoder_weights: MelVocoder | None = None,
) -> MelCodec:
    """The mel tokenizer of ``config``, decoded by a vocoder built from ``vocoder``.

    ``token_stride`` mel frames per step, ``num_codebooks`` codebooks of ``codebook_size``; the vocoder
    must read ``config``'s mel. With ``quantizer_dropout`` each training step uses a random number of
    codebooks, so the codes decode at every count. ``vocoder_weights`` (a trained vocoder of that config)
    are copied into the codec's vocoder; without them it is untrained (as when loading a saved package).
    """
    mel = (config.sample_rate, config.n_fft, config.hop_length, config.n_mels)
    if (vocoder.sample_rate, vocoder.n_fft, vocoder.hop_length, vocoder.n_mels) != mel:
        raise UsageError(
            f"the vocoder reads another mel (rate, n_fft, hop, mels) than the tokenizer: {vocoder} vs {mel}"
        )
    stride = config.token_stride
    encoder = MelEncoder(LogMelFeatures(*mel), stride)  # built in this order: the same seed, the same weights
    quantizer = build_rvq(LATENT, config.codebook_size, config.num_codebooks, quantizer_dropout)
    decoder_vocoder = build_vocoder(vocoder)
    if vocoder_weights is not None:
        decoder_vocoder.load_state_dict(vocoder_weights.state_dict())
    decoder = MelDecoder(decoder_vocoder, stride)
    return MelCodec(encoder, quantizer, decoder, config.sample_rate, config.hop_length * stride)
