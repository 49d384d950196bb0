"""AVS reference model: TPAVI audio-conditioned mask decoding of the sounding objects, binary and semantic.

After Zhou et al., "Audio-Visual Segmentation" (ECCV 2022, AVSBench). The frozen AVSynth trunk encodes the
five task frames and the audio around each (one second per frame); temporal pixel-wise audio-visual
interaction (TPAVI) lets every pixel of every frame read the audio, and an upsampling decoder gives mask
logits: channel 0 is the binary "sounding object" mask (S4/MS3), channels 1.. the semantic classes with
background first (trained jointly, they regularise the decoder). Visible silent objects look like sounding
ones; only the audio tells them apart.

The semantic masks (AVSS) combine what each stream knows best. Each connected region of the binary mask is
one object; it takes the class that maximises, summed over its pixels, the log-probability of a per-pixel
appearance classifier (the picture, read from the trunk's maps and the frame's own colours: which object
is here) plus the log-probability that the class is heard in that frame's second of audio (the sound,
read from its log-Mel spectrum: which classes sound now); a region whose class is not heard is a silent
object and stays background.

Example:
    >>> import torch
    >>> head = build_avs_head(AVSConfig(dim=32))
    >>> features = {"audio_segments": torch.randn(2, 5, 32), "visual_maps": torch.randn(2, 5, 32, 4, 4),
    ...             "colours": torch.rand(2, 5, 3, 16, 16), "spectra": torch.randn(2, 5, 128)}
    >>> head(features).shape  # 1 binary + background + 27 classes, 4 x 4 maps upsampled twice
    torch.Size([2, 5, 29, 16, 16])
    >>> head.semantic_masks(features, size=(16, 16)).shape  # 0 background, else class index + 1
    torch.Size([2, 5, 16, 16])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from numpy.typing import NDArray
from scipy import ndimage
from torch import nn

from avikit.data.synth.classes import CLASS_NAMES
from avikit.errors import UsageError
from avikit.media import log_mel
from avikit.models.encoders.input_geometry import LabelMap
from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.nn import AudioConditionedMaskDecoder
from avikit.tasks import Task, encode_mask

__all__ = [
    "HEARD_THRESHOLD",
    "KIND",
    "N_MELS",
    "AVSConfig",
    "AVSModel",
    "AppearanceMap",
    "build_avs_head",
    "frame_colours",
    "from_pretrained",
    "segment_spectra",
]

KIND = "avikit.models.avs"
_CHANNELS = 2 + len(CLASS_NAMES)  # binary, background, classes
HEARD_THRESHOLD = 0.2
"""A segmented region is labelled only if its class is heard with at least this probability (chosen on the
AVSynth ``val`` split among 0.1, 0.2, 0.3 and 0.5)."""
_SAMPLE_RATE = 16000
N_MELS = 64
"""Mel bands of the audio spectra (:func:`segment_spectra`)."""
_HOP = 320


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class AVSConfig:
    """Sizes of the mask head; ``dim`` is the trunk's width; masks are learned at ``train_size`` pixels."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 64
    upsample_steps: int = 2
    train_size: int = 32


# ------------------------------------------------------------------------------------------------ model


