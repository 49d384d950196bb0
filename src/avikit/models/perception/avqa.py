"""AVQA reference model: question-guided attention over audio-visual segments, answers from a closed set.

In the spirit of the MUSIC-AVQA baseline (Li et al., CVPR 2022): a question encoder (a bag of words over the
question vocabulary), attention over the frozen AVSynth trunk's per-second features (audio, visual and
their fused forms) queried by the question, and a classifier over the answer vocabulary
(:data:`avikit.tasks.AVQA_ANSWERS`). The evidence span is the run of seconds around the most attended
second whose attention is at least half the maximum.

Example:
    >>> import torch
    >>> head = build_avqa_head(AVQAConfig(dim=32))
    >>> features = {k: torch.randn(2, 10, 32) for k in SEGMENT_KEYS}
    >>> logits, weights = head(features, ["How many objects are in the video?"] * 2)
    >>> logits.shape, weights.shape
    (torch.Size([2, 43]), torch.Size([2, 10]))
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from avikit.data.synth.classes import CLASS_NAMES
from avikit.data.synth.questions import TEMPLATES
from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.tasks import AVQA_ANSWERS, Task

__all__ = [
    "KIND",
    "SEGMENT_KEYS",
    "AVQAConfig",
    "AVQAHead",
    "AVQAModel",
    "build_avqa_head",
    "from_pretrained",
    "question_vocabulary",
]

KIND = "avikit.models.avqa"
SEGMENT_KEYS = ("audio_segments", "visual_segments", "joint_audio", "joint_visual")
"""The trunk features the head reads, each ``[B, S, D]``."""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def question_vocabulary() -> tuple[str, ...]:
    """Words of the question templates and the class names (sorted); other words are ignored."""
    words = {w for spec in TEMPLATES.values() for w in _words(spec[1])} | set(CLASS_NAMES)
    return tuple(sorted(words))


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class AVQAConfig:
    """Sizes of the head; ``dim`` is the trunk's width."""

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 128
    dropout: float = 0.1


# ----------------------------------------------------------------------------------------------- blocks


class AVQAHead(nn.Module):
    """Bag-of-words question, question-queried attention over seconds, an answer classifier."""

    def __init__(
        self, vocabulary: Sequence[str], segments: nn.Module, question: nn.EmbeddingBag, classifier: nn.Module
    ) -> None:
        super().__init__()
        self.index = {w: k for k, w in enumerate(vocabulary)}
        self.segments, self.question, self.classifier = segments, question, classifier

    def encode_questions(self, questions: Sequence[str]) -> torch.Tensor:
        """``[B, H]`` question embeddings (mean of known word vectors)."""
        ids: list[int] = []
        offsets: list[int] = []
        for text in questions:
            offsets.append(len(ids))
            ids += [self.index[w] for w in _words(text) if w in self.index] or [0]
        return self.question(torch.tensor(ids), torch.tensor(offsets))

    def forward(
        self, features: Mapping[str, torch.Tensor], questions: Sequence[str]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Answer logits ``[B, A]`` and attention over seconds ``[B, S]`` (one question per row)."""
        x = self.segments(torch.cat([features[k] for k in SEGMENT_KEYS], dim=-1))  # [B, S, H]
        q = self.encode_questions(questions)  # [B, H]
        weights = torch.einsum("bsh,bh->bs", x, q).div(x.shape[-1] ** 0.5).softmax(dim=-1)  # [B, S]
        attended = torch.einsum("bs,bsh->bh", weights, x)  # [B, H]
        pooled = torch.cat([attended, x.mean(1), q, attended * q], dim=-1)  # [B, 4H]
        return self.classifier(pooled), weights


# ------------------------------------------------------------------------------------------------ model


class AVQAModel(TrunkModel):
    """The frozen trunk and the question-answering head, measured on task ``avqa``."""

    tasks: tuple[str, ...] = ("avqa",)
    default_id = "avikit/avqa"
    head: AVQAHead

    @torch.no_grad()
    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """One answer word and one evidence span per question.

        Answers are the model's own; one the dataset lacks is scored wrong.
        """
        self.check_task(task)
        batch = self.adapt(task, batch)
        features = encode_items(self.encoder, batch, self.window_seconds(batch))
        rows = [(b, q) for b, item in enumerate(batch) for q in item.inputs.text]
        out: list[dict[str, Any]] = [{"id": item.id, "answers": [], "evidence": []} for item in batch]
        if rows:
            index = torch.tensor([b for b, _ in rows])
            logits, weights = self.head({k: features[k][index] for k in SEGMENT_KEYS}, [q for _, q in rows])
            for (b, _), answer, w in zip(rows, logits.argmax(-1).tolist(), weights, strict=True):
                out[b]["answers"].append(AVQA_ANSWERS[answer])
                out[b]["evidence"].append(_span(w))
        return out


def _span(weights: torch.Tensor) -> dict[str, float]:
    """The run of seconds around the most attended one with weight at least half the maximum."""
    peak = int(weights.argmax())
    keep = (weights >= weights[peak] / 2).tolist()
    start, end = peak, peak + 1
    while start > 0 and keep[start - 1]:
        start -= 1
    while end < len(keep) and keep[end]:
        end += 1
    return {"start": float(start), "end": float(end)}


def build_avqa_head(cfg: AVQAConfig) -> AVQAHead:
    """Build the head from its config."""
    vocabulary = question_vocabulary()
    segments = nn.Sequential(nn.LayerNorm(4 * cfg.dim), nn.Linear(4 * cfg.dim, cfg.hidden), nn.GELU())
    classifier = nn.Sequential(
        nn.Dropout(cfg.dropout),
        nn.Linear(4 * cfg.hidden, cfg.hidden),
        nn.GELU(),
        nn.Linear(cfg.hidden, len(AVQA_ANSWERS)),
    )
    return AVQAHead(
        vocabulary, segments, nn.EmbeddingBag(len(vocabulary), cfg.hidden, mode="mean"), classifier
    )


def from_pretrained(name_or_path: str | os.PathLike[str] = "avqa") -> AVQAModel:
    """Load the model from a packaged name (default ``"avqa"``), a folder or a hub id, in eval mode."""
    head, _, encoder, weights_hash = load_head(name_or_path, AVQAConfig, build_avqa_head, KIND)
    return AVQAModel(encoder, head, weights_hash=weights_hash).eval()
