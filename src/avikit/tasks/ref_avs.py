"""Referring audio-visual segmentation (Ref-AVS): segment the object a text expression refers to.

After Wang et al., "Ref-AVS: Refer and Segment Objects in Audio-Visual Scenes" (ECCV 2024). Each clip comes
with referring expressions (:mod:`avikit.data.synth.expressions`: by the sound an object makes, by whether
it sounds, by its colour, by its place); the model gives, for every expression, one mask per frame of the
referred object (the object in every frame it is visible, sounding or not). As in Ref-AVS, 10 frames of a
10 s clip, one per second (the frame AVSBench's preprocessing keeps of each second,
:func:`avikit.data.datasets.avsbench.avsbench_frame_indices`), the whole audio, and the expressions as text.
Masks are at the clip's resolution (Ref-AVS resizes to 256 x 256) and travel as run-length encodings,
expression after expression (all frames of the first expression, then the second's, ...).

Ref-AVS's three test sets are three tasks:

- ``ref-avs-seen``: ``test`` clips (classes seen in training), expressions that refer to an object;
- ``ref-avs-unseen``: ``open_test`` clips (classes never seen in training), the same kinds;
- ``ref-avs-null``: ``test`` clips, expressions that refer to nothing in view (an absent class or colour,
  or a sound whose source is off screen); every true mask is empty and the score is S (lower is better).

Scores (:mod:`avikit.metrics.ref_avs`): one unit is one (clip, expression) pair, pairs in clip order, test
batches of 4 pairs as officially. Predicting nothing scores S = 0 on the null set; that is why the null set
is only read beside the other two.

Example:
    >>> from avikit.data.synth import generate
    >>> sample, _ = generate("test", 1)
    >>> inputs = RefAVSSeenTask().build_inputs(sample)
    >>> inputs.frames, inputs.audio, inputs.text[0]
    ((7, 15, 23, 31, 39, 47, 55, 63, 71, 79), (0, 160000), 'the object making the snake sound')
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from avikit.data.datasets.avsbench import avsbench_frame_indices
from avikit.data.sample import Sample
from avikit.data.synth.expressions import build_expressions
from avikit.data.synth.recipe import load_ids
from avikit.data.synth.scene import split_classes
from avikit.errors import UsageError
from avikit.metrics.ref_avs import (
    REF_AVS_BATCH_SIZE,
    REF_AVS_IOU_THRESHOLD,
    compute_ref_avs_null_score,
    compute_ref_avs_scores,
    compute_ref_avs_statistics,
)
from avikit.tasks.base import Evaluation, Protocol, Task, TaskInputs, TaskSpec, mean_values
from avikit.tasks.schema import FieldSpec, encode_mask

__all__ = [
    "REF_AVS_TASKS",
    "RefAVSNullTask",
    "RefAVSSeenTask",
    "RefAVSTask",
    "RefAVSUnseenTask",
    "clip_expressions",
    "referred_masks",
]

REF_AVS_TASKS = ("ref-avs-seen", "ref-avs-unseen", "ref-avs-null")
"""The three Ref-AVS test sets, by task name."""
_SECONDS = 10
_LOGIT = 10.0  # a predicted 1 is scored as logit +10 (sigmoid 0.99995), a 0 as -10
_MASKS_DOC = (
    "one run-length mask per frame per expression, expression-major (all T frames of expression 1, then "
    "expression 2, ...): {'size': [H, W], 'runs': [[value, count], ...]}, values 0 or 1"
)


def clip_expressions(sample: Sample, null: bool) -> list[dict[str, Any]]:
    """The clip's referring expressions that refer to an object (``null=False``) or to nothing (``True``)."""
    targets = sample.to_dict()["targets"]
    every = build_expressions(targets, split_classes(sample.split), sample.id)
    return [e for e in every if e["null"] == null]


def referred_masks(ids: NDArray[Any], frames: Sequence[int], objects: Sequence[int]) -> NDArray[np.int64]:
    """Binary masks ``[T, H, W]`` of the ``objects`` (ids) in ``frames`` of an id map ``[F, H, W]``.

    The id map holds ``object id + 1`` where an object is drawn in front (0: background).

    Example:
        >>> ids = np.array([[[0, 1], [2, 2]], [[1, 1], [0, 0]]])
        >>> referred_masks(ids, (0, 1), [0]).tolist()
        [[[0, 1], [0, 0]], [[1, 1], [0, 0]]]
    """
    chosen = ids[list(frames)].astype(np.int64)
    return np.isin(chosen, [o + 1 for o in objects]).astype(np.int64)


