"""ImageBind-huge (Girdhar et al. 2023), audio and vision branches, as av-benchmark's IB-score uses them.

Reads the published ``imagebind_huge.pth`` in its own key layout; the text, depth, thermal and IMU branches
in that file are skipped by name (only ``modality_*.{text,depth,thermal,imu}.*``), every other key must match:

- ``modality_preprocessors.audio``: ``rgbt_stem.proj`` (Conv2d 1 -> 768, 16x16, stride 10, no bias: 12 x 19
  patches of a 128 x 204 fbank), ``rgbt_stem.norm_layer`` (LayerNorm), ``cls_token``,
  ``pos_embedding_helper.pos_embed`` ``[1, 229, 768]``;
- ``modality_preprocessors.vision``: ``rgbt_stem.proj.1`` (Conv3d 3 -> 1280, kernel and stride (2, 14, 14),
  no bias; a single image is repeated to 2 frames), ``cls_token``, ``pos_embedding_helper.pos_embed``
  ``[1, 257, 1280]``;
- ``modality_trunks.{audio,vision}``: pre-norm blocks ``blocks.N`` with ``attn`` (torch's
  ``nn.MultiheadAttention``: ``in_proj_weight``, ``out_proj``; the audio trunk adds ``bias_k`` / ``bias_v``,
  one learned key and value appended to the sequence), ``norm_1``, ``norm_2``, ``mlp.fc1``, ``mlp.fc2``
  (LayerNorm eps 1e-6, exact GELU); the vision trunk first applies ``pre_transformer_layer.0`` (LayerNorm);
  12 blocks of 768 with 12 heads (audio), 32 blocks of 1280 with 16 heads (vision);
- ``modality_heads.{audio,vision}``: ``0`` LayerNorm, the first token, ``2`` Linear to 1024 (no bias);
- ``modality_postprocessors``: L2 normalisation; audio then scales by ``exp(1.log_logit_scale)`` (20).

Several clips of one input (3 audio clips, 3 crops x 3 frame pairs of a video) are embedded separately and
their post-processed embeddings averaged, as ``ImageBindModel.forward`` does for inputs of 5 or more axes.

Audio input (``load_and_transform_audio_data``, av-benchmark's ``ImageBindAudioDataset``): the whole file
at 16 kHz; 3 clips of 2 s starting at ``k (d - 2) / 2`` s (pytorchvideo's ``ConstantClipsPerVideoSampler``
over a clip of ``d`` s, sample indices truncated); each clip's mean removed, a Kaldi fbank of 128 bins
(:func:`~avikit.models.embedders.kaldi.kaldi_fbank`), zero-padded or cut to 204 frames, then
``(x + 4.268) / 9.138``.

Video input (av-benchmark ``VideoDataset``, ``encode_video_with_imagebind``): 0.5 fps frames of the first
8 s (4 frames); the shorter side resized to 224 (bicubic, antialiased, rounded back to 8 bits as torchvision
does for ``uint8``), scaled to [0, 1], CLIP's mean and std; 3 crops of 224 (left, centre, right of the
longer side: pytorchvideo's ``uniform_crop``); every pair of consecutive frames is a 2-frame clip.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.media import AVClip
from avikit.models.embedders.base import ModuleEmbedder, TimmMlp, load_checkpoint_state, load_state_strict
from avikit.models.embedders.hub import WEIGHTS, resolve_weights
from avikit.models.embedders.kaldi import kaldi_fbank

__all__ = [
    "IMAGEBIND_AUDIO",
    "IMAGEBIND_VISION",
    "ImageBind",
    "ImageBindConfig",
    "ImageBindVideoEmbedder",
    "imagebind_audio_clips",
    "imagebind_clip_starts",
    "imagebind_video_clips",
    "load_imagebind",
    "load_imagebind_audio",
    "load_imagebind_video",
]

IMAGEBIND_AUDIO: dict[str, Any] = {
    "sample_rate": 16000,
    "clips": 3,
    "clip_seconds": 2,
    "n_mels": 128,
    "frames": 204,
    "frame_length_ms": 25.0,
    "frame_shift_ms": 10.0,
    "f_min": 20.0,
    "mean": -4.268,
    "std": 9.138,
}
"""``load_and_transform_audio_data``'s defaults, which av-benchmark keeps."""

