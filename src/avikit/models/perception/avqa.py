"""AVQA reference model: question-guided attention over audio-visual segments, answers from a closed set.

In the spirit of the MUSIC-AVQA baseline (Li et al., CVPR 2022): a question encoder, attention over the
frozen AVSynth trunk's per-second features (audio, visual and their fused forms) queried by the question,
and a classifier over the answer vocabulary (:data:`avikit.tasks.AVQA_ANSWERS`). The question encoder is a
bag of words over the question vocabulary; with ``ordered`` a GRU over the words adds their order (which
object of "Is the A louder than the B?" comes first). With ``spatial`` the question, joined with the sound
of each second, also attends over the trunk's visual maps (positions x seconds), and the classifier reads
where that attention lies (its mass per column and row): the spatial grounding that "Where is the ...?"
needs. The evidence span is the run of seconds around the most attended second whose attention is at least
half the maximum.

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
from avikit.errors import UsageError
from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.tasks import AVQA_ANSWERS, Task

__all__ = [
    "FEATURE_KEYS",
    "KIND",
    "MAP_KEY",
    "SEGMENT_KEYS",
    "AVQAConfig",
    "AVQAHead",
    "AVQAModel",
    "SpatialAttention",
    "WordOrder",
    "build_avqa_head",
    "from_pretrained",
    "question_vocabulary",
]

KIND = "avikit.models.avqa"
SEGMENT_KEYS = ("audio_segments", "visual_segments", "joint_audio", "joint_visual")
"""The trunk features the head reads, each ``[B, S, D]``."""
MAP_KEY = "visual_maps"
"""The trunk's visual maps ``[B, S, D, h, w]``, read by a head with ``spatial``."""
FEATURE_KEYS = (*SEGMENT_KEYS, MAP_KEY)
"""Every trunk feature a head may read."""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def question_vocabulary() -> tuple[str, ...]:
    """Words of the question templates and the class names (sorted); other words are ignored."""
    words = {w for spec in TEMPLATES.values() for w in _words(spec[1])} | set(CLASS_NAMES)
    return tuple(sorted(words))


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class AVQAConfig:
    """Sizes of the head; ``dim`` is the trunk's width, ``map_size`` the side of its visual maps.

    ``ordered`` and ``spatial`` add the word-order GRU and the spatial attention (both off: the first head).
    """

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 128
    dropout: float = 0.1
    ordered: bool = False
    spatial: bool = False
    map_size: int = 8


# ----------------------------------------------------------------------------------------------- blocks


class WordOrder(nn.Module):
    """A GRU over the question's words: ``[B, H]``, the state after the last word."""

    def __init__(self, num_words: int, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_words + 1, hidden, padding_idx=num_words)  # last id pads
        self.gru = nn.GRU(hidden, hidden, batch_first=True)

    def forward(self, ids: Sequence[Sequence[int]]) -> torch.Tensor:
        """``ids``: per question its word ids (at least one) -> ``[B, H]``."""
        length = max(len(row) for row in ids)
        pad = self.embedding.padding_idx
        padded = torch.tensor([list(row) + [pad] * (length - len(row)) for row in ids])  # [B, L]
        states, _ = self.gru(self.embedding(padded))  # [B, L, H]
        last = torch.tensor([len(row) - 1 for row in ids])
        return states[torch.arange(len(ids)), last]


class SpatialAttention(nn.Module):
    """Attention over the visual maps' positions and seconds, queried by the question and each second's sound.

    Returns the attended map feature and where the attention lies: its mass per column and per row.
    """

    def __init__(self, dim: int, hidden: int, size: int) -> None:
        super().__init__()
        self.cells = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden))
        self.sound = nn.Linear(hidden, hidden)
        self.size = size

    def forward(self, maps: torch.Tensor, query: torch.Tensor, seconds: torch.Tensor) -> torch.Tensor:
        """Maps ``[B, S, D, h, w]``, query ``[B, H]``, seconds ``[B, S, H]`` -> ``[B, H + w + h]``."""
        batch, steps, _, height, width = maps.shape
        if (height, width) != (self.size, self.size):
            raise UsageError(
                f"the head reads {self.size} x {self.size} visual maps, the trunk gave {height} x {width}"
            )
        cells = self.cells(maps.permute(0, 1, 3, 4, 2))  # [B, S, h, w, H]
        queries = query[:, None] + self.sound(seconds)  # [B, S, H]
        logits = torch.einsum("bsyxh,bsh->bsyx", cells, queries) / cells.shape[-1] ** 0.5
        weights = logits.reshape(batch, -1).softmax(-1).reshape(batch, steps, height, width)
        attended = torch.einsum("bsyx,bsyxh->bh", weights, cells)  # [B, H]
        return torch.cat([attended, weights.sum((1, 2)), weights.sum((1, 3))], dim=-1)


