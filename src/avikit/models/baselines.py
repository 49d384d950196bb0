"""Baselines of the harness itself: the oracle, and the trivial baselines every score is compared with.

- :class:`OracleModel` reads the targets and must reach the maximum of every metric.
- :class:`ChanceModel` predicts uniformly at random (seeded per sample, so a resumed or sharded run predicts
  the same).
- :class:`ConstantModel` gives every item the task's fixed answer, reading nothing at all: background in
  every segment, empty masks, no events, offset zero, the same second in both streams, equal scores.
- :class:`PriorModel` answers from the *training* split's targets and the item's declared text only: the
  majority label per segment, the most frequent class, the training mean mask and map, the offset and class
  priors, and for question answering the most frequent training answer of each question template (a blind
  baseline: it never sees the media).

Chance, constant and prior are the trivial baselines (:func:`is_trivial_baseline`); a report puts the
strongest of them beside every score.

Example:
    >>> OracleModel().id, ChanceModel(seed=3).id, ConstantModel().id
    ('oracle', 'chance-seed3', 'constant')
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.sample import Sample
from avikit.errors import DataError, UsageError
from avikit.models.protocol import Item, ReferenceItem
from avikit.tasks import AVEL_LABELS, SYNC_OFFSETS, TASKS, Task, TaskInputs
from avikit.tasks.generation import GenerationTask
from avikit.tasks.schema import encode_mask

__all__ = [
    "MASK_CLIPS",
    "ChanceModel",
    "ConstantModel",
    "OracleModel",
    "PriorModel",
    "ReferenceBaseline",
    "is_trivial_baseline",
]

_BACKGROUND = "background"
MASK_CLIPS = 100
"""Training clips of the mask priors (AVS): 500 masks fix a mean mask well, and each mask costs a render."""


def _reference(batch: Sequence[Item], model_id: str) -> list[ReferenceItem]:
    """The batch as reference items (targets and stable ids), which only the harness makes."""
    if not all(isinstance(item, ReferenceItem) for item in batch):
        raise UsageError(
            f"{model_id} reads targets: run it through avikit's predict loop (avikit.eval.predict), which "
            "gives the harness's baselines reference items"
        )
    return [item for item in batch if isinstance(item, ReferenceItem)]


def is_trivial_baseline(model: object) -> bool:
    """Whether ``model`` is a trivial baseline (chance, constant, prior): the floor of every score.

    Example:
        >>> is_trivial_baseline(ConstantModel()), is_trivial_baseline(OracleModel())
        (True, False)
    """
    return bool(getattr(model, "trivial_baseline", False))


class ReferenceBaseline:
    """Base of the harness's reference baselines, which read targets and stable sample ids.

    The predict loop gives instances of its subclasses :class:`~avikit.models.protocol.ReferenceItem`
    objects, and their records say ``"reads_targets": true``; every other model gets plain items.
    """

    reads_targets = True


class OracleModel(ReferenceBaseline):
    """Predicts the truth, read from each item's target: the maximum of every metric."""

    id = "oracle"
    weights_hash = "none"
    tasks = tuple(TASKS)

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """The task's oracle prediction for every item (the harness gives it reference items)."""
        out = []
        for item in _reference(batch, self.id):
            if isinstance(task, GenerationTask):
                out.append(task.oracle_prediction(item.target, item.inputs, item.output_dir))
            else:
                out.append(task.oracle_prediction(item.target, item.inputs))
        return out


class ChanceModel(ReferenceBaseline):
    """Uniformly random predictions, seeded by ``(seed, task, sample id)``."""

    weights_hash = "none"
    tasks = tuple(TASKS)
    trivial_baseline = True

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.id = f"chance-seed{seed}"

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """The task's chance prediction for every item."""
        out = []
        for item in _reference(batch, self.id):
            key = f"{self.seed}/{task.name}/{item.key}".encode()
            rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))
            if isinstance(task, GenerationTask):
                out.append(task.chance_prediction(item.inputs, rng, item.output_dir))
            else:
                out.append(task.chance_prediction(item.inputs, rng))
        return out


# ------------------------------------------------------------------------------------------------ constant