IMAGEBIND_VISION: dict[str, Any] = {
    "fps": 0.5,
    "duration": 8.0,
    "image_size": 224,
    "resize": "shorter side, bicubic, antialiased, uint8",
    "mean": (0.48145466, 0.4578275, 0.40821073),
    "std": (0.26862954, 0.26130258, 0.27577711),
    "crops": 3,
    "frames_per_clip": 2,
}
"""av-benchmark's ImageBind video input (``_IMAGEBIND_FPS``, ``_IMAGEBIND_SIZE``, ``SpatialCrop(224, 3)``)."""

_OTHER_MODALITIES = tuple(
    f"{part}.{modality}."
    for part in ("modality_preprocessors", "modality_trunks", "modality_heads", "modality_postprocessors")
    for modality in ("text", "depth", "thermal", "imu")
)


@dataclass(frozen=True)
class ImageBindConfig:
    """Widths of the audio and vision branches; the defaults are ``imagebind_huge``."""

    out_dim: int = 1024
    audio_dim: int = 768
    audio_depth: int = 12
    audio_heads: int = 12
    n_mels: int = 128
    audio_frames: int = 204
    audio_patch: int = 16
    audio_stride: int = 10
    audio_logit_scale: float = 20.0
    vision_dim: int = 1280
    vision_depth: int = 32
    vision_heads: int = 16
    image_size: int = 224
    vision_patch: int = 14
    video_frames: int = 2

    @property
    def audio_tokens(self) -> int:
        """CLS plus the audio patch grid (229 for 128 x 204)."""
        grid = [(n - self.audio_patch) // self.audio_stride + 1 for n in (self.n_mels, self.audio_frames)]
        return 1 + grid[0] * grid[1]

    @property
    def vision_tokens(self) -> int:
        """CLS plus the image patch grid (257 for 224 px, patch 14)."""
        return 1 + (self.image_size // self.vision_patch) ** 2


class _RepeatToFrames(nn.Module):
    """``[B, C, H, W]`` or ``[B, C, 1, H, W]`` -> ``[B, C, frames, H, W]`` by repetition (``PadIm2Video``)."""

    def __init__(self, frames: int) -> None:
        super().__init__()
        self.frames = frames

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 4:
            x = x[:, :, None]
        if x.ndim != 5:
            raise UsageError(f"ImageBind vision takes [B, 3, H, W] or [B, 3, T, H, W], got {list(x.shape)}")
        return x.expand(-1, -1, self.frames, -1, -1) if x.shape[2] == 1 else x


class _Stem(nn.Module):
    def __init__(self, proj: nn.Module, norm: nn.Module | None) -> None:
        super().__init__()
        self.proj = proj
        if norm is not None:
            self.norm_layer = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x).flatten(2).transpose(1, 2)  # [B, patches, D]
        return self.norm_layer(x) if hasattr(self, "norm_layer") else x


class _PosEmbed(nn.Module):
    def __init__(self, tokens: int, dim: int) -> None:
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * dim**-0.5)


class _Preprocessor(nn.Module):
    """Patches, CLS token, learned positions: ``rgbt_stem``, ``cls_token``, ``pos_embedding_helper``."""

    def __init__(self, stem: _Stem, tokens: int, dim: int) -> None:
        super().__init__()
        self.rgbt_stem = stem
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * dim**-0.5)
        self.pos_embedding_helper = _PosEmbed(tokens, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = self.rgbt_stem(x)
        pos = self.pos_embedding_helper.pos_embed
        if patches.shape[1] + 1 != pos.shape[1]:
            raise UsageError(
                f"ImageBind input gives {patches.shape[1]} patches, the model has positions for "
                f"{pos.shape[1] - 1}; check the input size"
            )
        return torch.cat([self.cls_token.expand(len(patches), -1, -1), patches], dim=1) + pos


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, bias_kv: bool) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, bias=True, add_bias_kv=bias_kv, batch_first=True)
        self.norm_1, self.norm_2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.mlp = TimmMlp(dim, 4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.norm_2(x))