class RefAVSTask(Task):
    """Shared behaviour: 10 frames and 10 s of audio, the expressions of one subset, pairs scored in order."""

    null: ClassVar[bool] = False

    def includes(self, sample: Sample) -> bool:
        """Clips of the task's split with at least one expression of its subset."""
        return super().includes(sample) and bool(clip_expressions(sample, self.null))

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """One frame per second of the first 10 s, their audio, and the expressions."""
        geometry = self.check_rates(sample, _SECONDS)
        frames = avsbench_frame_indices(geometry.fps, geometry.num_frames, _SECONDS)
        text = tuple(e["text"] for e in clip_expressions(sample, self.null))
        size = (geometry.size, geometry.size)
        return TaskInputs(sample.id, frames, (0, _SECONDS * geometry.sample_rate), size, text=text)

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"masks": int [E, T, H, W]}``: per expression, the referred object's pixels in each frame."""
        frames = self.build_inputs(sample).frames
        ids = load_ids(sample, root)
        expressions = clip_expressions(sample, self.null)
        return {"masks": np.stack([referred_masks(ids, frames, e["objects"]) for e in expressions])}

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """M = expressions x frames masks of H x W, values 0..1."""
        height, width = inputs.frame_size
        return {"M": len(inputs.text) * len(inputs.frames), "H": height, "W": width, "max_value": 1}

    def _statistics(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> tuple[dict[str, NDArray], list[int]]:
        """Statistics of every (clip, expression) pair in order, and the number of pairs of each clip."""
        if not targets:
            raise UsageError(
                f"task {self.name}: no clip to score (its split is {self.spec.protocol.split!r})"
            )
        masks = np.concatenate([np.asarray(t["masks"]) for t in targets])  # [V, T, H, W]
        counts = [len(t["masks"]) for t in targets]
        predicted = np.concatenate([np.asarray(p["masks"]) for p in predictions]).reshape(masks.shape)
        logits = np.where(predicted == 1, _LOGIT, -_LOGIT)
        return compute_ref_avs_statistics(logits, masks), counts

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """The true masks."""
        masks = np.asarray(target["masks"])
        return {
            "id": inputs.sample_id,
            "masks": [encode_mask(m) for m in masks.reshape(-1, *masks.shape[2:])],
        }

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """Each pixel 1 with probability one half."""
        masks = rng.integers(0, 2, (len(inputs.text) * len(inputs.frames), *inputs.frame_size))
        return {"id": inputs.sample_id, "masks": [encode_mask(mask) for mask in masks]}


def _per_clip(values: NDArray, counts: Sequence[int]) -> NDArray[np.float64]:
    edges = np.cumsum([0, *counts])
    return np.array([values[a:b].mean() for a, b in itertools.pairwise(edges)])


def _spec(name: str, split: str, subset: str, description: str, metrics: tuple[str, ...]) -> TaskSpec:
    return TaskSpec(
        name=name,
        pillar="perception",
        family="referring segmentation",
        version=1,
        benchmark=f"Ref-AVS ({subset} test set)",
        description=description,
        inputs=("audio", "video", "text"),
        protocol=Protocol(
            split=split,
            num_frames=_SECONDS,
            frame_sampling="avsbench",
            window=("0", str(_SECONDS)),
            params={
                "subset": subset,
                "batch_size": REF_AVS_BATCH_SIZE,
                "iou_threshold": REF_AVS_IOU_THRESHOLD,
                "binary_logit": _LOGIT,
            },
        ),
        target_schema={"masks": "binary [E, T, H, W]: per expression, 1 on the referred object"},
        prediction_schema=(FieldSpec("masks", "masks", ("M",), None, _MASKS_DOC),),
        metrics=metrics,
        primary_metric=metrics[0],
        unit="fraction",
        lower_is_better=("s",) if "s" in metrics else (),
    )


class _ReferredTask(RefAVSTask):
    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """Ref-AVS mIoU and F-score of the (clip, expression) pairs; per-clip mean IoU backs the interval."""
        statistics, counts = self._statistics(predictions, targets)
        scores = compute_ref_avs_scores(statistics, int(self.spec.protocol.params["batch_size"]))
        per_clip = _per_clip(statistics["iou"].mean(axis=1), counts)
        return Evaluation(scores, {"miou": mean_values(per_clip)}, len(predictions))


class RefAVSSeenTask(_ReferredTask):
    """Ref-AVS seen: expressions that refer to one object, classes seen in training; mIoU and F-score."""

    spec = _spec(
        "ref-avs-seen",
        "test",
        "seen",
        "Segment, in one frame per second of a 10 s clip, the object each text expression refers to (by "
        "its sound, whether it sounds, its colour or its place); classes seen in training.",
        ("miou", "f_score"),
    )


class RefAVSUnseenTask(_ReferredTask):
    """Ref-AVS unseen: as ``ref-avs-seen`` on ``open_test`` clips, whose classes training never shows."""

    spec = _spec(
        "ref-avs-unseen",
        "open_test",
        "unseen",
        "Segment, in one frame per second of a 10 s clip, the object each text expression refers to; "
        "classes never seen in training (AVSynth open_test).",
        ("miou", "f_score"),
    )


class RefAVSNullTask(RefAVSTask):
    """Ref-AVS null: expressions that refer to nothing in view; S (lower is better) and the empty-mask mIoU.

    ``miou`` is the fraction of pixels left empty at ``sigmoid > 0.4`` (Ref-AVS's ``mask_iou`` rule for a
    frame without an object), beside the official S.
    """

    null = True
    spec = _spec(
        "ref-avs-null",
        "test",
        "null",
        "Segment the object each text expression refers to when it refers to nothing in view (an absent "
        "class or colour, or a sound whose source is off screen): the right answer is an empty mask.",
        ("s", "miou"),
    )

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """Ref-AVS null-set S and the empty-mask mIoU; per-clip values back the intervals."""
        statistics, counts = self._statistics(predictions, targets)
        batch_size = int(self.spec.protocol.params["batch_size"])
        scores = {
            "s": compute_ref_avs_null_score(statistics, batch_size),
            "miou": compute_ref_avs_scores(statistics, batch_size)["miou"],
        }
        edges = np.cumsum([0, *counts])
        per_clip_s = np.array(
            [
                np.sqrt(statistics["foreground"][a:b].sum() / statistics["pixels"][a:b].sum())
                for a, b in itertools.pairwise(edges)
            ]
        )
        values = {
            "s": mean_values(per_clip_s),
            "miou": mean_values(_per_clip(statistics["iou"].mean(axis=1), counts)),
        }
        return Evaluation(scores, values, len(predictions))
