"""Audio-visual event localisation (AVE): per-second event classes, and cross-modal localisation (A2V, V2A).

Both follow the AVE protocol: a clip is cut into 1 s segments; a segment's label is the class of the
audio-visual event covering at least half of it, else ``background``.

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

from avikit.data.sample import Sample
from avikit.data.synth.classes import CLASS_NAMES
from avikit.data.synth.ground_truth import BACKGROUND
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
    second_segments,
)
from avikit.tasks.schema import FieldSpec

__all__ = ["AVEL_LABELS", "AVELCrossModalTask", "AVELTask"]

AVEL_LABELS: tuple[str, ...] = (*CLASS_NAMES, BACKGROUND)
"""Segment labels of AVEL: the AVSynth classes in index order, then ``background`` (as in AVE)."""

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
        (geometry.size, geometry.size),
        second_segments(geometry),
    )


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

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """All frames and the whole audio, with the 1 s segments."""
        return _segment_inputs(self, sample)

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"labels": int [T]}``, class indices into :data:`AVEL_LABELS`."""
        return {"labels": np.array([AVEL_LABELS.index(label) for label in sample.target("avel")])}

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """T: the number of segments."""
        return {"T": len(inputs.segments)}

    def vocabularies(self) -> dict[str, Sequence[str]]:
        """The segment labels."""
        return {"avel_labels": AVEL_LABELS}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """AVE segment accuracy over all segments of all samples."""
        eye = np.eye(len(AVEL_LABELS))
        parts = [
            compute_ave_accuracy_statistics(
                eye[[AVEL_LABELS.index(label) for label in prediction["labels"]]][None],
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
        return {"id": inputs.sample_id, "labels": [AVEL_LABELS[i] for i in target["labels"]]}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """A uniformly random label per segment."""
        picks = rng.integers(0, len(AVEL_LABELS), len(inputs.segments))
        return {"id": inputs.sample_id, "labels": [AVEL_LABELS[i] for i in picks]}


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

    def includes(self, sample: Sample) -> bool:
        """Test clips whose event segments form one run, neither empty nor the whole clip."""
        events = [label != BACKGROUND for label in sample.target("avel")]
        on = [k for k, flag in enumerate(events) if flag]
        return super().includes(sample) and 0 < len(on) < len(events) and on[-1] - on[0] + 1 == len(on)

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """All frames and the whole audio, with the 1 s segments."""
        return _segment_inputs(self, sample)

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"events": int [T]}``, 1 on event segments."""
        return {"events": np.array([int(label != BACKGROUND) for label in sample.target("avel")])}

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
