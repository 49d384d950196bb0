"""Sound source localisation (VGG-SS / Flickr-SoundNet style): a heatmap of where the sound comes from.

One frame per clip, the middle frame of the first audio-visual event, with 3 s of audio centred on it (as in
VGG-SS). The truth is the disc of every object that sounds in that frame.

Example:
    >>> from avikit.data.synth import generate
    >>> sample, _ = generate("test", 1)
    >>> inputs = SourceLocalizationTask().build_inputs(sample)
    >>> inputs.frames, inputs.audio
    ((55,), (86000, 134000))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.sample import Sample
from avikit.data.synth.ground_truth import localization_maps
from avikit.media.timeline import to_fraction
from avikit.metrics import compute_localization_scores, compute_localization_statistics
from avikit.tasks.base import Evaluation, Protocol, Task, TaskInputs, TaskSpec, mean_values
from avikit.tasks.schema import FieldSpec, PredictionError

__all__ = ["SourceLocalizationTask"]

_AUDIO_SECONDS = 3
_DISC_LEVEL = float(np.exp(-0.5))
"""Truth = pixels within one radius of a sounding object's centre (its Gaussian blob above exp(-1/2))."""


_HEATMAP_DOC = (
    "h x w scores (higher = source); h and w divide the frame's height and width (upsampled by repetition)"
)


def _event_frame(sample: Sample, fps: int) -> int:
    """The middle of the frames whose start lies in the first audio-visual event."""
    event = sample.target("events")["audio_visual"][0]
    first = math.ceil(to_fraction(event["onset"]) * fps)
    last = max(first, math.ceil(to_fraction(event["offset"]) * fps) - 1)
    return (first + last) // 2


class SourceLocalizationTask(Task):
    """Sound source localisation: cIoU success rate at 0.5, AUC and mean cIoU (LVS rule)."""

    spec = TaskSpec(
        name="source-localization",
        pillar="perception",
        family="source localization",
        version=1,
        benchmark="VGG-SS / Flickr-SoundNet (cIoU, AUC)",
        description="Given one frame and the sound around it, give a heatmap, high where the sound is.",
        inputs=("audio", "video"),
        protocol=Protocol(
            num_frames=1,
            frame_sampling="event_middle",
            window=None,
            params={"audio_seconds": _AUDIO_SECONDS, "rule": "lvs", "disc_level": _DISC_LEVEL},
        ),
        target_schema={"map": "binary [H, W]: 1 within one radius of each object sounding in the frame"},
        prediction_schema=(FieldSpec("heatmap", "numbers", ("*", "*"), None, _HEATMAP_DOC),),
        metrics=("ciou", "auc", "mean_ciou"),
        primary_metric="ciou",
        unit="fraction",
    )

    def includes(self, sample: Sample) -> bool:
        """Test clips with at least one audio-visual event."""
        return super().includes(sample) and bool(sample.target("events")["audio_visual"])

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """The event's middle frame and 3 s of audio centred on its start (kept inside the clip)."""
        geometry = self.check_rates(sample)
        frame = _event_frame(sample, geometry.fps)
        length = _AUDIO_SECONDS * geometry.sample_rate
        centre = frame * geometry.sample_rate // geometry.fps
        start = min(max(centre - length // 2, 0), max(geometry.num_samples - length, 0))
        return TaskInputs(sample.id, (frame,), (start, start + length), (geometry.size, geometry.size))

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"map": int [H, W]}``, the sounding objects' discs in the chosen frame."""
        geometry = self.check_rates(sample)
        targets = {"events": sample.target("events"), "objects": sample.target("objects")}
        maps = localization_maps(targets, geometry.num_frames, geometry.size, geometry.fps)
        return {"map": (maps[_event_frame(sample, geometry.fps)] >= _DISC_LEVEL).astype(np.int64)}

    def check_prediction(self, record: Any, inputs: TaskInputs, where: str) -> dict[str, Any]:
        """Validate, and upsample the heatmap to the frame size by repeating each cell.

        Raises:
            PredictionError: if the heatmap's size does not divide the frame size.
        """
        checked = super().check_prediction(record, inputs, where)
        (height, width), (rows, cols) = inputs.frame_size, checked["heatmap"].shape
        if height % rows or width % cols:
            raise PredictionError(
                f"{where}: field 'heatmap': expected h x w with h dividing {height} and w dividing {width}, "
                f"got {rows} x {cols}"
            )
        checked["heatmap"] = np.repeat(np.repeat(checked["heatmap"], height // rows, 0), width // cols, 1)
        return checked

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """CIoU (success at 0.5), AUC and mean cIoU; per-image cIoU backs the intervals."""
        heatmaps = np.stack([p["heatmap"] for p in predictions])
        truth = np.stack([t["map"] for t in targets])
        statistics = compute_localization_statistics(heatmaps, truth, "lvs")
        ciou = statistics["ciou"]
        values = {"ciou": mean_values(ciou >= 0.5), "mean_ciou": mean_values(ciou)}
        return Evaluation(compute_localization_scores(statistics), values, len(predictions))

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """The true map."""
        return {"id": inputs.sample_id, "heatmap": target["map"].tolist()}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """Uniform random scores on a grid of 8 x 8 pixel cells."""
        shape = (inputs.frame_size[0] // 8, inputs.frame_size[1] // 8)
        return {"id": inputs.sample_id, "heatmap": rng.random(shape).round(3).tolist()}
