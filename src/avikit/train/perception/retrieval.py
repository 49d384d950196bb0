"""Training pieces of one perception head: its training data and its loss.

Training pieces of the retrieval head of :mod:`avikit.models.perception.retrieval`: its training data (head
inputs and labels of a :class:`~avikit.train.feature_sets.FeatureSet`) and its loss.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import torch

from avikit.data.synth.classes import CLASS_NAMES, CLASSES, SEEN_CLASSES
from avikit.errors import UsageError
from avikit.models.perception.retrieval import (
    _ATTRIBUTES,
    ACOUSTIC_ATTRIBUTES,
    VISUAL_ATTRIBUTES,
    RetrievalHead,
    SentenceTextEncoder,
    main_class,
    partial_caption,
)
from avikit.nn import info_nce
from avikit.tasks import Task
from avikit.train.feature_sets import FeatureSet

__all__ = ["retrieval_loss", "retrieval_training_data"]


def retrieval_training_data(data: FeatureSet, task: Task) -> dict[str, torch.Tensor]:
    """Segment features, frame maps and the main class of every clip (``-1``: no audio-visual event).

    Raises:
        ValueError: if a clip's main class is not a seen class (training must never see a held-out one).
    """
    labels = torch.tensor([main_class(sample) for sample in data.samples])
    unseen = {CLASS_NAMES[k] for k in labels.tolist() if k >= 0} - set(SEEN_CLASSES)
    if unseen:
        raise UsageError(f"training clips of held-out classes {sorted(unseen)}; train on AVSynth train")
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
