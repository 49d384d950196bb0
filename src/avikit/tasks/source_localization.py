"""Sound source localisation (VGG-SS / Flickr-SoundNet style): a heatmap of where the sound comes from.

One frame per clip with 3 s of audio centred on it (as EZ-VSL evaluates VGG-SS). On AVSynth the frame is the
middle frame of the first audio-visual event and the truth the disc of every object that sounds in it. On a
still-frame dataset (VGG-SS, Flickr-SoundNet: the sample's ``frame`` target is its one image, taken from the
middle of the clip) the frame is that image, the audio is centred on the clip's middle, and the truth is
drawn from the published boxes on the dataset's map size (224 x 224), as the official evaluations draw it:

* ``ground_truth="union"`` (VGG-SS, boxes ``xyxy_unit`` in [0, 1]): EZ-VSL's ``testset_gt``, coordinates
  clipped to [0, 1], times 224, truncated; 1 inside any box;
* ``ground_truth="consensus"`` (Flickr-SoundNet, boxes ``xyxy_256`` of several annotators): LVS
  ``test.py``, ``int(224 * v / 256)``, every box adds 1, the sum is halved and capped at 1.

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

from avikit.data.clips import still_frame_paths
from avikit.data.sample import Sample
from avikit.data.synth.ground_truth import localization_maps
from avikit.errors import DataError
from avikit.media.timeline import to_fraction
from avikit.metrics import compute_localization_scores, compute_localization_statistics
from avikit.tasks.base import Evaluation, Protocol, Task, TaskInputs, TaskSpec, mean_values
from avikit.tasks.schema import FieldSpec, PredictionError

__all__ = ["SourceLocalizationTask", "box_map"]

_AUDIO_SECONDS = 3
_DISC_LEVEL = float(np.exp(-0.5))
"""Truth = pixels within one radius of a sounding object's centre (its Gaussian blob above exp(-1/2))."""


_HEATMAP_DOC = (
    "h x w scores (higher = source); h and w divide the frame's height and width (upsampled by repetition)"
)


def box_map(boxes: Any, box_format: str, rule: str, size: tuple[int, int]) -> np.ndarray:
    """The ground-truth map ``float64 [H, W]`` of published boxes (see the module docstring).

    Example:
        >>> box_map([[0.0, 0.0, 0.5, 0.25]], "xyxy_unit", "union", (4, 4)).tolist()[0]
        [1.0, 1.0, 0.0, 0.0]
        >>> box_map([[0, 0, 128, 256], [0, 0, 256, 256]], "xyxy_256", "consensus", (2, 2)).tolist()
        [[1.0, 0.5], [1.0, 0.5]]
    """
    height, width = size
    out = np.zeros((height, width))
    for box in boxes:
        if box_format == "xyxy_unit":
            scale = np.array([width, height, width, height], dtype=np.float64)
            x1, y1, x2, y2 = (np.clip(np.asarray(box, dtype=np.float64), 0, 1) * scale).astype(int)
        elif box_format == "xyxy_256":
            x1, y1, x2, y2 = (int(width * int(box[0]) / 256), int(height * int(box[1]) / 256),
                              int(width * int(box[2]) / 256), int(height * int(box[3]) / 256))  # fmt: skip
        else:
            raise DataError(f"unknown box format {box_format!r}; known: xyxy_unit, xyxy_256")
        if rule == "union":
            out[y1:y2, x1:x2] = 1
        else:
            out[y1:y2, x1:x2] += 1
    if rule == "consensus":
        out = np.minimum(out / 2, 1)
    elif rule != "union":
        raise DataError(f"unknown ground-truth rule {rule!r}; known: union, consensus")
    return out


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
        target_schema={
            "map": "[H, W] in [0, 1]: 1 within one radius of each object sounding in the frame (AVSynth), or "
            "the published boxes' map"
        },
        prediction_schema=(FieldSpec("heatmap", "numbers", ("*", "*"), None, _HEATMAP_DOC),),
        metrics=("ciou", "auc", "mean_ciou"),
        primary_metric="ciou",
        unit="fraction",
    )

    def includes(self, sample: Sample) -> bool:
        """Clips of the split with boxes (a still-frame dataset) or an audio-visual event (AVSynth)."""
        if sample.split != self.spec.protocol.split:
            return False
        if "boxes" in sample.targets:
            return still_frame_paths(sample) is not None
        return "objects" in sample.targets and bool(sample.target("events")["audio_visual"])

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """The frame and 3 s of audio centred on it (kept inside the clip)."""
        geometry = self.check_rates(sample)
        still = "boxes" in sample.targets
        frame = 0 if still else _event_frame(sample, int(geometry.fps))
        length = _AUDIO_SECONDS * geometry.sample_rate
        centre = geometry.num_samples // 2 if still else frame * geometry.sample_rate // geometry.fps
        start = int(min(max(centre - length // 2, 0), max(geometry.num_samples - length, 0)))
        return TaskInputs(sample.id, (frame,), (start, start + length), geometry.frame_shape)

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"map": float [H, W]}`` on the dataset's map size: the boxes' map, or the discs (AVSynth)."""
        size = self.profile.masks
        if "boxes" in sample.targets:
            rule, box_format = str(sample.targets["ground_truth"]), str(sample.targets["box_format"])
            return {"map": box_map(sample.target("boxes"), box_format, rule, size)}
        geometry = self.check_rates(sample)
        if size[0] != size[1]:
            raise DataError(f"AVSynth maps are square; the dataset declares a {size[0]} x {size[1]} map size")
        targets = {"events": sample.target("events"), "objects": sample.target("objects")}
        maps = localization_maps(targets, geometry.num_frames, size[0], int(geometry.fps))
        return {"map": (maps[_event_frame(sample, int(geometry.fps))] >= _DISC_LEVEL).astype(np.int64)}

    def check_prediction(self, record: Any, inputs: TaskInputs, where: str) -> dict[str, Any]:
        """Validate, and upsample the heatmap to the frame size by repeating each cell.

        Raises:
            PredictionError: if the heatmap's size does not divide the frame size.
        """
        checked = super().check_prediction(record, inputs, where)
        (height, width), (rows, cols) = self.profile.masks, checked["heatmap"].shape
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
        """1 where the truth is not 0 (the official binarisation then gives exactly the truth's support)."""
        return {"id": inputs.sample_id, "heatmap": (target["map"] > 0).astype(float).tolist()}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """Uniform random scores on a grid of 8 x 8 pixel cells."""
        height, width = self.profile.masks
        shape = (max(1, height // 8), max(1, width // 8))
        return {"id": inputs.sample_id, "heatmap": rng.random(shape).round(3).tolist()}
