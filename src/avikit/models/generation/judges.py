"""Small judges of generated media on AVSynth: retrieval features, a sync scorer and trained embedders.

They score generators in the recipes and the generation studies, and index the retrieval baselines:
:func:`visual_feature` and :func:`audio_feature` (clip features for nearest-neighbour retrieval),
:func:`sync_logits` / :func:`sync_scores` (correlation of audio and video change at each offset, a DeSync
analogue), :class:`PairEmbedder` (a contrastive audio/video embedder, an IB-score analogue) and
:class:`SourceClassifier` (which source a generated clip shows and sounds like).

Example:
    >>> import torch
    >>> visual_feature(torch.zeros(2, 4, 3, 16, 16)).shape
    (2, 195)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.metrics.generation import evaluate_desync

__all__ = [
    "PairEmbedder",
    "SourceClassifier",
    "audio_feature",
    "sync_logits",
    "sync_scores",
    "visual_feature",
]


SYNC_OFFSETS = np.arange(-3, 4)
"""Offsets (video frames) the simple sync scorer compares."""


# ---------------------------------------------------------------------------------------------- scoring


def visual_feature(frames: torch.Tensor) -> np.ndarray:
    """Retrieval feature per clip ``[N, F]``: the mean 8x8 colour image and the per-frame change curve."""
    pooled = F.adaptive_avg_pool2d(frames.flatten(0, 1), 8).reshape(*frames.shape[:2], -1)  # [N, T, 192]
    change = (frames[:, 1:] - frames[:, :-1]).abs().mean(dim=(2, 3, 4))  # [N, T-1]
    return torch.cat([pooled.mean(1), change], dim=1).numpy()


def _activity(audio: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Audio loudness change and video change per video frame: ``[N, T]`` each, z-scored."""
    count = frames.shape[1]
    rms = np.sqrt(
        np.mean(audio[:, 0, : count * (audio.shape[-1] // count)].reshape(len(audio), count, -1) ** 2, -1)
    )
    loud = np.abs(np.diff(np.log(rms + 1e-4), axis=1, prepend=np.log(rms[:, :1] + 1e-4)))
    change = np.abs(np.diff(frames, axis=1, prepend=frames[:, :1])).mean(axis=(2, 3, 4))
    z = [(x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-6) for x in (loud, change)]
    return z[0], z[1]


def sync_logits(audio: torch.Tensor, frames: torch.Tensor) -> np.ndarray:
    """Simple sync scorer: ``[N, 1, K]`` correlations of video change and audio change at each offset.

    Offsets are :data:`SYNC_OFFSETS` video frames (audio shifted later by the offset); the argmax is the
    predicted offset, so an in-sync generation scores 0 s DeSync.
    """
    loud, change = _activity(audio.numpy(), frames.numpy())
    count, out = loud.shape[1], []
    for shift in SYNC_OFFSETS:
        a = loud[:, max(shift, 0) : count + min(shift, 0)]
        v = change[:, max(-shift, 0) : count + min(-shift, 0)]
        out.append(np.mean(a * v, axis=1))
    return np.stack(out, axis=1)[:, None]


class PairEmbedder(nn.Module):
    """Tiny contrastive audio/video embedder for the alignment score (an IB-score analogue on AVSynth)."""

    def __init__(self, mel_bins: int = 64, dim: int = 32) -> None:
        super().__init__()
        self.mel_bins = mel_bins
        self.audio = nn.Sequential(nn.Linear(mel_bins, 64), nn.GELU(), nn.Linear(64, dim))
        self.video = nn.Sequential(nn.Linear(192, 64), nn.GELU(), nn.Linear(64, dim))

    def _audio_features(self, audio: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(audio[:, 0], 1024, 256, window=torch.hann_window(1024), return_complex=True).abs()
        profile = torch.log(spec + 1e-4).mean(-1)[:, None]  # [N, 1, F]: time-averaged log spectrum
        return F.adaptive_avg_pool1d(profile, self.mel_bins)[:, 0]

    @staticmethod
    def _video_features(frames: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(frames.flatten(0, 1), 8)  # [N*T, 3, 8, 8]
        return pooled.reshape(*frames.shape[:2], -1).mean(1)  # [N, 192]: mean colour image

    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """``[N, 1, S]`` to unit vectors ``[N, dim]`` (from the time-averaged log spectrum)."""
        return F.normalize(self.audio(self._audio_features(audio)), dim=-1)

    def embed_video(self, frames: torch.Tensor) -> torch.Tensor:
        """``[N, T, 3, H, W]`` to unit vectors ``[N, dim]`` (from the mean 8x8 colour image)."""
        return F.normalize(self.video(self._video_features(frames)), dim=-1)

    def fit(self, audio: torch.Tensor, frames: torch.Tensor, steps: int = 300, seed: int = 0) -> PairEmbedder:
        """InfoNCE on the paired clips; returns ``self`` in eval mode."""
        torch.manual_seed(seed)
        optimizer = torch.optim.Adam(self.parameters(), lr=3e-3)
        audio_in, video_in = self._audio_features(audio), self._video_features(frames)
        target = torch.arange(len(audio))
        for _ in range(steps):
            a = F.normalize(self.audio(audio_in), dim=-1)
            v = F.normalize(self.video(video_in), dim=-1)
            logits = a @ v.T / 0.1  # [N, N]
            loss = F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return self.eval()


def _uint8(frames: torch.Tensor) -> np.ndarray:
    """``[N, T, 3, H, W]`` in [0, 1] to ``uint8 [N, T, H, W, 3]``."""
    return (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).numpy()


def sync_scores(audio: torch.Tensor, frames: torch.Tensor) -> dict[str, float]:
    """Offset accuracy, DeSync (s) and the zero-offset activity correlation of the simple sync scorer."""
    logits = sync_logits(audio, frames)  # [N, 1, K]
    grid = SYNC_OFFSETS / 8.0  # video frames to seconds at 8 fps
    zero = int(np.flatnonzero(SYNC_OFFSETS == 0)[0])
    return {
        "offset_accuracy": float(np.mean(SYNC_OFFSETS[logits[:, 0].argmax(1)] == 0)),
        "desync": evaluate_desync(logits, grid)["desync"],
        "activity_correlation": float(np.mean(logits[:, 0, zero])),
    }


def audio_feature(audio: torch.Tensor) -> np.ndarray:
    """Retrieval feature ``[N, F]``: mean log spectrum (32 bands) and the loudness curve per 1/8 s."""
    spec = torch.stft(audio[:, 0], 512, 250, window=torch.hann_window(512), return_complex=True).abs()
    profile = F.adaptive_avg_pool1d(torch.log(spec + 1e-4).mean(-1)[:, None], 32)[:, 0]  # [N, 32]
    loud = torch.log(spec.square().mean(1) + 1e-6)  # [N, frames]
    curve = F.adaptive_avg_pool1d(loud[:, None], audio.shape[-1] // 2000)[:, 0]  # [N, T]
    return torch.cat([profile, curve], dim=1).numpy()


class SourceClassifier(nn.Module):
    """Tiny class recogniser for class consistency: audio from its log spectrum, video from its colours."""

    def __init__(self, num_classes: int, hidden: int = 64) -> None:
        super().__init__()
        self.audio = nn.Sequential(nn.Linear(64, hidden), nn.GELU(), nn.Linear(hidden, num_classes))
        self.video = nn.Sequential(nn.Linear(199, hidden), nn.GELU(), nn.Linear(hidden, num_classes))

    @staticmethod
    def audio_features(audio: torch.Tensor) -> torch.Tensor:
        """``[N, 1, S]`` to the time-averaged log spectrum in 64 bands ``[N, 64]``."""
        spec = torch.stft(audio[:, 0], 1024, 256, window=torch.hann_window(1024), return_complex=True).abs()
        return F.adaptive_avg_pool1d(torch.log(spec + 1e-4).mean(-1)[:, None], 64)[:, 0]

    @staticmethod
    def video_features(frames: torch.Tensor) -> torch.Tensor:
        """``[N, T, 3, H, W]`` to the colours of the 16 pixels furthest from the median colour, and more.

        Per clip ``[N, 199]``: mean and spread of those pixels' colours, the share of pixels far from the
        median, and the mean 8x8 colour image.
        """
        flat = frames.flatten(3)  # [N, T, 3, HW]
        deviation = (flat - flat.median(-1, keepdim=True).values).abs().sum(2)  # [N, T, HW]
        top = deviation.topk(16, dim=-1).indices[:, :, None].expand(-1, -1, 3, -1)  # [N, T, 3, 16]
        colours = flat.gather(-1, top)  # [N, T, 3, 16]
        pooled = F.adaptive_avg_pool2d(frames.flatten(0, 1), 8).reshape(*frames.shape[:2], -1)  # [N, T, 192]
        parts = [colours.mean(-1), colours.std(-1), (deviation > 0.3).float().mean(-1, keepdim=True), pooled]
        return torch.cat([p.mean(1) for p in parts], dim=1)

    def fit(
        self, audio: torch.Tensor, frames: torch.Tensor, labels: torch.Tensor, steps: int = 500
    ) -> SourceClassifier:
        """Cross-entropy on both heads; returns ``self`` in eval mode."""
        optimizer = torch.optim.Adam(self.parameters(), lr=3e-3, weight_decay=1e-4)
        a, v = self.audio_features(audio), self.video_features(frames)
        for _ in range(steps):
            loss = F.cross_entropy(self.audio(a), labels) + F.cross_entropy(self.video(v), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return self.eval()

    @torch.no_grad()
    def predict(self, audio: torch.Tensor, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class indices ``([N] from audio, [N] from video)``."""
        a, v = self.audio(self.audio_features(audio)), self.video(self.video_features(frames))
        return a.argmax(-1), v.argmax(-1)
