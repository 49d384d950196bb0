"""Audio-visual classification: single-label (VGGSound style) and multi-label (AudioSet style).

Single-label: the class of the audio-visual event that lasts longest (ties go to the lower class index), or,
for a dataset without event annotations (VGGSound, VGG-SS), the clip's one label. Multi-label: every class
that is heard (``sounding_classes``), or the clip's labels (AudioSet). Scores come as one number per class
of the dataset (its profile's ``"classes"``), in index order.

Example:
    >>> from avikit.data.synth import generate
    >>> sample, _ = generate("test", 1)
    >>> int(ClassificationTask().build_target(sample)["label"]), CLASS_NAMES[18]
    (18, 'snake')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.data.synth.classes import CLASS_NAMES
from avikit.errors import DataError, UsageError
from avikit.metrics import compute_average_precision, compute_classification_statistics, compute_topk_accuracy
from avikit.tasks.base import Evaluation, Protocol, Task, TaskInputs, TaskSpec, mean_values
from avikit.tasks.schema import FieldSpec

__all__ = ["CLASS_NAMES", "ClassificationTask", "MultiLabelClassificationTask"]

_SCORES = FieldSpec(
    "scores", "numbers", ("C",), None, "one score per class of the dataset, in class index order"
)


def _class_indices(task: Task, sample: Sample, names: Sequence[str]) -> list[int]:
    classes = task.profile.labels("classes")
    unknown = sorted(set(names) - set(classes))
    if unknown:
        raise DataError(
            f"sample {sample.id!r}: classes {unknown} are not among the classes of {task.profile.name!r}; "
            "prepare the dataset again"
        )
    return [classes.index(name) for name in names]


class _ClassificationBase(Task):
    def profile_params(self, profile: DatasetProfile) -> dict[str, Any]:
        """The number of classes."""
        return {"num_classes": len(profile.labels("classes"))}

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """All frames and the whole audio."""
        geometry = self.check_rates(sample)
        frames = tuple(range(geometry.num_frames))
        return TaskInputs(sample.id, frames, (0, geometry.num_samples), geometry.frame_shape)

    def vocabularies(self) -> dict[str, Sequence[str]]:
        """The dataset's classes (the order of the scores)."""
        return {"classes": self.profile.labels("classes")}

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """C: the number of classes."""
        return {"C": len(self.profile.labels("classes"))}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """Uniform random scores."""
        count = len(self.profile.labels("classes"))
        return {"id": inputs.sample_id, "scores": rng.random(count).round(6).tolist()}


class ClassificationTask(_ClassificationBase):
    """Single-label classification: top-1 and top-5 accuracy (first index wins ties)."""

    spec = TaskSpec(
        name="classification",
        pillar="perception",
        family="classification",
        version=1,
        benchmark="VGGSound (single-label top-k accuracy)",
        description="Name the class of the clip's main audio-visual event (the longest on screen).",
        inputs=("audio", "video"),
        protocol=Protocol(params={"num_classes": len(CLASS_NAMES), "top_k": [1, 5], "tie_rule": "first"}),
        target_schema={"label": "index of the class whose audio-visual events last longest"},
        prediction_schema=(_SCORES,),
        metrics=("top1_accuracy", "top5_accuracy"),
        primary_metric="top1_accuracy",
        unit="fraction",
    )

    def includes(self, sample: Sample) -> bool:
        """Clips of the split with at least one audio-visual event, or (without events) exactly one label."""
        if sample.split != self.spec.protocol.split:
            return False
        if "events" in sample.targets:
            return bool(sample.target("events").get("audio_visual"))
        return len(sample.targets.get("labels", ())) == 1

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"label": int}``, an index into the dataset's classes."""
        if "events" not in sample.targets:
            return {"label": _class_indices(self, sample, sample.target("labels"))[0]}
        events = sample.target("events")["audio_visual"]
        totals = np.zeros(len(self.profile.labels("classes")))
        for event, index in zip(
            events, _class_indices(self, sample, [e["label"] for e in events]), strict=True
        ):
            totals[index] += event["offset"] - event["onset"]
        return {"label": int(np.argmax(totals))}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """Top-1 and top-5 accuracy."""
        scores = np.stack([p["scores"] for p in predictions])
        labels = np.array([t["label"] for t in targets])
        statistics = compute_classification_statistics(scores, labels, (1, 5), "first")
        values = {
            key.replace("_correct", "_accuracy"): mean_values(value) for key, value in statistics.items()
        }
        return Evaluation(compute_topk_accuracy(statistics), values, len(predictions))

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """One-hot on the true class."""
        count = len(self.profile.labels("classes"))
        return {"id": inputs.sample_id, "scores": np.eye(count)[target["label"]].tolist()}


class MultiLabelClassificationTask(_ClassificationBase):
    """Multi-label classification of the heard classes: mAP (AudioSet style).

    AP is averaged over the classes that have a positive in the scored set (AP is undefined without one;
    the AudioSet evaluation set has positives for every class, so there both definitions agree).
    """

    per_sample_scores = False
    spec = TaskSpec(
        name="classification-multilabel",
        pillar="perception",
        family="classification",
        version=1,
        benchmark="AudioSet (multi-label mAP)",
        description="Score every class for whether it is heard in the clip.",
        inputs=("audio", "video"),
        protocol=Protocol(params={"num_classes": len(CLASS_NAMES), "average": "classes with a positive"}),
        target_schema={"labels": "binary [C]: 1 for every class that is heard"},
        prediction_schema=(_SCORES,),
        metrics=("map",),
        primary_metric="map",
        unit="fraction",
    )

    def includes(self, sample: Sample) -> bool:
        """Clips of the split with heard classes (``sounding_classes``) or clip labels."""
        has_labels = "sounding_classes" in sample.targets or "labels" in sample.targets
        return sample.split == self.spec.protocol.split and has_labels

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"labels": int [C]}`` over the dataset's classes."""
        key = "sounding_classes" if "sounding_classes" in sample.targets else "labels"
        labels = np.zeros(len(self.profile.labels("classes")), dtype=np.int64)
        labels[_class_indices(self, sample, sample.target(key))] = 1
        return {"labels": labels}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """MAP over the classes with a positive."""
        truth = np.stack([t["labels"] for t in targets])
        ap = compute_average_precision(np.stack([p["scores"] for p in predictions]), truth)
        present = truth.sum(axis=0) > 0
        if not present.any():
            raise UsageError("no class has a positive in the scored set; mAP is undefined")
        return Evaluation({"map": float(np.mean(ap[present]))}, {}, len(predictions))

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """The true labels as scores."""
        return {"id": inputs.sample_id, "scores": target["labels"].astype(float).tolist()}