class _Trunk(nn.Module):
    def __init__(self, dim: int, depth: int, heads: int, pre_norm: bool, bias_kv: bool) -> None:
        super().__init__()
        self.pre_transformer_layer = nn.Sequential(nn.LayerNorm(dim, eps=1e-6) if pre_norm else nn.Identity())
        self.blocks = nn.Sequential(*[_Block(dim, heads, bias_kv) for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.pre_transformer_layer(x))


class _SelectFirst(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0]


class _Normalize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1)


class _LogitScale(nn.Module):
    """``min(exp(log_logit_scale), 100) * x`` with a fixed (buffer) scale."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.register_buffer("log_logit_scale", torch.tensor(math.log(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.as_tensor(self.log_logit_scale)
        return torch.clamp(scale.exp(), max=100.0) * x


def _head(dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(dim, eps=1e-6), _SelectFirst(), nn.Linear(dim, out_dim, bias=False))


class ImageBind(nn.Module):
    """The audio and vision branches of ImageBind under the official module names.

    Example:
        >>> tiny = ImageBindConfig(out_dim=4, audio_dim=8, audio_depth=1, audio_heads=2, vision_dim=8,
        ...                        vision_depth=1, vision_heads=2, image_size=28)
        >>> model = ImageBind(tiny).eval()
        >>> model.embed_audio(torch.zeros(1, 3, 1, 128, 204)).shape
        torch.Size([1, 4])
    """

    def __init__(self, cfg: ImageBindConfig) -> None:
        super().__init__()
        self.cfg = cfg
        a, v = cfg.audio_dim, cfg.vision_dim
        audio_stem = _Stem(
            nn.Conv2d(1, a, cfg.audio_patch, stride=cfg.audio_stride, bias=False), nn.LayerNorm(a)
        )
        kernel = (cfg.video_frames, cfg.vision_patch, cfg.vision_patch)
        vision_stem = _Stem(
            nn.Sequential(
                _RepeatToFrames(cfg.video_frames), nn.Conv3d(3, v, kernel, stride=kernel, bias=False)
            ),
            None,
        )
        self.modality_preprocessors = nn.ModuleDict(
            {
                "vision": _Preprocessor(vision_stem, cfg.vision_tokens, v),
                "audio": _Preprocessor(audio_stem, cfg.audio_tokens, a),
            }
        )
        self.modality_trunks = nn.ModuleDict(
            {
                "vision": _Trunk(v, cfg.vision_depth, cfg.vision_heads, pre_norm=True, bias_kv=False),
                "audio": _Trunk(a, cfg.audio_depth, cfg.audio_heads, pre_norm=False, bias_kv=True),
            }
        )
        self.modality_heads = nn.ModuleDict({"vision": _head(v, cfg.out_dim), "audio": _head(a, cfg.out_dim)})
        self.modality_postprocessors = nn.ModuleDict(
            {"vision": _Normalize(), "audio": nn.Sequential(_Normalize(), _LogitScale(cfg.audio_logit_scale))}
        )

    def _embed(self, modality: str, x: torch.Tensor, clip_axes: int) -> torch.Tensor:
        batch, clips = (x.shape[0], x.shape[1]) if x.ndim == clip_axes else (x.shape[0], 1)
        x = x.flatten(0, 1) if x.ndim == clip_axes else x
        tokens = self.modality_trunks[modality](self.modality_preprocessors[modality](x))
        out = self.modality_postprocessors[modality](self.modality_heads[modality](tokens))
        return out.reshape(batch, clips, -1).mean(dim=1)

    def embed_audio(self, fbank: torch.Tensor) -> torch.Tensor:
        """``[B, 1, 128, 204]`` or ``[B, S, 1, 128, 204]`` normalised fbank -> ``[B, 1024]`` (clip mean)."""
        return self._embed("audio", fbank, clip_axes=5)

    def embed_vision(self, pixels: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]``, ``[B, 3, T, H, W]`` or ``[B, S, 3, T, H, W]`` -> ``[B, 1024]`` (clip mean)."""
        return self._embed("vision", pixels, clip_axes=6)