class AVQAHead(nn.Module):
    """Question encoder, question-queried attention over seconds (and positions), an answer classifier."""

    def __init__(
        self,
        vocabulary: Sequence[str],
        segments: nn.Module,
        question: nn.EmbeddingBag,
        classifier: nn.Module,
        order: WordOrder | None = None,
        spatial: SpatialAttention | None = None,
    ) -> None:
        super().__init__()
        self.index = {w: k for k, w in enumerate(vocabulary)}
        self.segments, self.question, self.classifier = segments, question, classifier
        self.order, self.spatial = order, spatial

    @property
    def feature_keys(self) -> tuple[str, ...]:
        """The trunk features :meth:`forward` reads."""
        return FEATURE_KEYS if self.spatial is not None else SEGMENT_KEYS

    def encode_questions(self, questions: Sequence[str]) -> torch.Tensor:
        """``[B, H]`` question embeddings (mean of known word vectors, plus their order with ``ordered``)."""
        rows = [[self.index[w] for w in _words(text) if w in self.index] or [0] for text in questions]
        offsets = torch.tensor([0, *[len(r) for r in rows[:-1]]]).cumsum(0)
        bag = self.question(torch.tensor([i for r in rows for i in r]), offsets)
        return bag if self.order is None else bag + self.order(rows)

    def forward(
        self, features: Mapping[str, torch.Tensor], questions: Sequence[str]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Answer logits ``[B, A]`` and attention over seconds ``[B, S]`` (one question per row)."""
        x = self.segments(torch.cat([features[k] for k in SEGMENT_KEYS], dim=-1))  # [B, S, H]
        q = self.encode_questions(questions)  # [B, H]
        weights = torch.einsum("bsh,bh->bs", x, q).div(x.shape[-1] ** 0.5).softmax(dim=-1)  # [B, S]
        attended = torch.einsum("bs,bsh->bh", weights, x)  # [B, H]
        parts = [attended, x.mean(1), q, attended * q]
        if self.spatial is not None:
            parts.append(self.spatial(features[MAP_KEY], q, x))  # [B, H + w + h]
        return self.classifier(torch.cat(parts, dim=-1)), weights


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
            chosen = {k: features[k][index] for k in self.head.feature_keys}
            logits, weights = self.head(chosen, [q for _, q in rows])
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
    width = 4 * cfg.hidden + (cfg.hidden + 2 * cfg.map_size if cfg.spatial else 0)
    classifier = nn.Sequential(
        nn.Dropout(cfg.dropout),
        nn.Linear(width, cfg.hidden),
        nn.GELU(),
        nn.Linear(cfg.hidden, len(AVQA_ANSWERS)),
    )
    return AVQAHead(
        vocabulary,
        segments,
        nn.EmbeddingBag(len(vocabulary), cfg.hidden, mode="mean"),
        classifier,
        WordOrder(len(vocabulary), cfg.hidden) if cfg.ordered else None,
        SpatialAttention(cfg.dim, cfg.hidden, cfg.map_size) if cfg.spatial else None,
    )


def from_pretrained(name_or_path: str | os.PathLike[str] = "avqa") -> AVQAModel:
    """Load the model from a packaged name (default ``"avqa"``), a folder or a hub id, in eval mode."""
    head, _, encoder, weights_hash = load_head(name_or_path, AVQAConfig, build_avqa_head, KIND)
    return AVQAModel(encoder, head, weights_hash=weights_hash).eval()
