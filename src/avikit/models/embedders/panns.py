"""PANNs Cnn14 (Kong et al. 2020) in the 16 kHz variant av-benchmark uses for FD_PANNs, KL and IS.

Reads the official checkpoint (``Cnn14_16k_mAP=0.438.pth`` of ``qiuqiangkong/audioset_tagging_cnn``, a dict
whose ``"model"`` entry is the state dict) key for key:

- ``spectrogram_extractor.stft.conv_{real,imag}.weight`` ``[n_fft/2+1, 1, n_fft]``: torchlibrosa's STFT as
  a convolution with Hann-windowed DFT kernels (centred frames, reflect padding), power spectrum;
- ``logmel_extractor.melW`` ``[n_fft/2+1, mel_bins]``: librosa's Slaney mel filters, then
  ``10 log10(max(x, 1e-10))`` (``ref=1``, no ``top_db``);
- ``bn0`` over mel bins, ``conv_block{1..6}.{conv1,conv2,bn1,bn2}`` (64 ... 2048 channels, 2x2 average
  pools except the last), ``fc1`` (2048 -> 2048) and ``fc_audioset`` (2048 -> 527).

Output (``av_bench/panns/models.py::Cnn14.forward``): ``embedding`` = ReLU(fc1(mean over frequency, then
max + mean over time)), ``logits`` = fc_audioset(embedding) before the sigmoid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.media.mel import mel_filterbank

__all__ = ["Cnn14", "Cnn14Config"]


@dataclass(frozen=True)
class Cnn14Config:
    """Front end and widths; the defaults are the 16 kHz checkpoint av-benchmark loads."""

    sample_rate: int = 16000
    window_size: int = 512
    hop_size: int = 160
    mel_bins: int = 64
    f_min: float = 50.0
    f_max: float = 8000.0
    classes: int = 527
    widths: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048)


class _STFT(nn.Module):
    """Holds the DFT kernels under torchlibrosa's key names (``conv_real``, ``conv_imag``)."""

    def __init__(self, n_fft: int) -> None:
        super().__init__()
        bins = n_fft // 2 + 1
        self.conv_real = nn.Conv1d(1, bins, n_fft, bias=False)
        self.conv_imag = nn.Conv1d(1, bins, n_fft, bias=False)
        n = torch.arange(n_fft, dtype=torch.float64)
        window = 0.5 - 0.5 * torch.cos(2 * math.pi * n / n_fft)  # periodic Hann
        angle = 2 * math.pi * torch.arange(bins, dtype=torch.float64)[:, None] * n[None] / n_fft  # [F, n_fft]
        with torch.no_grad():
            self.conv_real.weight.copy_((torch.cos(angle) * window)[:, None])
            self.conv_imag.weight.copy_((-torch.sin(angle) * window)[:, None])
        self.requires_grad_(False)  # fixed, as torchlibrosa's ``freeze_parameters=True``


class _Spectrogram(nn.Module):
    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        self.stft, self.n_fft, self.hop = _STFT(n_fft), n_fft, hop

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``[B, N]`` -> power ``[B, 1, T, F]`` with ``T = 1 + N // hop``."""
        x = F.pad(waveform[:, None], (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        real = F.conv1d(x, self.stft.conv_real.weight, stride=self.hop)
        imag = F.conv1d(x, self.stft.conv_imag.weight, stride=self.hop)
        return (real.square() + imag.square()).transpose(1, 2)[:, None]


class _LogMel(nn.Module):
    def __init__(self, cfg: Cnn14Config) -> None:
        super().__init__()
        weights = mel_filterbank(cfg.sample_rate, cfg.window_size, cfg.mel_bins, cfg.f_min, cfg.f_max)
        self.melW = nn.Parameter(torch.from_numpy(weights.T.astype("float32")), requires_grad=False)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        """``[B, 1, T, F]`` -> dB ``[B, 1, T, mel_bins]``."""
        return 10.0 * torch.log10(torch.clamp(power @ self.melW, min=1e-10))


class _ConvBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False)
        self.bn1, self.bn2 = nn.BatchNorm2d(channels_out), nn.BatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor, pool: int) -> torch.Tensor:
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.avg_pool2d(x, pool) if pool > 1 else x


class Cnn14(nn.Module):
    """``[B, N]`` waveform -> ``{"embedding": [B, 2048], "logits": [B, 527]}`` (eval mode)."""

    def __init__(self, cfg: Cnn14Config) -> None:
        super().__init__()
        self.spectrogram_extractor = _Spectrogram(cfg.window_size, cfg.hop_size)
        self.logmel_extractor = _LogMel(cfg)
        self.bn0 = nn.BatchNorm2d(cfg.mel_bins)
        widths = (1, *cfg.widths)
        for index in range(len(cfg.widths)):
            self.add_module(f"conv_block{index + 1}", _ConvBlock(widths[index], widths[index + 1]))
        self.fc1 = nn.Linear(cfg.widths[-1], cfg.widths[-1])
        self.fc_audioset = nn.Linear(cfg.widths[-1], cfg.classes)
        self.num_blocks = len(cfg.widths)

    def log_mel(self, waveform: torch.Tensor) -> torch.Tensor:
        """The front end: ``[B, N]`` -> ``[B, 1, T, mel_bins]`` in dB."""
        return self.logmel_extractor(self.spectrogram_extractor(waveform))

    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        """Clip-level embedding and pre-sigmoid logits."""
        x = self.bn0(self.log_mel(waveform).transpose(1, 3)).transpose(1, 3)  # [B, 1, T, M]
        for index in range(self.num_blocks):
            block = getattr(self, f"conv_block{index + 1}")
            x = block(x, pool=2 if index < self.num_blocks - 1 else 1)
        x = x.mean(dim=3)  # [B, C, T']
        x = x.amax(dim=2) + x.mean(dim=2)
        embedding = F.relu(self.fc1(x))
        return {"embedding": embedding, "logits": self.fc_audioset(embedding)}