def _empty_masks(inputs: TaskInputs) -> dict[str, Any]:
    mask = encode_mask(np.zeros(inputs.frame_size, dtype=np.int64))
    return {"masks": [mask] * len(inputs.frames)}


def _centre_map(inputs: TaskInputs) -> dict[str, Any]:
    """A Gaussian bump at the frame's centre on an 8 x 8 pixel grid (the classic centre prior)."""
    rows, cols = inputs.frame_size[0] // 8, inputs.frame_size[1] // 8
    y, x = np.mgrid[:rows, :cols]
    bump = np.exp(-(((y - (rows - 1) / 2) / (rows / 4)) ** 2 + ((x - (cols - 1) / 2) / (cols / 4)) ** 2))
    return {"heatmap": bump.round(4).tolist()}


_CONSTANT: dict[str, Callable[[TaskInputs], dict[str, Any]]] = {
    "avel": lambda inputs: {"labels": [_BACKGROUND] * len(inputs.segments)},
    "avel-cross-modal": lambda inputs: {"distances": (1.0 - np.eye(len(inputs.segments))).tolist()},
    "avvp": lambda inputs: {"audio": [[] for _ in inputs.segments], "visual": [[] for _ in inputs.segments]},
    "dense-localization": lambda inputs: {"events": []},
    "avs-binary": _empty_masks,
    "avs-semantic": _empty_masks,
    "source-localization": _centre_map,
    "sync": lambda inputs: {"logits": np.eye(len(SYNC_OFFSETS))[len(SYNC_OFFSETS) // 2].tolist()},
    "classification-multilabel": lambda inputs: {"scores": [0.0] * _num_classes()},
}
"""Task -> the fixed answer of :class:`ConstantModel` (a function of the input geometry only)."""


def _num_classes() -> int:
    from avikit.data.synth.classes import CLASS_NAMES

    return len(CLASS_NAMES)


class ConstantModel:
    """The task's fixed answer for every item; it reads no media, no text and no data.

    Background in every AVEL segment, no AVVP or dense events, empty AVS masks, a centred map for source
    localization, offset zero for sync, the same second in both streams for cross-modal localization,
    equal scores for multi-label classification.
    """

    id = "constant"
    weights_hash = "none"
    tasks = tuple(_CONSTANT)
    trivial_baseline = True

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """The fixed answer of ``task`` for every item."""
        if task.name not in _CONSTANT:
            raise UsageError(
                f"{self.id} has no fixed answer for task {task.name}; its tasks are {self.tasks}"
            )
        return [{**_CONSTANT[task.name](item.inputs), "id": item.id} for item in batch]


# --------------------------------------------------------------------------------------------------- prior

Answer = Callable[[TaskInputs], dict[str, Any]]


def _majority_labels(targets: Sequence[Mapping[str, Any]], task: Task) -> Answer:
    """AVEL: the most frequent training label at each segment position."""
    length = max(len(t["labels"]) for t in targets)
    counts = np.zeros((length, len(AVEL_LABELS)))
    for t in targets:
        counts[np.arange(len(t["labels"])), t["labels"]] += 1
    overall = int(counts.sum(0).argmax())
    best = [AVEL_LABELS[int(row.argmax())] if row.any() else AVEL_LABELS[overall] for row in counts]
    return lambda inputs: {
        "labels": [best[k] if k < length else AVEL_LABELS[overall] for k in range(len(inputs.segments))]
    }


def _majority_class_everywhere(targets: Sequence[Mapping[str, Any]], task: Task) -> Answer:
    """AVVP: each modality's most frequent training class, in every segment."""
    classes = task.vocabularies()["classes"]
    top = {m: classes[int(np.argmax(sum(t[m].sum(1) for t in targets)))] for m in ("audio", "visual")}
    return lambda inputs: {m: [[top[m]] for _ in inputs.segments] for m in ("audio", "visual")}


def _class_prior_events(targets: Sequence[Mapping[str, Any]], task: Task) -> Answer:
    """Dense localization: one whole-window event per training class, scored by its training frequency."""
    counts = Counter(label for t in targets for label, _, _ in t["events"])
    total = sum(counts.values()) or 1
    rate = task.spec.protocol.sample_rate

    def answer(inputs: TaskInputs) -> dict[str, Any]:
        end = (inputs.audio[1] - inputs.audio[0]) / rate
        events = [
            {"label": label, "start": 0.0, "end": end, "score": n / total} for label, n in counts.items()
        ]
        return {"events": events}

    return answer


def _region(masks: np.ndarray) -> np.ndarray:
    """The training mean mask ``[H, W]`` thresholded where the mean per-frame IoU on the masks is best.

    IoU as AVSBench's ``mask_iou``: ``inter / (union + 1e-7)``, so an empty guess of an empty frame is 0.
    """
    frames = masks.reshape(-1, *masks.shape[-2:]).astype(bool)
    mean = frames.mean(0)
    best, region = -1.0, np.zeros(mean.shape, dtype=np.int64)
    for level in np.linspace(0.05, 0.95, 19):
        guess = mean >= level
        inter = (frames & guess).sum(axis=(1, 2))
        union = (frames | guess).sum(axis=(1, 2))
        iou = float(np.mean(inter / (union + 1e-7)))
        if iou > best:
            best, region = iou, guess.astype(np.int64)
    return region


def _checked_size(region: np.ndarray, inputs: TaskInputs, task: Task) -> np.ndarray:
    if region.shape != tuple(inputs.frame_size):
        raise DataError(
            f"prior of {task.name}: training masks are {region.shape}, the items' frames "
            f"{tuple(inputs.frame_size)}; fit the prior on training data of the evaluated dataset"
        )
    return region


def _mean_mask(targets: Sequence[Mapping[str, Any]], task: Task) -> Answer:
    """AVS: the training mean mask, thresholded on the training masks (binary: 1, semantic: top class)."""
    masks = np.stack([t["masks"] for t in targets])
    region = _region(masks > 0)
    value = 1
    if task.name == "avs-semantic":
        values = masks[masks > 0]
        value = int(np.bincount(values).argmax()) if len(values) else 1

    def answer(inputs: TaskInputs) -> dict[str, Any]:
        mask = encode_mask(_checked_size(region, inputs, task) * value)
        return {"masks": [mask] * len(inputs.frames)}

    return answer


def _mean_map(targets: Sequence[Mapping[str, Any]], task: Task) -> Answer:
    """Source localization: the training mean map on a grid of 8 x 8 pixel cells."""
    mean = np.stack([t["map"] for t in targets]).astype(np.float64).mean(0)
    rows, cols = mean.shape[0] // 8, mean.shape[1] // 8
    cells = mean[: rows * 8, : cols * 8].reshape(rows, 8, cols, 8).mean(axis=(1, 3))

    def answer(inputs: TaskInputs) -> dict[str, Any]:
        _checked_size(mean, inputs, task)
        return {"heatmap": cells.round(4).tolist()}

    return answer


def _label_prior(
    key: str, size: Callable[[Task], int]
) -> Callable[[Sequence[Mapping[str, Any]], Task], Answer]:
    """Single-label tasks: the training frequency of every class as its score (argmax: the majority)."""

    def fit(targets: Sequence[Mapping[str, Any]], task: Task) -> Answer:
        counts = np.bincount([int(t["label"]) for t in targets], minlength=size(task)).astype(np.float64)
        scores = (counts / counts.sum()).round(6).tolist()
        return lambda inputs: {key: scores}

    return fit


def _multilabel_prior(targets: Sequence[Mapping[str, Any]], task: Task) -> Answer:
    """Multi-label classification: every class scored by its training frequency."""
    scores = np.stack([t["labels"] for t in targets]).astype(np.float64).mean(0).round(6).tolist()
    return lambda inputs: {"scores": scores}


def _template_pattern(content: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in content.split("<Object>")]
    return re.compile("(.+?)".join(parts) + "$")


def _question_prior(questions: Sequence[Mapping[str, Any]]) -> Callable[[str], str]:
    """AVQA: the most frequent training answer of a question's template (else of its text, else overall).

    A template is the question with its objects as ``<Object>`` (``question_content`` of MUSIC-AVQA-style
    records); a question is matched to the template with the fewest slots and the longest text first.
    """
    by_template: dict[str, Counter[str]] = {}
    by_text: dict[str, Counter[str]] = {}
    for q in questions:
        by_template.setdefault(str(q.get("question_content", q["question"])), Counter())[q["answer"]] += 1
        by_text.setdefault(str(q["question"]), Counter())[q["answer"]] += 1
    overall = Counter(q["answer"] for q in questions).most_common(1)[0][0]
    order = sorted(by_template, key=lambda c: (c.count("<Object>"), -len(c)))
    patterns = [(_template_pattern(c), by_template[c].most_common(1)[0][0]) for c in order]

    def answer(question: str) -> str:
        for pattern, best in patterns:
            if pattern.match(question):
                return best
        known = by_text.get(question)
        return known.most_common(1)[0][0] if known else overall

    return answer


_PRIORS: dict[str, Callable[[Sequence[Mapping[str, Any]], Task], Answer]] = {
    "avel": _majority_labels,
    "avvp": _majority_class_everywhere,
    "dense-localization": _class_prior_events,
    "avs-binary": _mean_mask,
    "avs-semantic": _mean_mask,
    "source-localization": _mean_map,
    "classification": _label_prior("scores", lambda task: len(task.vocabularies().get("classes", ()))
                                   or _num_classes()),
    "classification-multilabel": _multilabel_prior,
    "sync": _label_prior("logits", lambda task: len(SYNC_OFFSETS)),
}  # fmt: skip
"""Task -> the fit of :class:`PriorModel`'s answer from training targets (``avqa`` is fit from questions)."""


class PriorModel:
    """Answers from the training split's targets: majority labels, class priors, mean masks and maps.

    For question answering it is the blind baseline: the most frequent training answer of each question's
    template. It reads the declared text of an item and nothing else of it (never its media, never its
    target): everything it knows comes from ``samples``, the training split (default: the first
    ``train_clips`` AVSynth ``train`` clips of ``seed``, the data the reference models train on). It is an
    ordinary model of the predict loop (plain items under opaque ids, no ``reads_targets``), not a
    :class:`ReferenceBaseline`.

    Args:
        samples: training samples of the evaluated dataset (with ``root`` for their targets).
        root: the dataset folder of ``samples``.
        train_clips: AVSynth training clips when ``samples`` is not given.
        seed: AVSynth seed when ``samples`` is not given.
    """

    id = "prior"
    weights_hash = "none"
    tasks = (*_PRIORS, "avqa")
    trivial_baseline = True

    def __init__(
        self,
        samples: Sequence[Sample] | None = None,
        root: str | Path | None = None,
        train_clips: int = 300,
        seed: int = 0,
    ) -> None:
        self._samples, self.root, self.train_clips, self.seed = samples, root, train_clips, seed
        self._answers: dict[str, Answer] = {}

    def training_samples(self) -> Sequence[Sample]:
        """The training split the prior is fit on."""
        if self._samples is None:
            from avikit.data.synth import generate

            self._samples = [generate("train", index, self.seed)[0] for index in range(self.train_clips)]
        return self._samples

    def _fit(self, task: Task) -> Answer:
        scored = [
            s for s in self.training_samples() if task.includes(replace(s, split=task.spec.protocol.split))
        ]
        if not scored:
            raise DataError(f"{self.id}: no training sample has targets of task {task.name}; nothing to fit")
        if task.name == "avqa":
            prior = _question_prior([q for s in scored for q in s.target("qa")])
            return lambda inputs: {"answers": [prior(text) for text in inputs.text]}
        if task.name in ("avs-binary", "avs-semantic"):
            scored = scored[:MASK_CLIPS]  # each mask target renders its clip again; the mean settles fast
        return _PRIORS[task.name]([task.build_target(s, self.root) for s in scored], task)

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """The prior answer of every item, from its declared inputs (geometry, text) only."""
        if task.name not in self.tasks:
            raise UsageError(f"{self.id} has no prior for task {task.name}; its tasks are {self.tasks}")
        if task.name not in self._answers:
            self._answers[task.name] = self._fit(task)
        return [{**self._answers[task.name](item.inputs), "id": item.id} for item in batch]