class AVSModel(TrunkModel):
    """The frozen trunk and a TPAVI mask decoder, measured on ``avs-binary`` and ``avs-semantic``."""

    tasks: tuple[str, ...] = ("avs-binary", "avs-semantic")
    default_id = "avikit/avs"
    head: AVSHead

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Run-length masks of every item's frames at the dataset's mask size.

        Binary, or the dataset's class index + 1 among the classes it declares.
        """
        self.check_task(task)
        batch = self.adapt(task, batch)
        features = encode_items(self.encoder, batch, len(batch[0].inputs.frames))
        features["colours"] = frame_colours(np.stack([item.frames for item in batch]))
        waveform = np.stack([item.waveform for item in batch]).astype(np.float32, copy=False)
        features["spectra"] = segment_spectra(waveform, len(batch[0].inputs.frames))
        size = tuple(task.spec.protocol.geometry.get("mask_size") or batch[0].inputs.frame_size)
        if task.name == "avs-binary":
            masks = (self.head(features, size=size)[:, :, 0] > 0).long()  # [B, T, H, W]: 0/1
        else:
            labels = LabelMap(CLASS_NAMES, task.vocabularies()["classes"])
            ours = self.head.semantic_masks(features, size, labels.mask()).numpy()  # 0, or our index + 1
            lut = np.zeros(len(CLASS_NAMES) + 1, dtype=np.int64)
            for k, c in labels.to_dataset.items():
                lut[k + 1] = c + 1
            masks = torch.from_numpy(lut[ours])  # [B, T, H, W]: 0, or the dataset's class index + 1
        return [
            {"id": item.id, "masks": [encode_mask(m) for m in mask.numpy()]}
            for item, mask in zip(batch, masks, strict=True)
        ]


def _head_inputs(features: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return features["visual_maps"], features["audio_segments"]


class AppearanceMap(nn.Module):
    """Per-position scores of a frame from the trunk's maps and the frame's own colours.

    ``maps [N, D, h, w]`` are projected at their own grid and upsampled to the colours' grid, the colours
    ``[N, 3, s, s]`` pass a 3 x 3 convolution; the sum, after a GELU, is projected to ``[N, K, s, s]``.
    """

    def __init__(self, dim: int, hidden: int, out: int) -> None:
        super().__init__()
        self.maps = nn.Conv2d(dim, hidden, 1)
        self.colours = nn.Conv2d(3, hidden, 3, padding=1)
        self.out = nn.Conv2d(hidden, out, 1)

    def forward(self, maps: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
        """``[N, D, h, w]`` and ``[N, 3, s, s]`` -> ``[N, K, s, s]``."""
        up = F.interpolate(self.maps(maps), size=colours.shape[-2:], mode="bilinear", align_corners=False)
        return self.out(F.gelu(up + self.colours(colours)))


class AVSHead(AudioConditionedMaskDecoder):
    """The TPAVI decoder, called with the trunk's features by name, plus the two class cues of AVSS.

    ``appearance`` scores the classes at every position of the frame (``[B*T, C, s, s]``, see
    :class:`AppearanceMap`); ``heard`` scores the classes heard in each frame's audio from its spectrum
    (``[B, T, 2M] -> [B, T, C]``).
    """

    def __init__(self, dim: int, upsample_steps: int, appearance: AppearanceMap, heard: nn.Module) -> None:
        super().__init__(dim, _CHANNELS, upsample_steps)
        self.appearance, self.heard = appearance, heard

    def forward(  # type: ignore[override]
        self,
        features: Mapping[str, torch.Tensor] | tuple[torch.Tensor, torch.Tensor],
        size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Mask logits ``[B, T, 29, H', W']`` from ``visual_maps`` and ``audio_segments``."""
        maps, audio = _head_inputs(features) if isinstance(features, Mapping) else features
        return super().forward(maps, audio, size)

    def class_logits(
        self, features: Mapping[str, torch.Tensor], size: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Appearance logits ``[B, T, C, H, W]`` (resized to ``size``) and heard logits ``[B, T, C]``.

        The appearance classifier (:class:`AppearanceMap`) reads the trunk's maps and ``colours``
        ``[B, T, 3, s, s]`` (the frames area-averaged to ``s`` pixels, see :func:`frame_colours`).
        """
        maps = features["visual_maps"]
        b, t = maps.shape[:2]
        looks = self.appearance(maps.flatten(0, 1), features["colours"].flatten(0, 1))  # [B*T, C, s, s]
        looks = F.interpolate(looks, size=size, mode="bilinear", align_corners=False)
        return looks.view(b, t, *looks.shape[1:]), self.heard(features["spectra"])

    @torch.no_grad()
    def semantic_masks(
        self,
        features: Mapping[str, torch.Tensor],
        size: tuple[int, int],
        allowed: NDArray[np.bool_] | None = None,
    ) -> torch.Tensor:
        """``[B, T, H, W]``: 0 for background, else class index + 1 on each sounding object.

        Every connected region of the binary mask takes the class with the highest summed score over its
        pixels (appearance log-probability plus the log-probability that the class is heard), among the
        ``allowed`` classes (default: all); a region whose class is heard with probability under
        ``HEARD_THRESHOLD`` is a silent object and stays background.
        """
        binary = (self(features, size=size)[:, :, 0] > 0).numpy()  # [B, T, H, W]
        looks, heard = self.class_logits(features, size)
        score = (looks.log_softmax(dim=2) + F.logsigmoid(heard)[..., None, None]).numpy()  # [B, T, C, H, W]
        heard = heard.sigmoid()  # [B, T, C]
        out = np.zeros(binary.shape, dtype=np.int64)
        for b, t in np.ndindex(*binary.shape[:2]):
            regions, count = ndimage.label(binary[b, t])
            for region in range(1, count + 1):
                inside = regions == region
                totals = score[b, t][:, inside].sum(axis=1)
                if allowed is not None:
                    totals = np.where(allowed, totals, -np.inf)
                label = int(totals.argmax())
                if heard[b, t, label] >= HEARD_THRESHOLD:
                    out[b, t][inside] = label + 1
        return torch.from_numpy(out)


def build_avs_head(cfg: AVSConfig) -> AVSHead:
    """Build the TPAVI mask decoder (binary channel, background, one channel per class) and the class cues."""
    classes = len(CLASS_NAMES)
    appearance = AppearanceMap(cfg.dim, cfg.hidden, classes)
    heard = nn.Sequential(
        nn.LayerNorm(2 * N_MELS),
        nn.Linear(2 * N_MELS, cfg.hidden),
        nn.GELU(),
        nn.Linear(cfg.hidden, classes),
    )
    return AVSHead(cfg.dim, cfg.upsample_steps, appearance, heard)


def from_pretrained(name_or_path: str | os.PathLike[str] = "avs") -> AVSModel:
    """Load the model from a packaged name (default ``"avs"``), a folder or a hub id, in eval mode."""
    head, _, encoder, weights_hash = load_head(name_or_path, AVSConfig, build_avs_head, KIND)
    return AVSModel(encoder, head, weights_hash=weights_hash).eval()


def frame_colours(frames: NDArray[np.uint8], size: int = 32) -> torch.Tensor:
    """Frames ``[B, T, H, W, 3]`` uint8 -> colours ``[B, T, 3, size, size]`` in ``[0, 1]`` (area average)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).float().div(255)  # [B, T, H, W, 3]
    b, t = x.shape[:2]
    pooled = F.adaptive_avg_pool2d(x.flatten(0, 1).permute(0, 3, 1, 2), size)  # [B*T, 3, size, size]
    return pooled.view(b, t, 3, size, size)


