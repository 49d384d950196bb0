"""Training the mel vocoders: losses, recipe and evaluation.

Training the mel vocoders of :mod:`avikit.models.tokenizers.vocoder`: their losses (multi-resolution STFT,
compressed spectrum), the recipe and its evaluation against Griffin-Lim.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from avikit.metrics.reconstruction import compute_mel_distance, compute_si_sdr
from avikit.models.generation.v2a_network import griffin_lim
from avikit.models.tokenizers.vocoder import KIND, MelVocoder, VocoderConfig, build_vocoder
from avikit.nn import save_pretrained
from avikit.nn.objectives import MultiScaleMelLoss
from avikit.train.loops import StepLog, draw_crops, run_steps

__all__ = [
    "MultiResolutionSTFTLoss",
    "VocoderTrainConfig",
    "compressed_spectrum_loss",
    "evaluate_vocoder",
    "train_vocoder",
]


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
