"""Dense audio-visual event localisation (UnAV-100): every audio-visual event as (class, start, end, score).

The classes are the dataset's (its profile's ``"classes"``); samples carry their events in the
``events.audio_visual`` target (UnAV-100, and AVSynth, AVE and LLP).

Example:
    >>> from avikit.data.synth import generate
    >>> task = DenseLocalizationTask()
    >>> sample, _ = generate("test", 1)
    >>> task.build_target(sample)["events"]
    [('snake', 4.75, 9.25)]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.sample import Sample
from avikit.errors import DataError
from avikit.metrics import UNAV_TIOU_THRESHOLDS, compute_detection_scores, compute_detection_statistics
from avikit.metrics.detection import compute_detection_resampler
from avikit.tasks.base import Evaluation, Protocol, Task, TaskInputs, TaskSpec
from avikit.tasks.schema import FieldSpec

__all__ = ["DenseLocalizationTask"]

_THRESHOLD_KEYS = tuple(f"map@{t:.2f}".rstrip("0") for t in UNAV_TIOU_THRESHOLDS)


class DenseLocalizationTask(Task):
    """UnAV-100 dense localisation: mAP at tIoU 0.1:0.1:0.9 and their average."""

    per_sample_scores = False
    spec = TaskSpec(
        name="dense-localization",
        pillar="perception",
        family="dense localization",
        version=1,
        benchmark="UnAV-100",
        description="Detect every audio-visual event of a clip: class, start and end (seconds), score.",
        inputs=("audio", "video"),
        protocol=Protocol(params={"tiou_thresholds": [float(t) for t in UNAV_TIOU_THRESHOLDS]}),
        target_schema={"events": "audio-visual events as (class, start, end), seconds"},
        prediction_schema=(
            FieldSpec(
                "events",
                "detections",
                (),
                "classes",
                "detected events: [{label, start, end, score}, ...], seconds, any number",
            ),
        ),
        metrics=(*_THRESHOLD_KEYS, "average_map"),
        primary_metric="average_map",
        unit="fraction",
        resampling_unit="video",
    )

    required_targets = ("events",)

    def includes(self, sample: Sample) -> bool:
        """Clips of the split with audio-visual event annotations (possibly none)."""
        return super().includes(sample) and "audio_visual" in sample.targets["events"]

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """All frames and the whole audio."""
        geometry = self.check_rates(sample)
        frames = tuple(range(geometry.num_frames))
        return TaskInputs(sample.id, frames, (0, geometry.num_samples), geometry.frame_shape)

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"events": [(label, start, end), ...]}`` without exact duplicates (as UnAV-100 removes them)."""
        rows = sample.target("events")["audio_visual"]
        unknown = sorted({e["label"] for e in rows} - set(self.profile.labels("classes")))
        if unknown:
            raise DataError(
                f"sample {sample.id!r}: events of classes {unknown} the dataset {self.profile.name!r} does "
                "not declare; prepare it again"
            )
        unique = dict.fromkeys((e["label"], float(e["onset"]), float(e["offset"])) for e in rows)
        return {"events": list(unique)}

    def vocabularies(self) -> dict[str, Sequence[str]]:
        """The dataset's classes."""
        return {"classes": self.profile.labels("classes")}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """UnAV-100 mAP over the whole set (video index = position in the set)."""
        statistics = compute_detection_statistics(*self._detection_arrays(predictions, targets))
        return Evaluation(compute_detection_scores(statistics), {}, len(predictions))

    def _detection_arrays(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The seven arrays of :func:`compute_detection_statistics`, classes indexed in profile order.

        True events (video, span, class), then detections (video, span, class, score).
        """
        index = {name: k for k, name in enumerate(self.profile.labels("classes"))}
        gt = [(v, e) for v, t in enumerate(targets) for e in t["events"]]
        pred = [(v, d) for v, p in enumerate(predictions) for d in p["events"]]
        return (
            np.array([v for v, _ in gt], dtype=np.int64),
            np.array([[e[1], e[2]] for _, e in gt], dtype=np.float64).reshape(-1, 2),
            np.array([index[e[0]] for _, e in gt], dtype=np.int64),
            np.array([v for v, _ in pred], dtype=np.int64),
            np.array([[d["start"], d["end"]] for _, d in pred], dtype=np.float64).reshape(-1, 2),
            np.array([index[d["label"]] for _, d in pred], dtype=np.int64),
            np.array([d["score"] for _, d in pred], dtype=np.float64),
        )

    def resampled_scores(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Callable[[Sequence[int]], dict[str, float]]:
        """UnAV-100 mAP of chosen videos (repeats allowed), each video's matching done once."""
        return compute_detection_resampler(
            *self._detection_arrays(predictions, targets), videos=range(len(targets))
        )

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """Every true event, score 1."""
        events = [
            {"label": label, "start": start, "end": end, "score": 1.0}
            for label, start, end in target["events"]
        ]
        return {"id": inputs.sample_id, "events": events}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """One to three random events of random classes and scores."""
        duration = (inputs.audio[1] - inputs.audio[0]) / self.spec.protocol.sample_rate
        classes = self.profile.labels("classes")
        events = []
        for _ in range(int(rng.integers(1, 4))):
            start, end = np.sort(rng.uniform(0, duration, 2)).round(3)
            label = classes[int(rng.integers(len(classes)))]
            events.append(
                {"label": label, "start": float(start), "end": float(end), "score": float(rng.random())}
            )
        return {"id": inputs.sample_id, "events": events}