def imagebind_clip_starts(num_samples: int, sample_rate: int = 16000) -> list[tuple[int, int]]:
    """Sample ranges of the 3 clips of 2 s (``ConstantClipsPerVideoSampler`` + ``int(t * rate)``)."""
    cfg = IMAGEBIND_AUDIO
    duration = Fraction(num_samples / sample_rate)
    step = Fraction(max(duration - cfg["clip_seconds"], 0)) / max(cfg["clips"] - 1, 1)
    return [
        (int(k * step * sample_rate), int((k * step + cfg["clip_seconds"]) * sample_rate))
        for k in range(cfg["clips"])
    ]


def imagebind_audio_clips(waveform: torch.Tensor, sample_rate: int = 16000) -> torch.Tensor:
    """The normalised fbank clips ``[3, 1, 128, 204]`` of one 16 kHz waveform ``[N]``."""
    cfg = IMAGEBIND_AUDIO
    if waveform.ndim != 1 or sample_rate != cfg["sample_rate"]:
        raise UsageError(
            f"ImageBind audio takes one 16 kHz waveform [N], got {list(waveform.shape)} at {sample_rate}"
        )
    clips = []
    for start, end in imagebind_clip_starts(waveform.shape[0], sample_rate):
        piece = waveform[start:end]
        if piece.shape[0] < round(sample_rate * cfg["frame_length_ms"] / 1000):
            raise UsageError(
                f"ImageBind needs at least 25 ms of audio per clip, got {piece.shape[0]} samples"
            )
        fbank = kaldi_fbank(
            piece - piece.mean(),
            sample_rate,
            cfg["n_mels"],
            cfg["frame_length_ms"],
            cfg["frame_shift_ms"],
            cfg["f_min"],
        ).T  # [128, T]
        fbank = F.pad(fbank, (0, max(0, cfg["frames"] - fbank.shape[1])))[:, : cfg["frames"]]
        clips.append((fbank - cfg["mean"]) / cfg["std"])
    return torch.stack(clips)[:, None]


def _resize_shorter(frames: torch.Tensor, size: int) -> torch.Tensor:
    """``[T, 3, H, W]`` uint8 -> shorter side ``size`` (torchvision's output size), bicubic, back to uint8."""
    height, width = frames.shape[-2:]
    short, long = min(height, width), max(height, width)
    new_long = int(size * long / short)
    out_size = (size, new_long) if height <= width else (new_long, size)
    if (height, width) == out_size:
        return frames
    resized = F.interpolate(
        frames.float(), size=out_size, mode="bicubic", antialias=True, align_corners=False
    )
    return resized.round().clamp(0, 255).to(torch.uint8)


def imagebind_video_clips(frames: torch.Tensor, size: int = IMAGEBIND_VISION["image_size"]) -> torch.Tensor:
    """``[T, H, W, 3]`` uint8 0.5 fps frames -> ``[3 (T - 1), 3, 2, size, size]`` normalised frame pairs."""
    cfg = IMAGEBIND_VISION
    if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) < 2:
        raise UsageError(
            f"ImageBind video takes uint8 frames [T >= 2, H, W, 3], got {frames.dtype} {list(frames.shape)}"
        )
    x = _resize_shorter(frames.permute(0, 3, 1, 2), size).float() / 255.0  # [T, 3, H', W']
    mean, std = torch.tensor(cfg["mean"])[:, None, None], torch.tensor(cfg["std"])[:, None, None]
    x = (x - mean) / std
    height, width = x.shape[-2:]
    crops = []
    for index in range(cfg["crops"]):  # uniform_crop: 0 start, 1 centre (ceil), 2 end of the longer side
        y0, x0 = math.ceil((height - size) / 2), math.ceil((width - size) / 2)
        if height > width:
            y0 = (0, y0, height - size)[index]
        else:
            x0 = (0, x0, width - size)[index]
        crops.append(x[:, :, y0 : y0 + size, x0 : x0 + size])
    pairs = [crop[t : t + 2] for t in range(len(x) - 1) for crop in crops]  # [2, 3, 224, 224] each
    return torch.stack(pairs).transpose(1, 2)  # [clips, 3, 2, 224, 224]


