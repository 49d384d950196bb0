"""Retrieval reference model: one joint audio-visual-text embedding space on the frozen AVSynth trunk.

Audio and video clip embeddings are projected into a shared space and aligned by symmetric InfoNCE (as in
CAV-MAE / CLIP). A caption encoder, trained on the AVSynth class captions (``"a small yellow solid disc that
rings at a high pitch"``), maps text into the same space: the fused audio-visual embedding of a clip must
pick the caption of its main event among the captions of every training class. Captions are bags of
attribute words embedded linearly, so a class never seen in training, a new combination of seen
attributes, gets an embedding too: retrieval by text and zero-shot classification
(:class:`avikit.models.classification.ZeroShotClassifier`) work on the ``open_test`` classes.

File order: config, blocks, model, builder and ``from_pretrained``, training pieces.

Example:
    >>> import torch
    >>> head = build_retrieval_head(RetrievalConfig(dim=32, embed_dim=16))
    >>> features = {"audio_segments": torch.randn(2, 10, 32), "visual_segments": torch.randn(2, 10, 32)}
    >>> audio, video = head(features)
    >>> audio.shape, head.text(["a small yellow solid disc that rings at a high pitch"]).shape
    (torch.Size([2, 16]), torch.Size([1, 16]))
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.data.synth.classes import CLASS_NAMES, CLASSES, SEEN_CLASSES
from avikit.models.trunk import ENCODER_NAME, FeatureSet, MediaItem, TrunkModel, encode_items, load_head
from avikit.nn import info_nce
from avikit.tasks import Task

__all__ = [
    "KIND",
    "CaptionEncoder",
    "RetrievalConfig",
    "RetrievalHead",
    "RetrievalModel",
    "build_retrieval_head",
    "caption_vocabulary",
    "from_pretrained",
    "retrieval_loss",
    "retrieval_training_data",
]

KIND = "avikit.models.retrieval"


def caption_vocabulary() -> tuple[str, ...]:
    """The words of the captions of the classes seen in training (sorted); other words are ignored."""
    return tuple(sorted({w for name in SEEN_CLASSES for w in _words(CLASSES[name].caption)}))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class RetrievalConfig:
    """Sizes of the projection heads and the caption encoder; ``dim`` is the trunk's width."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 128
    embed_dim: int = 64
    temperature: float = 0.07


# ----------------------------------------------------------------------------------------------- blocks


