"""Small trained vocoders: normalised log-Mel to waveform, by an inverse STFT or by transposed convolutions.

The flow-matching generator of :mod:`avikit.models.generation.v2a_network` produces log-Mel;
:func:`~avikit.models.generation.v2a_network.griffin_lim` turns it into sound without training (phase
estimated by 32
iterations), which smears onsets and rings. :class:`MelVocoder` learns the inverse instead, with one of two
decoders (``VocoderConfig.architecture``):

- ``"istft"`` (default, :class:`ISTFTDecoder`): the Vocos idea (Siuzdak, "Vocos: Closing the gap between
  time-domain and Fourier-based neural vocoders for audio synthesis", 2023). A small ConvNeXt stack runs at
  the mel frame rate and predicts, per frame, the log-magnitude (by default as a correction of the mel's
  pseudo-inverted magnitude, the spectrum Griffin-Lim starts from) and the phase (an angle, used through
  its cosine and sine) of the complex STFT at the mel's hop (and by default its FFT size); one
  :func:`torch.istft` makes the waveform. Frame ``i`` is centred on sample ``i * hop``, as the mel frame it
  reads. No upsampling layers, so it trains fast with reconstruction losses only.
- ``"transposed-conv"``: the transposed-conv decoder of the audio codec
  (:class:`~avikit.nn.codec.ConvDecoder`: a 1-D convolution over the mel frames, then upsampling by the mel
  hop, 5 x 5 x 10 = 250), as MelGAN / HiFi-GAN's generator.

Both train on random crops of clips with the codec's loss (waveform L1 plus multi-scale log-mel L1,
:class:`~avikit.nn.objectives.MultiScaleMelLoss`) plus, weighted by :class:`VocoderTrainConfig`, a
multi-resolution STFT magnitude loss (:class:`MultiResolutionSTFTLoss`: spectral convergence plus
log-magnitude L1, Yamamoto et al., Parallel WaveGAN, 2020) and a phase-aware loss on power-law compressed
complex spectra (:func:`compressed_spectrum_loss`); no adversarial terms.

:func:`evaluate_vocoder` compares a vocoder with Griffin-Lim on held-out clips: mel distance (DAC
multi-scale) and SI-SDR to the real audio, and seconds per second of audio.

Example:
    >>> vocoder = build_vocoder(VocoderConfig(dim=16, depth=1, hidden=32))
    >>> mel = vocoder.features(torch.zeros(1, 1, 16000))
    >>> tuple(mel.shape), tuple(vocoder(mel).shape)
    ((1, 64, 64), (1, 1, 16000))
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.media.mel import mel_filterbank
from avikit.models.encoders.trunk import WEIGHTS_DIR
from avikit.models.generation.v2a_network import LogMelFeatures
from avikit.nn import from_pretrained as load_pretrained
from avikit.nn import resolve_pretrained
from avikit.nn.codec import ConvDecoder

__all__ = [
    "ARCHITECTURES",
    "KIND",
    "ConvNeXtBlock",
    "ISTFTDecoder",
    "MelVocoder",
    "VocoderConfig",
    "build_vocoder",
    "from_pretrained",
]

KIND = "avikit.models.vocoder"


# ----------------------------------------------------------------------------------------------- config


ARCHITECTURES = ("istft", "transposed-conv")
"""The decoders a :class:`VocoderConfig` can name."""


@dataclass(frozen=True)
class VocoderConfig:
    """The mel it reads (as :class:`~avikit.models.generation.v2a_network.V2AConfig`'s) and the decoder.

    Attributes:
        sample_rate, n_fft, hop_length, n_mels: the mel (the ``"istft"`` decoder's STFT has the same hop).
        architecture: one of :data:`ARCHITECTURES`.
        dim, depth, hidden: width, ConvNeXt blocks and their hidden width (``"istft"``).
        magnitude_prior: the ``"istft"`` head predicts the log-magnitude as a correction of the mel's
            pseudo-inverse (the linear spectrum Griffin-Lim starts from) rather than from scratch.
        istft_n_fft: FFT size of the ``"istft"`` decoder's STFT (0: the mel's ``n_fft``); a shorter window
            resolves time more finely.
        base, strides: width and upsampling strides (``"transposed-conv"``; they multiply to the hop).
    """

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 250
    n_mels: int = 64
    architecture: str = "istft"
    dim: int = 128
    depth: int = 4
    hidden: int = 384
    magnitude_prior: bool = True
    istft_n_fft: int = 0
    base: int = 8
    strides: tuple[int, ...] = (5, 5, 10)


# ----------------------------------------------------------------------------------------------- blocks


class ConvNeXtBlock(nn.Module):
    """1-D ConvNeXt block (Liu et al., 2022) on ``[B, D, N]``: depthwise conv, LayerNorm, MLP, layer scale."""

    def __init__(self, dim: int, hidden: int, layer_scale: float = 0.1) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.expand, self.project = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, D, N]`` to ``[B, D, N]``."""
        h = self.project(F.gelu(self.expand(self.norm(self.depthwise(x).transpose(1, 2)))))  # [B, N, D]
        return x + (self.gamma * h).transpose(1, 2)


class ISTFTDecoder(nn.Module):
    """Mel ``[B, M, N]`` to waveform ``[B, 1, N * hop]``: ConvNeXt stack, STFT head, one inverse STFT.

    :meth:`spectrum` gives the predicted complex STFT ``[B, n_fft / 2 + 1, N]`` (frame ``i`` centred on
    sample ``i * hop``, as :func:`torch.stft` with ``center=True``); :meth:`synthesize` inverts any such STFT.
    """

    window: torch.Tensor
    inverse_filterbank: torch.Tensor

    def __init__(
        self,
        features: LogMelFeatures,
        dim: int,
        depth: int,
        hidden: int,
        magnitude_prior: bool = True,
        n_fft: int | None = None,
        sample_rate: int = 16000,
    ) -> None:
        super().__init__()
        self.features, self.magnitude_prior = features, magnitude_prior
        self.n_fft, self.hop_length = n_fft or features.n_fft, features.hop_length
        if self.n_fft < 2 * self.hop_length:
            raise UsageError(
                f"the inverse STFT needs n_fft >= 2 * hop ({2 * self.hop_length}), got {self.n_fft}"
            )
        n_mels, bins = len(features.filterbank), self.n_fft // 2 + 1
        self.embed = nn.Conv1d(n_mels, dim, 7, padding=3)
        self.norm = nn.LayerNorm(dim)
        self.blocks = nn.ModuleList(ConvNeXtBlock(dim, hidden, 1 / depth) for _ in range(depth))
        self.final_norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 2 * bins)  # log-magnitude (or its correction) and phase per bin
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        # the mel's pseudo-inverse on this STFT's bins, rescaled by the window sums (a tone's peak magnitude)
        bank = torch.from_numpy(mel_filterbank(sample_rate, self.n_fft, n_mels).copy()).float()  # [M, F]
        inverse = torch.linalg.pinv(bank) * (self.n_fft / features.n_fft)  # [F, M]
        self.register_buffer("inverse_filterbank", inverse, persistent=False)

    def spectrum(self, mel: torch.Tensor) -> torch.Tensor:
        """Complex STFT ``[B, n_fft / 2 + 1, N]`` from normalised mel ``[B, M, N]``."""
        x = self.norm(self.embed(mel).transpose(1, 2)).transpose(1, 2)  # [B, D, N]
        for block in self.blocks:
            x = block(x)
        log_magnitude, phase = self.head(self.final_norm(x.transpose(1, 2))).transpose(1, 2).chunk(2, 1)
        if self.magnitude_prior:  # the pseudo-inverted mel magnitude, floored as the mel's log
            linear = self.inverse_filterbank @ self.features.denormalize(mel.transpose(1, 2)).exp()
            log_magnitude = log_magnitude + torch.log(linear.clamp_min(1e-5))  # [B, F, N]
        magnitude = log_magnitude.exp().clamp(max=1e2)  # [B, F, N]
        return torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))

    def synthesize(self, spectrum: torch.Tensor) -> torch.Tensor:
        """Waveform ``[B, 1, N * hop]`` from a complex STFT ``[B, n_fft / 2 + 1, N]`` (Hann window)."""
        length = spectrum.shape[-1] * self.hop_length
        return torch.istft(spectrum, self.n_fft, self.hop_length, window=self.window, length=length)[:, None]

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Waveform ``[B, 1, N * hop]`` from mel ``[B, M, N]``."""
        return self.synthesize(self.spectrum(mel))


# ------------------------------------------------------------------------------------------------ model


class MelVocoder(nn.Module):
    """Normalised log-Mel ``[B, N, M]`` (``LogMelFeatures``) to a waveform ``[B, 1, N * hop]``."""

    def __init__(self, features: LogMelFeatures, decoder: nn.Module, sample_rate: int) -> None:
        super().__init__()
        self.features, self.decoder, self.sample_rate = features, decoder, sample_rate

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Waveform ``[B, 1, N * hop]`` from mel ``[B, N, M]`` (the ``"istft"`` decoder does not clamp)."""
        return self.decoder(mel.transpose(1, 2))  # [B, M, N] -> [B, 1, N * hop]