class _AudioBranch(nn.Module):
    def __init__(self, model: ImageBind) -> None:
        super().__init__()
        self.model = model

    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        clips = torch.stack([imagebind_audio_clips(w) for w in waveform])  # [B, 3, 1, 128, 204]
        return {"embedding": self.model.embed_audio(clips)}


class ImageBindVideoEmbedder:
    """Clip -> ``{"embedding": [1024]}`` of its first 8 s of video at 0.5 fps (unit-norm clip mean).

    The clip must hold 0.5 fps frames covering 8 s (``avikit.media.load(path, fps=0.5)``); nothing is
    resampled. Pair it with :func:`load_imagebind_audio` for the IB-score.
    """

    name = "imagebind-huge-vision"

    def __init__(self, model: ImageBind) -> None:
        self.model = model.eval()

    @property
    def preprocessing(self) -> Mapping[str, Any]:
        """:data:`IMAGEBIND_VISION`."""
        return dict(IMAGEBIND_VISION)

    def prepare(self, clip: AVClip) -> torch.Tensor:
        """The model's input ``[1, 9, 3, 2, 224, 224]`` (3 crops x 3 frame pairs)."""
        frames = clip.require_frames()
        fps, count = IMAGEBIND_VISION["fps"], int(IMAGEBIND_VISION["fps"] * IMAGEBIND_VISION["duration"])
        if clip.fps != Fraction(fps):
            raise UsageError(
                f"ImageBind video needs frames at {fps} fps, the clip has {clip.fps}; load it with "
                "avikit.media.load(path, fps=0.5) (avikit never resamples silently)"
            )
        if len(frames) < count:
            raise UsageError(
                f"ImageBind video needs {count} frames (8 s at 0.5 fps), the clip has {len(frames)}"
            )
        pixels = torch.from_numpy(np.ascontiguousarray(frames[:count]))
        return imagebind_video_clips(pixels, self.model.cfg.image_size)[None]

    @torch.no_grad()
    def embed(self, clip: AVClip) -> dict[str, np.ndarray]:
        """``{"embedding": [1024]}``."""
        parameter = next(self.model.parameters())
        pixels = self.prepare(clip).to(parameter.device, parameter.dtype)
        return {"embedding": self.model.embed_vision(pixels)[0].float().cpu().numpy()}


def load_imagebind(
    checkpoint: str | os.PathLike[str] | None = None, cfg: ImageBindConfig | None = None
) -> ImageBind:
    """ImageBind's audio and vision branches from ``imagebind_huge.pth`` (or a file in its layout).

    Args:
        checkpoint: a local file; ``None`` downloads the published one (about 4.5 GB).
        cfg: widths (default: ``imagebind_huge``).

    Raises:
        CheckpointLayoutError: an audio or vision key is missing, unexpected or of another shape (listed).
    """
    model = ImageBind(cfg or ImageBindConfig())
    state = load_checkpoint_state(resolve_weights(WEIGHTS["imagebind"], checkpoint))
    load_state_strict(model, state, "ImageBind-huge (imagebind_huge.pth)", ignore_prefixes=_OTHER_MODALITIES)
    return model.eval()


def load_imagebind_audio(
    checkpoint: str | os.PathLike[str] | None = None, cfg: ImageBindConfig | None = None
) -> ModuleEmbedder:
    """ImageBind audio embedding ``[1024]`` of the whole clip at 16 kHz (3 clips of 2 s), as av-benchmark."""
    model = load_imagebind(checkpoint, cfg)
    return ModuleEmbedder(
        "imagebind-huge-audio",
        _AudioBranch(model),
        IMAGEBIND_AUDIO["sample_rate"],
        duration=None,
        extra={"front_end": IMAGEBIND_AUDIO},
    )


def load_imagebind_video(
    checkpoint: str | os.PathLike[str] | None = None, cfg: ImageBindConfig | None = None
) -> ImageBindVideoEmbedder:
    """ImageBind vision embedding ``[1024]`` of a clip's first 8 s at 0.5 fps, as av-benchmark."""
    return ImageBindVideoEmbedder(load_imagebind(checkpoint, cfg))
