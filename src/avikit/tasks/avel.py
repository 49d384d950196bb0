"""Audio-visual event localisation (AVE): per-second event classes, and cross-modal localisation (A2V, V2A).

Both follow the AVE protocol: a clip is cut into the dataset's segments (1 s in AVE and AVSynth); a
segment's label is the class of the audio-visual event covering at least half of it, else ``background``.
The labels are the dataset's classes (its profile's ``"classes"``) and ``background``; the samples carry
them per segment in their ``avel`` target.

Example:
    >>> from avikit.data.synth import generate
    >>> task = AVELTask()
    >>> sample, _ = generate("test", 1)
    >>> inputs = task.build_inputs(sample)
    >>> inputs.segments[1], len(inputs.frames)
    ((8, 16, 16000, 32000), 80)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.data.synth.classes import CLASS_NAMES
from avikit.data.synth.ground_truth import BACKGROUND
from avikit.errors import DataError
from avikit.metrics import (
    compute_ave_accuracy,
    compute_ave_accuracy_statistics,
    compute_ave_cross_modal_scores,
    compute_ave_cross_modal_statistics,
    merge_statistics,
)
from avikit.tasks.base import (
    Evaluation,
    Protocol,
    Task,
    TaskInputs,
    TaskSpec,
    item_samples,
    mean_values,
    segments,
)
from avikit.tasks.schema import FieldSpec

__all__ = ["AVEL_LABELS", "AVELCrossModalTask", "AVELTask", "segment_labels"]

AVEL_LABELS: tuple[str, ...] = (*CLASS_NAMES, BACKGROUND)
"""Segment labels of AVEL on AVSynth: the AVSynth classes in index order, then ``background`` (as in AVE)."""

_SEGMENT_PROTOCOL = Protocol(
    frame_sampling="segments", params={"segment_seconds": 1, "num_classes": len(AVEL_LABELS)}
)
_TARGET = {
    "labels": "per 1 s segment: the audio-visual event class covering at least half of it, else background"
}


def _segment_inputs(task: Task, sample: Sample) -> TaskInputs:
    geometry = task.check_rates(sample)
    return TaskInputs(
        sample.id,
        tuple(range(geometry.num_frames)),
        (0, geometry.num_samples),
        geometry.frame_shape,
        segments(geometry),
    )


def segment_labels(profile: DatasetProfile) -> tuple[str, ...]:
    """A dataset's segment labels: its classes, then ``background``."""
    return (*profile.labels("classes"), BACKGROUND)


def _avel_target(task: Task, sample: Sample) -> list[str]:
    """The per-segment labels of a sample, checked against the dataset's labels and segment count."""
    labels = sample.target("avel")
    known = set(segment_labels(task.profile))
    unknown = sorted(set(labels) - known)
    count = len(task.build_inputs(sample).segments)
    if unknown or len(labels) != count:
        raise DataError(
            f"sample {sample.id!r}: its avel target holds {len(labels)} labels for {count} segments"
            + (f" and labels {unknown} outside the dataset's classes" if unknown else "")
            + f"; the dataset {task.profile.name!r} declares {sorted(known)[:5]}... (prepare it again)"
        )
    return labels


