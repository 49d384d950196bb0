"""Small trained vocoders: normalised log-Mel to waveform, by an inverse STFT or by transposed convolutions.

The flow-matching generator of :mod:`avikit.models.v2a` produces log-Mel;
:func:`~avikit.models.v2a.griffin_lim` turns it into sound without training (phase estimated by 32
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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.media.mel import mel_filterbank
from avikit.metrics.reconstruction import compute_mel_distance, compute_si_sdr
from avikit.models.training_loops import StepLog, draw_crops, run_steps
from avikit.models.trunk import WEIGHTS_DIR
from avikit.models.v2a import LogMelFeatures, griffin_lim
from avikit.nn import from_pretrained as load_pretrained
from avikit.nn import resolve_pretrained, save_pretrained
from avikit.nn.codec import ConvDecoder
from avikit.nn.objectives import MultiScaleMelLoss

__all__ = [
    "ARCHITECTURES",
    "KIND",
    "ConvNeXtBlock",
    "ISTFTDecoder",
    "MelVocoder",
    "MultiResolutionSTFTLoss",
    "VocoderConfig",
    "VocoderTrainConfig",
    "build_vocoder",
    "compressed_spectrum_loss",
    "evaluate_vocoder",
    "from_pretrained",
    "train_vocoder",
]

KIND = "avikit.models.vocoder"


# ----------------------------------------------------------------------------------------------- config


ARCHITECTURES = ("istft", "transposed-conv")
"""The decoders a :class:`VocoderConfig` can name."""


@dataclass(frozen=True)
class VocoderConfig:
    """The mel it reads (as :class:`~avikit.models.v2a.V2AConfig`'s) and the decoder.

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


@dataclass(frozen=True)
class VocoderTrainConfig:
    """Training schedule: ``steps`` of ``batch_size`` random crops of ``crop_frames`` mel frames.

    The loss is :class:`~avikit.nn.objectives.MultiScaleMelLoss` at ``mel_scales`` (FFT size, mel bands)
    plus ``stft_weight`` times :class:`MultiResolutionSTFTLoss` plus ``phase_weight`` times
    :func:`compressed_spectrum_loss` (phase-aware). ``mel_noise`` adds Gaussian noise of that standard
    deviation to the normalised input mel (robustness to generated mels).
    """

    steps: int = 3000
    batch_size: int = 16
    crop_frames: int = 32
    learning_rate: float = 2e-3
    stft_weight: float = 1.0
    phase_weight: float = 1.0
    mel_noise: float = 0.0
    mel_scales: tuple[tuple[int, int], ...] = ((256, 32), (512, 64), (1024, 64))
    seed: int = 0


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
            raise ValueError(
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


class MultiResolutionSTFTLoss(nn.Module):
    """Mean over STFT resolutions of spectral convergence plus log-magnitude L1 (Parallel WaveGAN's loss).

    Example:
        >>> loss = MultiResolutionSTFTLoss()
        >>> waveform = torch.randn(2, 1, 4096) * 0.1
        >>> float(loss(waveform, waveform))
        0.0
    """

    def __init__(
        self, resolutions: tuple[tuple[int, int], ...] = ((512, 128), (1024, 256), (2048, 512))
    ) -> None:
        super().__init__()
        self.resolutions = resolutions

    def forward(self, reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of ``reconstruction`` against ``target``, both ``[B, 1, S]``."""
        total = reconstruction.new_zeros(())
        for n_fft, hop in self.resolutions:
            window = torch.hann_window(n_fft, device=target.device)
            est, ref = (
                torch.stft(w[:, 0], n_fft, hop, window=window, return_complex=True).abs()
                for w in (reconstruction, target)
            )
            convergence = torch.linalg.norm(ref - est) / torch.linalg.norm(ref).clamp_min(1e-7)
            total = total + convergence + (torch.log(ref + 1e-5) - torch.log(est + 1e-5)).abs().mean()
        return total / len(self.resolutions)


def compressed_spectrum_loss(
    reconstruction: torch.Tensor,
    target: torch.Tensor,
    resolutions: tuple[tuple[int, int], ...] = ((512, 128), (1024, 256)),
    power: float = 0.3,
) -> torch.Tensor:
    """Mean L1 of power-law compressed complex STFTs ``|X|^power * X / |X|`` (phase-aware), ``[B, 1, S]``."""
    total = reconstruction.new_zeros(())
    for n_fft, hop in resolutions:
        window = torch.hann_window(n_fft, device=target.device)
        est, ref = (
            torch.stft(w[:, 0], n_fft, hop, window=window, return_complex=True)
            for w in (reconstruction, target)
        )
        est, ref = (x * (x.abs() + 1e-8) ** (power - 1) for x in (est, ref))
        total = total + (est - ref).abs().mean()
    return total / len(resolutions)


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
            raise ValueError(f"strides {cfg.strides} must multiply to the hop {cfg.hop_length}")
        decoder = ConvDecoder(1, cfg.base, cfg.strides, cfg.n_mels)
    else:
        raise ValueError(f"unknown vocoder architecture {cfg.architecture!r}; choose one of {ARCHITECTURES}")
    return MelVocoder(features, decoder, cfg.sample_rate)


def from_pretrained(name_or_path: str | os.PathLike[str] = "vocoder") -> MelVocoder:
    """Load a saved vocoder (a packaged name, a folder or a hub id) in eval mode."""
    folder = resolve_pretrained(name_or_path, [WEIGHTS_DIR])
    model, _ = load_pretrained(folder, VocoderConfig, build_vocoder, KIND, [WEIGHTS_DIR])
    return model.float()


# --------------------------------------------------------------------------------------------- training


def train_vocoder(
    audio: torch.Tensor,
    cfg: VocoderConfig | None = None,
    train: VocoderTrainConfig | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> tuple[MelVocoder, dict[str, Any]]:
    """Train on clips ``audio [N, 1, S]``; writes the loss log/curve and the package to ``out_dir``.

    Returns:
        ``(vocoder, {"seconds", "loss_curve"})``.
    """
    cfg, train = cfg or VocoderConfig(), train or VocoderTrainConfig()
    torch.manual_seed(train.seed)
    vocoder, mel_loss = build_vocoder(cfg), MultiScaleMelLoss(cfg.sample_rate, train.mel_scales)
    stft_loss = MultiResolutionSTFTLoss()
    optimizer = torch.optim.AdamW(vocoder.decoder.parameters(), lr=train.learning_rate)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, train.learning_rate, total_steps=train.steps)
    generator = torch.Generator().manual_seed(train.seed)
    crop = train.crop_frames * cfg.hop_length
    out = Path(out_dir) if out_dir else None

    def step_loss() -> torch.Tensor:
        target = draw_crops(audio, train.batch_size, crop, generator)
        mel = vocoder.features(target)
        if train.mel_noise:
            mel = mel + train.mel_noise * torch.randn(mel.shape, generator=generator)
        estimate = vocoder(mel)
        loss = mel_loss(estimate, target)
        if train.stft_weight:
            loss = loss + train.stft_weight * stft_loss(estimate, target)
        if train.phase_weight:
            loss = loss + train.phase_weight * compressed_spectrum_loss(estimate, target)
        return loss

    report = StepLog("vocoder", out, show_progress=progress)
    record = run_steps(vocoder, (optimizer, schedule), step_loss, train.steps, report, clip_norm=1.0)
    if out:
        save_pretrained(vocoder, cfg, out / "vocoder", KIND)
    return vocoder, record


@torch.no_grad()
def evaluate_vocoder(vocoder: MelVocoder, audio: torch.Tensor) -> dict[str, dict[str, float]]:
    """Resynthesis of real clips ``audio [N, 1, S]`` from their mel: the vocoder against Griffin-Lim.

    Returns:
        ``{"vocoder" | "griffin_lim": {"mel_distance", "si_sdr", "rtf"}}`` (means over clips; ``rtf`` is
        seconds per second of audio).
    """
    mel = vocoder.features(audio)  # [N, n, M]
    length = mel.shape[1] * vocoder.features.hop_length
    reference = audio[:, 0, :length].double().numpy()
    results = {}
    for name, synthesize in (
        ("vocoder", vocoder),
        ("griffin_lim", lambda m: griffin_lim(vocoder.features, m)),
    ):
        start = time.perf_counter()
        estimate = synthesize(mel)[:, 0, :length].double().numpy()
        seconds = time.perf_counter() - start
        results[name] = {
            "mel_distance": float(np.mean(compute_mel_distance(reference, estimate, vocoder.sample_rate))),
            "si_sdr": float(np.mean(compute_si_sdr(reference, estimate))),
            "rtf": seconds / (reference.size / vocoder.sample_rate),
        }
    return results
