"""VGGish (Hershey et al. 2017) as av-benchmark uses it for FD_VGG: 16 kHz, 0.96 s frames, 128-d, no PCA.

The network reads the official PyTorch port's checkpoint (``harritaylor/torchvggish`` release v0.1,
``vggish-10086976.pth``): ``features.{0,3,6,8,11,13}`` (3x3 convolutions 64, 128, 256, 256, 512, 512 with
2x2 max pools after the 1st, 2nd, 4th and 6th) and ``embeddings.{0,2,4}`` (12288 -> 4096 -> 4096 -> 128).
av-benchmark (``av_bench/vggish/vggish.py``) drops the ReLU after the last layer and the PCA/quantisation
post-processing; ``final_relu=True`` gives torchvggish's own output.

Front end (``vggish_input.waveform_to_examples`` / ``mel_features.py``): frames of 400 samples every 160
with no padding, periodic Hann window, magnitude of a 512-point real FFT, an HTK-mel matrix of 64 bands
from 125 to 7500 Hz with the DC bin zeroed, ``log(mel + 0.01)``, then non-overlapping examples of 96
frames (incomplete ones dropped). Input ``[B, N]`` at 16 kHz, output ``[B, examples, 128]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from avikit.errors import UsageError

__all__ = ["VGGISH_FRONT_END", "VGGish", "VGGishConfig", "vggish_examples", "vggish_mel_matrix"]

VGGISH_FRONT_END: dict[str, Any] = {
    "sample_rate": 16000,
    "window": 400,
    "hop": 160,
    "n_fft": 512,
    "n_mels": 64,
    "f_min": 125.0,
    "f_max": 7500.0,
    "log_offset": 0.01,
    "example_frames": 96,
}
"""The published VGGish input definition (``vggish_params.py``)."""


def vggish_mel_matrix(
    sample_rate: int = 16000,
    num_bins: int = 257,
    n_mels: int = 64,
    f_min: float = 125.0,
    f_max: float = 7500.0,
) -> torch.Tensor:
    """HTK-mel weights ``[num_bins, n_mels]``: triangles linear in mel ``1127 ln(1 + f / 700)``, DC bin 0."""
    mel = lambda hz: 1127.0 * np.log1p(np.asarray(hz, np.float64) / 700.0)  # noqa: E731
    bins = mel(np.linspace(0.0, sample_rate / 2, num_bins))[:, None]  # [F, 1]
    edges = np.linspace(mel(f_min), mel(f_max), n_mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(
        0.0, np.minimum((bins - lower) / (centre - lower), (upper - bins) / (upper - centre))
    )
    weights[0] = 0.0
    return torch.from_numpy(weights)


def vggish_examples(waveform: torch.Tensor) -> torch.Tensor:
    """Log-mel examples ``[B, E, 96, 64]`` (float32) of 16 kHz waveforms ``[B, N]``; computed in float64."""
    cfg = VGGISH_FRONT_END
    if waveform.ndim != 2 or waveform.shape[-1] < cfg["window"]:
        raise UsageError(f"VGGish needs waveforms [B, N] with N >= 400 samples, got {list(waveform.shape)}")
    frames = waveform.to(torch.float64).unfold(-1, cfg["window"], cfg["hop"])  # [B, T, 400]
    window = 0.5 - 0.5 * torch.cos(
        2 * math.pi / cfg["window"] * torch.arange(cfg["window"], dtype=torch.float64)
    )
    magnitude = torch.fft.rfft(frames * window, n=cfg["n_fft"]).abs()  # [B, T, 257]
    mel = magnitude @ vggish_mel_matrix(
        cfg["sample_rate"], cfg["n_fft"] // 2 + 1, cfg["n_mels"]
    )  # [B, T, 64]
    logmel = torch.log(mel + cfg["log_offset"])
    count = logmel.shape[1] // cfg["example_frames"]
    return logmel[:, : count * cfg["example_frames"]].reshape(len(logmel), count, -1, cfg["n_mels"]).float()


@dataclass(frozen=True)
class VGGishConfig:
    """Widths; the defaults are the published VGGish (72,141,184 parameters)."""

    widths: tuple[int, int, int, int, int, int] = (64, 128, 256, 256, 512, 512)
    hidden: int = 4096
    dim: int = 128


def _features(widths: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 1
    plan = (widths[0], "M", widths[1], "M", widths[2], widths[3], "M", widths[4], widths[5], "M")
    for width in plan:
        if width == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(width), 3, padding=1), nn.ReLU(inplace=True)]
            channels = int(width)
    return nn.Sequential(*layers)


class VGGish(nn.Module):
    """VGGish with its front end: ``[B, N]`` 16 kHz waveform -> ``{"embedding": [B, E, 128]}``."""

    def __init__(self, cfg: VGGishConfig, final_relu: bool = False) -> None:
        super().__init__()
        self.features = _features(cfg.widths)
        tail: list[nn.Module] = [nn.ReLU(inplace=True)] if final_relu else []
        self.embeddings = nn.Sequential(
            nn.Linear(cfg.widths[-1] * 4 * 6, cfg.hidden),  # 4 mel x 6 frames are left after four 2x2 pools
            nn.ReLU(True),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.ReLU(True),
            nn.Linear(cfg.hidden, cfg.dim),
            *tail,
        )

    def embed_examples(self, examples: torch.Tensor) -> torch.Tensor:
        """``[B, E, 96, 64]`` log-mel examples -> ``[B, E, 128]``."""
        batch, count = examples.shape[:2]
        x = self.features(examples.reshape(batch * count, 1, *examples.shape[2:]))  # [BE, 512, 6, 4]
        x = x.permute(0, 2, 3, 1).reshape(batch * count, -1)  # channels last, as the TF original
        return self.embeddings(x).reshape(batch, count, -1)

    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        """``[B, N]`` -> ``{"embedding": [B, E, 128]}`` with ``E = floor((1 + (N - 400) // 160) / 96)``."""
        return {"embedding": self.embed_examples(vggish_examples(waveform))}
