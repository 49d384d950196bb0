"""Audio-visual video parsing (LLP): which classes are heard and which are seen in every 1 s segment.

The classes are the dataset's (its profile's ``"classes"``); samples carry per-segment label lists in their
``segment_labels`` target (LLP's val and test splits, AVSynth).

Example:
    >>> from avikit.data.synth import generate
    >>> task = AVVPTask()
    >>> sample, _ = generate("test", 1)
    >>> target = task.build_target(sample)
    >>> target["audio"].shape
    (27, 10)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.data.synth.classes import CLASS_NAMES
from avikit.errors import DataError
from avikit.metrics import compute_avvp_scores, compute_avvp_statistics
from avikit.tasks.base import Evaluation, Protocol, Task, TaskInputs, TaskSpec, mean_values, segments
from avikit.tasks.schema import FieldSpec

__all__ = ["AVVPTask"]

_MODALITIES = ("audio", "visual")
_LEVELS = ("segment", "event")
_KINDS = ("audio", "visual", "audio_visual", "type", "event")


def _binary(label_sets: Sequence[Sequence[str]], classes: Sequence[str]) -> NDArray[np.int64]:
    """Per-segment label lists -> binary ``[C, T]`` over ``classes``."""
    index = {name: k for k, name in enumerate(classes)}
    out = np.zeros((len(classes), len(label_sets)), dtype=np.int64)
    for segment, labels in enumerate(label_sets):
        for label in labels:
            out[index[label], segment] = 1
    return out


class AVVPTask(Task):
    """LLP video parsing: segment- and event-level F1 (audio, visual, AV, Type@AV, Event@AV)."""

    spec = TaskSpec(
        name="avvp",
        pillar="perception",
        family="video parsing",
        version=1,
        benchmark="LLP (AVVP)",
        description=(
            "For every 1 s segment, list the classes that are heard (audio) and those that are seen "
            "(visual); "
            "audio-visual events are where both hold."
        ),
        inputs=("audio", "video"),
        protocol=Protocol(
            frame_sampling="segments", params={"segment_seconds": 1, "num_classes": len(CLASS_NAMES)}
        ),
        target_schema={
            "audio": "binary [C, T]: class c is heard for at least half of segment t",
            "visual": "binary [C, T]: class c is seen for at least half of segment t",
        },
        prediction_schema=(
            FieldSpec("audio", "label_sets", ("T",), "classes", "per 1 s segment, the classes heard"),
            FieldSpec("visual", "label_sets", ("T",), "classes", "per 1 s segment, the classes seen"),
        ),
        metrics=tuple(f"{level}_{kind}" for level in _LEVELS for kind in _KINDS),
        primary_metric="segment_type",
        unit="percent",
        resampling_unit="video",
    )
    required_targets = ("segment_labels",)

    def profile_params(self, profile: DatasetProfile) -> dict[str, Any]:
        """The number of classes."""
        return {"num_classes": len(profile.labels("classes"))}

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """All frames and the whole audio, with the segments."""
        geometry = self.check_rates(sample)
        return TaskInputs(
            sample.id,
            tuple(range(geometry.num_frames)),
            (0, geometry.num_samples),
            geometry.frame_shape,
            segments(geometry),
        )

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """Binary ``[C, T]`` per modality from the per-segment labels, over the dataset's classes."""
        classes = self.profile.labels("classes")
        segment_labels = sample.target("segment_labels")
        count = len(self.build_inputs(sample).segments)
        for modality in _MODALITIES:
            unknown = sorted({c for labels in segment_labels[modality] for c in labels} - set(classes))
            if unknown or len(segment_labels[modality]) != count:
                extra = f" and classes {unknown} the dataset does not declare" if unknown else ""
                raise DataError(
                    f"sample {sample.id!r}: {modality} segment labels hold {len(segment_labels[modality])} "
                    f"segments for {count}{extra}; prepare the dataset again"
                )
        return {modality: _binary(segment_labels[modality], classes) for modality in _MODALITIES}

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """T: the number of segments."""
        return {"T": len(inputs.segments)}

    def vocabularies(self) -> dict[str, Sequence[str]]:
        """The dataset's classes."""
        return {"classes": self.profile.labels("classes")}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """LLP F1 scores in percent; per-video F1 values back the intervals."""
        classes = self.profile.labels("classes")
        pred = {m: np.stack([_binary(p[m], classes) for p in predictions]) for m in _MODALITIES}
        truth = {m: np.stack([t[m] for t in targets]) for m in _MODALITIES}
        statistics = compute_avvp_statistics(pred["audio"], pred["visual"], truth["audio"], truth["visual"])
        values = {key: mean_values(value, 100.0) for key, value in statistics.items()}
        for level in _LEVELS:
            kinds = [statistics[f"{level}_{kind}"] for kind in ("audio", "visual", "audio_visual")]
            values[f"{level}_type"] = mean_values(np.mean(kinds, axis=0), 100.0)
        return Evaluation(compute_avvp_scores(statistics), values, len(predictions))

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """The true per-segment classes."""
        classes = self.profile.labels("classes")
        out: dict[str, Any] = {"id": inputs.sample_id}
        for modality in _MODALITIES:
            out[modality] = [[classes[c] for c in np.flatnonzero(column)] for column in target[modality].T]
        return out

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """One uniformly random class per segment and modality."""
        classes = self.profile.labels("classes")
        out: dict[str, Any] = {"id": inputs.sample_id}
        for modality in _MODALITIES:
            out[modality] = [[classes[int(rng.integers(len(classes)))]] for _ in inputs.segments]
        return out
