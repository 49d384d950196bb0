"""Ref-AVS reference model: a text-conditioned mask head on the frozen AVSynth trunk.

After the Ref-AVS baseline (Wang et al., ECCV 2024), which conditions a mask decoder on the expression and
the audio, in the readable form of the other trunk heads. The frozen trunk encodes the ten task frames and
the audio around each (one second per frame). Every pixel gets a feature from the trunk's visual maps and
the frame's own colours (:func:`avikit.models.perception.avs.frame_colours`); that second's audio and then
the expression modulate it channel by channel (FiLM: ``x * (1 + gain) + bias``), and a small convolutional
decoder gives one logit per pixel. The expression is read as a bag of words hashed into a fixed number of
buckets (:class:`ExpressionEncoder`): no vocabulary file, and a word never seen in training (an unseen
class) still has an embedding, shared with whatever word lands in its bucket.

Example:
    >>> import torch
    >>> head = build_ref_avs_head(RefAVSConfig(dim=32, hidden=16))
    >>> words = tokenize(["the red object", "the object on the left"])
    >>> features = {"audio_segments": torch.randn(2, 3, 32), "visual_maps": torch.randn(2, 3, 32, 4, 4),
    ...             "colours": torch.rand(2, 3, 3, 16, 16), "words": words}
    >>> head(features).shape  # one logit per pixel of the colour grid
    torch.Size([2, 3, 16, 16])
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.models.perception.avs import frame_colours
from avikit.tasks import Task, encode_mask

__all__ = [
    "KIND",
    "ExpressionEncoder",
    "RefAVSConfig",
    "RefAVSHead",
    "RefAVSModel",
    "build_ref_avs_head",
    "from_pretrained",
    "tokenize",
]

KIND = "avikit.models.ref_avs"
_MAX_WORDS = 16


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class RefAVSConfig:
    """Sizes of the head; ``dim`` is the trunk's width; masks are learned on a ``train_size`` pixel grid."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 32
    buckets: int = 512
    train_size: int = 32


# ----------------------------------------------------------------------------------------------- blocks


def tokenize(texts: Sequence[str]) -> torch.Tensor:
    """Texts -> word codes ``[N, 16]``: CRC-32 of each lower-case word plus one.

    0 pads; words past the 16th are dropped. The codes need no vocabulary; :class:`ExpressionEncoder`
    folds them into its buckets.

    Example:
        >>> tokenize(["The red object"])[0, :4].tolist()
        [1011183079, 4200685456, 2829954029, 0]
    """
    out = torch.zeros(len(texts), _MAX_WORDS, dtype=torch.long)
    for row, text in enumerate(texts):
        for col, word in enumerate(re.findall(r"[a-z']+", text.lower())[:_MAX_WORDS]):
            out[row, col] = 1 + zlib.crc32(word.encode())
    return out


class ExpressionEncoder(nn.Module):
    """A bag of words: each word code (:func:`tokenize`) folded into one of ``buckets`` embeddings, averaged.

    A word never seen in training (an unseen class) still lands in a bucket.
    """

    def __init__(self, buckets: int, hidden: int) -> None:
        super().__init__()
        self.buckets = buckets
        self.embedding = nn.Embedding(buckets + 1, hidden, padding_idx=0)  # 0: padding

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        """Word codes ``[N, L]`` -> the mean embedding of the words ``[N, hidden]``."""
        present = words > 0
        index = torch.where(present, 1 + (words - 1) % self.buckets, torch.zeros_like(words))
        weight = present.float().unsqueeze(-1)  # [N, L, 1]
        return (self.embedding(index) * weight).sum(1) / weight.sum(1).clamp(min=1.0)


# ------------------------------------------------------------------------------------------------ model


class RefAVSHead(nn.Module):
    """Pixel features from the trunk's maps and the colours, FiLM by audio then text, a small decoder."""

    def __init__(self, dim: int, hidden: int, words: ExpressionEncoder) -> None:
        super().__init__()
        self.words = words
        self.maps = nn.Conv2d(dim, hidden, 1)
        self.colours = nn.Conv2d(3, hidden, 3, padding=1)
        self.audio = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 2 * hidden))
        self.text = nn.Linear(hidden, 2 * hidden)
        self.decoder = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.GELU(), nn.Conv2d(hidden, 1, 1)
        )

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Logits ``[N, T, s, s]``, one expression per row.

        From ``visual_maps [N, T, D, h, w]``, ``audio_segments [N, T, D]``, ``colours [N, T, 3, s, s]`` and
        ``words [N, L]``.
        """
        maps, colours = features["visual_maps"], features["colours"]
        n, t = maps.shape[:2]
        size = colours.shape[-2:]
        pixels = F.interpolate(self.maps(maps.flatten(0, 1)), size=size, mode="bilinear", align_corners=False)
        x = F.gelu(pixels + self.colours(colours.flatten(0, 1)))  # [N*T, K, s, s]
        gain, bias = self.audio(features["audio_segments"]).flatten(0, 1).chunk(2, dim=-1)  # [N*T, K] each
        x = x * (1 + gain[..., None, None]) + bias[..., None, None]
        text = self.text(self.words(features["words"])).repeat_interleave(t, dim=0)  # [N*T, 2K]
        gain, bias = text.chunk(2, dim=-1)
        x = F.gelu(x * (1 + gain[..., None, None]) + bias[..., None, None])
        return self.decoder(x).view(n, t, *size)


class RefAVSModel(TrunkModel):
    """The frozen trunk and the text-conditioned mask head, measured on the three Ref-AVS test sets."""

    tasks: tuple[str, ...] = ("ref-avs-seen", "ref-avs-unseen", "ref-avs-null")
    default_id = "avikit/ref-avs"
    head: RefAVSHead

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Per item, one run-length mask per frame of each expression (expression-major)."""
        self.check_task(task)
        frames = len(batch[0].inputs.frames)
        features = encode_items(self.encoder, batch, frames)
        features["colours"] = frame_colours(np.stack([item.frames for item in batch]))
        counts = [len(item.inputs.text) for item in batch]
        rows = torch.repeat_interleave(torch.arange(len(batch)), torch.tensor(counts))
        expanded = {key: value[rows] for key, value in features.items() if key in _PER_CLIP}
        expanded["words"] = tokenize([text for item in batch for text in item.inputs.text])
        logits = self.head(expanded)  # [R, T, s, s]
        size = batch[0].inputs.frame_size
        masks = F.interpolate(logits, size=size, mode="bilinear", align_corners=False) > 0  # [R, T, H, W]
        out, start = [], 0
        for item, count in zip(batch, counts, strict=True):
            rows_masks = masks[start : start + count].flatten(0, 1).long().numpy()
            start += count
            out.append({"id": item.id, "masks": [encode_mask(m) for m in rows_masks]})
        return out


_PER_CLIP = ("visual_maps", "audio_segments", "colours")


def build_ref_avs_head(cfg: RefAVSConfig) -> RefAVSHead:
    """Build the text-conditioned mask head."""
    return RefAVSHead(cfg.dim, cfg.hidden, ExpressionEncoder(cfg.buckets, cfg.hidden))


def from_pretrained(name_or_path: str | os.PathLike[str] = "ref-avs") -> RefAVSModel:
    """Load the model from a packaged name (default ``"ref-avs"``), a folder or a hub id, in eval mode."""
    head, _, encoder, weights_hash = load_head(name_or_path, RefAVSConfig, build_ref_avs_head, KIND)
    return RefAVSModel(encoder, head, weights_hash=weights_hash).eval()