class CaptionEncoder(nn.Module):
    """Bag of words -> linear embedding (mean of word vectors, then a linear map): ``[B] text -> [B, E]``."""

    def __init__(self, vocabulary: Sequence[str], embed_dim: int) -> None:
        super().__init__()
        self.index = {word: k for k, word in enumerate(vocabulary)}
        self.words = nn.EmbeddingBag(len(vocabulary), embed_dim, mode="mean")
        self.out = nn.Linear(embed_dim, embed_dim)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed ``texts`` (unknown words are skipped; a text needs one known word)."""
        ids: list[int] = []
        offsets: list[int] = []
        for text in texts:
            offsets.append(len(ids))
            known = [self.index[w] for w in _words(text) if w in self.index]
            if not known:
                raise ValueError(f"no known word in caption {text!r}")
            ids += known
        return self.out(self.words(torch.tensor(ids), torch.tensor(offsets)))  # [B, E]


def _projection(dim: int, hidden: int, out: int) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(2 * dim), nn.Linear(2 * dim, hidden), nn.GELU(), nn.Linear(hidden, out))


class RetrievalHead(nn.Module):
    """Audio and video projections (mean and max of the trunk's segments) and the caption encoder."""

    def __init__(self, audio: nn.Module, video: nn.Module, text: CaptionEncoder, temperature: float) -> None:
        super().__init__()
        self.audio, self.video, self.text = audio, video, text
        self.temperature = temperature

    def forward(self, features: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio and video embeddings ``[B, E]`` (not normalised)."""
        a, v = features["audio_segments"], features["visual_segments"]  # [B, S, D] each
        audio = self.audio(torch.cat([a.mean(1), a.amax(1)], dim=-1))  # [B, E]
        video = self.video(torch.cat([v.mean(1), v.amax(1)], dim=-1))  # [B, E]
        return audio, video

    def joint(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The fused audio-visual embedding ``[B, E]``: the sum of the unit audio and video embeddings."""
        audio, video = self(features)
        return F.normalize(F.normalize(audio, dim=-1) + F.normalize(video, dim=-1), dim=-1)

    def class_scores(self, features: Mapping[str, torch.Tensor], names: Sequence[str]) -> torch.Tensor:
        """Cosine of each clip's joint embedding with each class caption: ``[B, len(names)]``."""
        text = F.normalize(self.text([CLASSES[n].caption for n in names]), dim=-1)  # [K, E]
        return self.joint(features) @ text.T


# ------------------------------------------------------------------------------------------------ model


class RetrievalModel(TrunkModel):
    """The frozen trunk and the joint embedding head, measured on task ``retrieval``."""

    tasks: tuple[str, ...] = ("retrieval",)
    default_id = "avikit/retrieval"
    head: RetrievalHead

    def features(self, batch: Sequence[MediaItem]) -> dict[str, torch.Tensor]:
        """Trunk features of a batch (one segment per second of the window)."""
        return encode_items(self.encoder, batch, self.window_seconds(batch))

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Unit audio and video embeddings of every item."""
        self.check_task(task)
        audio, video = self.head(self.features(batch))
        audio, video = F.normalize(audio, dim=-1), F.normalize(video, dim=-1)
        return [
            {"id": item.sample.id, "audio_embedding": a.tolist(), "video_embedding": v.tolist()}
            for item, a, v in zip(batch, audio, video, strict=True)
        ]


def build_retrieval_head(cfg: RetrievalConfig) -> RetrievalHead:
    """Build the head from its config."""
    audio = _projection(cfg.dim, cfg.hidden, cfg.embed_dim)
    video = _projection(cfg.dim, cfg.hidden, cfg.embed_dim)
    return RetrievalHead(audio, video, CaptionEncoder(caption_vocabulary(), cfg.embed_dim), cfg.temperature)


def from_pretrained(name_or_path: str | os.PathLike[str] = "retrieval") -> RetrievalModel:
    """Load the model from a packaged name (default ``"retrieval"``), a folder or a hub id, in eval mode."""
    head, _, encoder, weights_hash = load_head(name_or_path, RetrievalConfig, build_retrieval_head, KIND)
    return RetrievalModel(encoder, head, weights_hash=weights_hash).eval()


# --------------------------------------------------------------------------------------------- training


def main_class(sample: Any) -> int:
    """Index into :data:`CLASS_NAMES` of the class whose audio-visual events last longest, or -1."""
    totals = dict.fromkeys(CLASS_NAMES, 0.0)
    for event in sample.target("events")["audio_visual"]:
        totals[event["label"]] += float(event["offset"] - event["onset"])
    best = max(totals, key=lambda name: totals[name])
    return CLASS_NAMES.index(best) if totals[best] > 0 else -1


def retrieval_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Segment features and the main class of every clip (``-1``: no audio-visual event)."""
    seen = {name: k for k, name in enumerate(SEEN_CLASSES)}
    labels = []
    for sample in data.samples:
        k = main_class(sample)
        labels.append(seen.get(CLASS_NAMES[k], -1) if k >= 0 else -1)
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_segments": data.features["visual_segments"],
        "main_class": torch.tensor(labels),
    }


def retrieval_loss(head: RetrievalHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Audio-video InfoNCE plus caption classification of the fused embedding over the seen classes."""
    audio, video = head(batch)
    contrastive = info_nce(audio, video, head.temperature)
    labels = batch["main_class"]
    keep = labels >= 0
    text = torch.zeros((), dtype=audio.dtype)
    if bool(keep.any()):
        scores = head.class_scores({k: v[keep] for k, v in batch.items()}, SEEN_CLASSES) / head.temperature
        text = F.cross_entropy(scores, labels[keep])
    return {"loss": contrastive + text, "contrastive": contrastive, "caption": text}