class AVELTask(Task):
    """Supervised AVE event localisation: one class (or background) per 1 s segment; segment accuracy."""

    spec = TaskSpec(
        name="avel",
        pillar="perception",
        family="event localization",
        version=1,
        benchmark="AVE (supervised audio-visual event localization)",
        description="Label every 1 s segment with the class of the audio-visual event in it, or background.",
        inputs=("audio", "video"),
        protocol=_SEGMENT_PROTOCOL,
        target_schema=_TARGET,
        prediction_schema=(
            FieldSpec("labels", "labels", ("T",), "avel_labels", "one label per 1 s segment (T segments)"),
        ),
        metrics=("accuracy",),
        primary_metric="accuracy",
        unit="fraction",
        resampling_unit="video",
    )
    required_targets = ("avel",)

    def profile_params(self, profile: DatasetProfile) -> dict[str, Any]:
        """The number of segment labels (classes and background)."""
        return {"num_classes": len(segment_labels(profile))}

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """All frames and the whole audio, with the segments."""
        return _segment_inputs(self, sample)

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"labels": int [T]}``, indices into the dataset's segment labels (classes, then background)."""
        labels = segment_labels(self.profile)
        return {"labels": np.array([labels.index(label) for label in _avel_target(self, sample)])}

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """T: the number of segments."""
        return {"T": len(inputs.segments)}

    def vocabularies(self) -> dict[str, Sequence[str]]:
        """The segment labels: the dataset's classes and ``background``."""
        return {"avel_labels": segment_labels(self.profile)}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """AVE segment accuracy over all segments of all samples."""
        labels = segment_labels(self.profile)
        eye = np.eye(len(labels))
        parts = [
            compute_ave_accuracy_statistics(
                eye[[labels.index(label) for label in prediction["labels"]]][None],
                target["labels"][None],
            )
            for prediction, target in zip(predictions, targets, strict=True)
        ]
        statistics = merge_statistics(parts)
        return Evaluation(
            {"accuracy": compute_ave_accuracy(statistics)},
            {"accuracy": mean_values(statistics["correct"])},
            len(parts),
            {"accuracy": item_samples([len(target["labels"]) for target in targets])},
        )

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """The true labels."""
        labels = segment_labels(self.profile)
        return {"id": inputs.sample_id, "labels": [labels[i] for i in target["labels"]]}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """A uniformly random label per segment."""
        labels = segment_labels(self.profile)
        picks = rng.integers(0, len(labels), len(inputs.segments))
        return {"id": inputs.sample_id, "labels": [labels[i] for i in picks]}


class AVELCrossModalTask(Task):
    """AVE cross-modal localisation: find the event's audio in the video (A2V) and back (V2A).

    As in AVE, a clip takes part only if its event segments form one run that neither is empty nor covers
    the whole clip.
    """

    spec = TaskSpec(
        name="avel-cross-modal",
        pillar="perception",
        family="event localization",
        version=1,
        benchmark="AVE cross-modality localization (A2V, V2A)",
        description=(
            "Given the segments of one modality that hold the event, find where the event lies in the other "
            "modality; the model gives a distance between every visual and every audio segment."
        ),
        inputs=("audio", "video"),
        protocol=_SEGMENT_PROTOCOL,
        target_schema={"events": "per 1 s segment: 1 if it holds the audio-visual event, else 0"},
        prediction_schema=(
            FieldSpec(
                "distances",
                "numbers",
                ("T", "T"),
                None,
                "distances[i][j] between visual segment i and audio segment j (lower = closer)",
            ),
        ),
        metrics=("a2v", "v2a"),
        primary_metric="a2v",
        unit="percent",
        resampling_unit="video",
    )

    required_targets = ("avel",)

    def includes(self, sample: Sample) -> bool:
        """Clips of the split whose event segments form one run, neither empty nor the whole clip."""
        if not super().includes(sample):
            return False
        events = [label != BACKGROUND for label in sample.target("avel")]
        on = [k for k, flag in enumerate(events) if flag]
        return 0 < len(on) < len(events) and on[-1] - on[0] + 1 == len(on)

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """All frames and the whole audio, with the segments."""
        return _segment_inputs(self, sample)

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"events": int [T]}``, 1 on event segments."""
        return {"events": np.array([int(label != BACKGROUND) for label in _avel_target(self, sample)])}

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """T: the number of segments."""
        return {"T": len(inputs.segments)}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """A2V and V2A accuracy in percent."""
        parts = [
            compute_ave_cross_modal_statistics(prediction["distances"][None], target["events"][None])
            for prediction, target in zip(predictions, targets, strict=True)
        ]
        statistics = merge_statistics(parts)
        values = {key: mean_values(statistics[f"{key}_correct"], 100.0) for key in ("a2v", "v2a")}
        return Evaluation(compute_ave_cross_modal_scores(statistics), values, len(parts))

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """Zero distance between a visual segment and the audio of the same second, one elsewhere."""
        size = len(target["events"])
        return {"id": inputs.sample_id, "distances": (1.0 - np.eye(size)).tolist()}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """Uniform random distances."""
        size = len(inputs.segments)
        return {"id": inputs.sample_id, "distances": rng.random((size, size)).round(4).tolist()}
