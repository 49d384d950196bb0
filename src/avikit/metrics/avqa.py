"""MUSIC-AVQA answer accuracy per question type, per modality and overall.

Reproduces GeWu-Lab/MUSIC-AVQA at commit cc8809514a, ``net_grd_avst/main_avst.py::test``: top-1 answer by
argmax; the 9 sub-type accuracies, the three modality accuracies and the overall accuracy are micro averages
(pooled over questions). Types are matched by question, not by loader index (the official script reads them
from a hard-coded file by index, which misaligns them on the updated split). Percent, as printed officially.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.metrics._validation import as_finite, non_empty

__all__ = [
    "AVQA_QUESTION_TYPES",
    "AVQAQuestion",
    "build_answer_vocabulary",
    "compute_avqa_scores",
    "compute_avqa_statistics",
    "compute_evidence_iou",
    "evaluate_avqa",
    "load_music_avqa_questions",
]

AVQA_QUESTION_TYPES: dict[tuple[str, str], str] = {
    ("Audio", "Counting"): "audio_counting",
    ("Audio", "Comparative"): "audio_comparative",
    ("Visual", "Counting"): "visual_counting",
    ("Visual", "Location"): "visual_location",
    ("Audio-Visual", "Existential"): "audio_visual_existential",
    ("Audio-Visual", "Counting"): "audio_visual_counting",
    ("Audio-Visual", "Location"): "audio_visual_location",
    ("Audio-Visual", "Comparative"): "audio_visual_comparative",
    ("Audio-Visual", "Temporal"): "audio_visual_temporal",
}
"""The 9 official (modality, sub-type) pairs and their score keys."""

_MODALITY_KEYS = {"Audio": "audio", "Visual": "visual", "Audio-Visual": "audio_visual"}


class AVQAQuestion(NamedTuple):
    """One MUSIC-AVQA question: its id, video, (modality, sub-type) and answer string."""

    question_id: int
    video_id: str
    question_type: tuple[str, str]
    answer: str


def load_music_avqa_questions(path: str | Path) -> list[AVQAQuestion]:
    """Read an official MUSIC-AVQA annotation JSON such as ``avqa-test.json`` (answer field ``anser``).

    Raises:
        ValueError: if an entry lacks a field or its ``type`` is not a JSON list of two strings.
    """
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    questions = []
    for position, entry in enumerate(entries):
        try:
            kind = json.loads(entry["type"])
            questions.append(AVQAQuestion(int(entry["question_id"]), str(entry["video_id"]),
                                          (str(kind[0]), str(kind[1])), str(entry["anser"])))  # fmt: skip
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise UsageError(f"{path}: entry {position} is malformed ({error!r}); expected question_id, "
                             "video_id, "
                             "type as a JSON list and anser") from error  # fmt: skip
    return questions


def build_answer_vocabulary(answers: Sequence[str]) -> dict[str, int]:
    """Answer → class index in first-seen order (the official vocabulary is built so from the train answers).

    Example:
        >>> build_answer_vocabulary(["two", "yes", "two", "one"])
        {'two': 0, 'yes': 1, 'one': 2}
    """
    return {answer: index for index, answer in enumerate(dict.fromkeys(answers))}


def compute_avqa_statistics(
    logits: ArrayLike, labels: ArrayLike, question_types: Sequence[tuple[str, str]]
) -> dict[str, NDArray]:
    """Per-question correctness and type.

    Args:
        logits: ``[Q, A]`` answer scores; the prediction is the first maximal index.
        labels: ``[Q]`` answer indices.
        question_types: ``Q`` pairs such as ``("Audio", "Counting")``.

    Returns:
        ``{"correct": float64 [Q], "type_index": int64 [Q]}`` (index into :data:`AVQA_QUESTION_TYPES`, -1 for
        a type outside it; such questions count only in the overall accuracy, as officially).
    """
    logit_array = as_finite(logits, "logits", 2)
    label_array = as_finite(labels, "labels", 1).astype(np.int64)
    if not len(logit_array) == len(label_array) == len(question_types):
        raise UsageError("logits, labels and question_types must describe the same questions (same length)")
    positions = {kind: position for position, kind in enumerate(AVQA_QUESTION_TYPES)}
    type_index = np.array([positions.get((kind[0], kind[1]), -1) for kind in question_types], dtype=np.int64)
    correct = (np.argmax(logit_array, axis=1) == label_array).astype(np.float64)
    return {"correct": correct, "type_index": type_index}


def compute_avqa_scores(statistics: dict[str, NDArray]) -> dict[str, float]:
    """Accuracy in percent per sub-type, per modality and overall; NaN for a group without questions."""
    correct, type_index = statistics["correct"], statistics["type_index"]
    non_empty(correct, "statistics['correct']")
    hits = np.bincount(type_index + 1, weights=correct, minlength=len(AVQA_QUESTION_TYPES) + 1)[1:]
    counts = np.bincount(type_index + 1, minlength=len(AVQA_QUESTION_TYPES) + 1)[1:]
    scores: dict[str, float] = {}
    for position, ((modality, _), key) in enumerate(AVQA_QUESTION_TYPES.items()):
        scores[key] = 100 * int(hits[position]) / counts[position] if counts[position] else float("nan")
        group = _MODALITY_KEYS[modality]
        scores.setdefault(f"_{group}_hits", 0)
        scores.setdefault(f"_{group}_count", 0)
        scores[f"_{group}_hits"] += int(hits[position])
        scores[f"_{group}_count"] += int(counts[position])
    for group in _MODALITY_KEYS.values():
        group_hits, group_count = scores.pop(f"_{group}_hits"), scores.pop(f"_{group}_count")
        scores[group] = 100 * group_hits / group_count if group_count else float("nan")
    scores["overall"] = 100 * int(correct.sum()) / len(correct)
    return {key: float(value) for key, value in scores.items()}


def evaluate_avqa(logits: ArrayLike, labels: ArrayLike, question_types: Sequence[tuple[str, str]]) -> dict:
    """MUSIC-AVQA accuracy per question type, per modality and overall.

    Official: ``net_grd_avst/main_avst.py::test`` at cc8809514a.

    Args:
        logits: ``[Q, A]`` answer scores.
        labels: ``[Q]`` answer indices (see :func:`build_answer_vocabulary`).
        question_types: the ``(modality, sub-type)`` of each question.

    Returns:
        Keys of :data:`AVQA_QUESTION_TYPES` plus ``audio``, ``visual``, ``audio_visual`` and ``overall``;
        percent
        in [0, 100], ``higher_is_better=True``.

    Example:
        >>> kinds = [("Audio", "Counting")] * 2 + [("Visual", "Location")]
        >>> scores = evaluate_avqa(np.eye(3), [0, 1, 0], kinds)
        >>> scores["audio"], scores["visual"], round(scores["overall"], 2)
        (100.0, 0.0, 66.67)
    """
    return compute_avqa_scores(compute_avqa_statistics(logits, labels, question_types))


def compute_evidence_iou(predicted: Sequence[Any], truth: Sequence[tuple[float, float]]) -> np.ndarray:
    """Temporal IoU per question of predicted evidence spans (``{"start", "end"}`` or ``None``) and true ones.

    The evidence score of avikit's AVQA task (MUSIC-AVQA itself scores answers only). A missing span
    scores 0; two empty spans at the same instant score 1. Range [0, 1], higher is better.

    Example:
        >>> compute_evidence_iou([{"start": 0.0, "end": 2.0}, None], [(1.0, 3.0), (0.0, 1.0)]).tolist()
        [0.3333333333333333, 0.0]
    """
    out = np.zeros(len(truth))
    for k, (span, (start, end)) in enumerate(zip(predicted, truth, strict=True)):
        if span is None:
            continue
        inter = max(0.0, min(span["end"], end) - max(span["start"], start))
        union = (span["end"] - span["start"]) + (end - start) - inter
        out[k] = inter / union if union > 0 else float(span["end"] == span["start"] and start == end)
    return out