def segment_spectra(waveform: NDArray[np.float32], num_segments: int) -> torch.Tensor:
    """Mean and max log-Mel spectrum of each of ``num_segments`` equal parts of the audio.

    ``[B, C, N]`` at 16 kHz -> ``[B, num_segments, 2 * 64]`` (64 Mel bands, 20 ms hops, channels averaged).
    The classes of AVSynth differ in pitch and spectral shape, which a spectrum keeps.

    Example:
        >>> segment_spectra(np.zeros((1, 2, 160000), np.float32), 5).shape
        torch.Size([1, 5, 128])
    """
    mono = torch.from_numpy(np.ascontiguousarray(waveform)).float().mean(dim=1)  # [B, N]
    mel = log_mel(mono, _SAMPLE_RATE, N_MELS, n_fft=1024, hop_length=_HOP, amin=1e-6)  # [B, M, frames]
    steps = mel.shape[-1] // num_segments
    if steps < 1:
        raise UsageError(
            f"{mono.shape[-1]} audio samples cannot cover {num_segments} segments; pass more audio"
        )
    parts = mel[..., : steps * num_segments].unflatten(-1, (num_segments, steps))  # [B, M, S, steps]
    return torch.cat([parts.mean(-1), parts.amax(-1)], dim=1).transpose(1, 2)  # [B, S, 2M]
