"""A small trained vocoder: normalised log-Mel to waveform by a transposed-convolution stack.

The flow-matching generator of :mod:`avikit.models.v2a` produces log-Mel;
:func:`~avikit.models.v2a.griffin_lim` turns it into sound without training (phase estimated by 32
iterations), which smears onsets and rings. :class:`MelVocoder` learns the inverse instead: the
transposed-conv decoder of the audio codec (:class:`~avikit.nn.codec.ConvDecoder`: a 1-D convolution over
the mel frames, then upsampling by the mel hop, 5 x 5 x 10 = 250),
trained on AVSynth ``train`` audio with the codec's loss (waveform L1 plus multi-scale log-mel L1,
:class:`~avikit.nn.objectives.MultiScaleMelLoss`) on random 0.5 s crops, as MelGAN / HiFi-GAN's generator
without the adversarial terms.

:func:`evaluate_vocoder` compares it with Griffin-Lim on held-out clips: mel distance (DAC multi-scale) and
SI-SDR to the real audio, and seconds per second of audio.

Example:
    >>> vocoder = build_vocoder(VocoderConfig(base=4))
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
from torch import nn

from avikit.metrics.reconstruction import compute_mel_distance, compute_si_sdr
from avikit.models.training_loops import StepLog, draw_crops, run_steps
from avikit.models.trunk import WEIGHTS_DIR
from avikit.models.v2a import LogMelFeatures, griffin_lim
from avikit.nn import from_pretrained as load_pretrained
from avikit.nn import resolve_pretrained, save_pretrained
from avikit.nn.codec import ConvDecoder
from avikit.nn.objectives import MultiScaleMelLoss

__all__ = [
    "KIND",
    "MelVocoder",
    "VocoderConfig",
    "VocoderTrainConfig",
    "build_vocoder",
    "evaluate_vocoder",
    "from_pretrained",
    "train_vocoder",
]

KIND = "avikit.models.vocoder"


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class VocoderConfig:
    """The mel it reads (as :class:`~avikit.models.v2a.V2AConfig`'s) and the decoder's width."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 250
    n_mels: int = 64
    base: int = 8
    strides: tuple[int, ...] = (5, 5, 10)


@dataclass(frozen=True)
class VocoderTrainConfig:
    """Training schedule: ``steps`` of ``batch_size`` random crops of ``crop_frames`` mel frames."""

    steps: int = 1500
    batch_size: int = 16
    crop_frames: int = 32
    learning_rate: float = 2e-3
    seed: int = 0


# ------------------------------------------------------------------------------------------------ model


class MelVocoder(nn.Module):
    """Normalised log-Mel ``[B, N, M]`` (``LogMelFeatures``) to a waveform ``[B, 1, N * hop]``."""

    def __init__(self, features: LogMelFeatures, decoder: ConvDecoder, sample_rate: int) -> None:
        super().__init__()
        self.features, self.decoder, self.sample_rate = features, decoder, sample_rate

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Waveform ``[B, 1, N * hop]`` in [-1, 1] from mel ``[B, N, M]``."""
        return self.decoder(mel.transpose(1, 2))  # [B, M, N] -> [B, 1, N * hop]


def build_vocoder(cfg: VocoderConfig) -> MelVocoder:
    """Build an untrained vocoder from its config."""
    if int(np.prod(cfg.strides)) != cfg.hop_length:
        raise ValueError(f"strides {cfg.strides} must multiply to the hop {cfg.hop_length}")
    features = LogMelFeatures(cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.n_mels)
    return MelVocoder(features, ConvDecoder(1, cfg.base, cfg.strides, cfg.n_mels), cfg.sample_rate)


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
    vocoder, loss_fn = build_vocoder(cfg), MultiScaleMelLoss(cfg.sample_rate)
    optimizer = torch.optim.AdamW(vocoder.decoder.parameters(), lr=train.learning_rate)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, train.learning_rate, total_steps=train.steps)
    generator = torch.Generator().manual_seed(train.seed)
    crop = train.crop_frames * cfg.hop_length
    out = Path(out_dir) if out_dir else None

    def step_loss() -> torch.Tensor:
        target = draw_crops(audio, train.batch_size, crop, generator)
        return loss_fn(vocoder(vocoder.features(target)), target)

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