def build_vocoder(cfg: VocoderConfig) -> MelVocoder:
    """Build an untrained vocoder from its config."""
    features = LogMelFeatures(cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.n_mels)
    decoder: nn.Module
    if cfg.architecture == "istft":
        n_fft = cfg.istft_n_fft or cfg.n_fft
        decoder = ISTFTDecoder(
            features, cfg.dim, cfg.depth, cfg.hidden, cfg.magnitude_prior, n_fft, cfg.sample_rate
        )
    elif cfg.architecture == "transposed-conv":
        if int(np.prod(cfg.strides)) != cfg.hop_length:
            raise UsageError(f"strides {cfg.strides} must multiply to the hop {cfg.hop_length}")
        decoder = ConvDecoder(1, cfg.base, cfg.strides, cfg.n_mels)
    else:
        raise UsageError(f"unknown vocoder architecture {cfg.architecture!r}; choose one of {ARCHITECTURES}")
    return MelVocoder(features, decoder, cfg.sample_rate)


def from_pretrained(name_or_path: str | os.PathLike[str] = "vocoder") -> MelVocoder:
    """Load a saved vocoder (a packaged name, a folder or a hub id) in eval mode."""
    folder = resolve_pretrained(name_or_path, [WEIGHTS_DIR])
    model, _ = load_pretrained(folder, VocoderConfig, build_vocoder, KIND, [WEIGHTS_DIR])
    return model.float()
