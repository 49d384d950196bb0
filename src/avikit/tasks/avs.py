"""Audio-visual segmentation (AVSBench): masks of the sounding objects, binary (S4/MS3) or semantic (AVSS).

As in AVSBench S4/MS3, the first 5 s of a clip: one frame per second, the one AVSBench's preprocessing
keeps (:func:`avikit.data.datasets.avsbench.avsbench_frame_indices`, about 15/16 s into each second), and
the audio of those 5 s. The AVSBench exporters write exactly these frames, masks and audio, so a model
scored on an AVSynth folder and on its export sees the same inputs, clip for clip. Masks have the dataset's
mask size (its profile's) and travel as run-length encodings (:func:`avikit.tasks.schema.encode_mask`).

Truth: on AVSynth, the sounding objects' pixels of the clip's id maps; on a prepared AVSBench folder, the
mask images it lists (``masks`` with their ``annotated_frames``): grey masks are 1 where the value is at
least 128 (the official loader's PIL mode ``'1'``; the released masks hold 0 and 255), colour masks (AVSS)
are class indices by the official palette, resized by nearest neighbour to the mask size as the AVSS loader
does. Semantic class values index the dataset's classes plus one (0 = background).

Example:
    >>> from avikit.data.synth import generate
    >>> sample, _ = generate("test", 1)
    >>> inputs = AVSBinaryTask().build_inputs(sample)
    >>> inputs.frames, inputs.audio
    ((7, 15, 23, 31, 39), (0, 80000))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avikit.data.datasets.avsbench import avsbench_frame_indices, avss_palette
from avikit.data.images import read_image, resize_nearest
from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.data.synth.classes import CLASS_NAMES
from avikit.data.synth.ground_truth import segment_mask_maps
from avikit.data.synth.recipe import load_ids
from avikit.errors import DataError
from avikit.metrics import (
    compute_avs_binary_scores,
    compute_avs_binary_statistics,
    compute_avs_semantic_scores,
    compute_avs_semantic_statistics,
)
from avikit.tasks.base import (
    Evaluation,
    Protocol,
    Task,
    TaskInputs,
    TaskSpec,
    item_samples,
    mean_values,
)
from avikit.tasks.schema import FieldSpec, encode_mask

__all__ = ["BINARY_LOGIT", "AVSBinaryTask", "AVSSemanticTask"]

BINARY_LOGIT = 10.0
"""A mask pixel of 1 is scored as logit +10 and a 0 as -10 (sigmoid 0.99995 and 0.00005)."""
_SECONDS = 5
_NUM_FRAMES = _SECONDS  # one frame per second
_MASKS_DOC = "one run-length mask per frame: {'size': [H, W], 'runs': [[value, count], ...]}"


def _file_masks(sample: Sample) -> bool:
    """Whether the sample lists its masks as image files (a prepared AVSBench folder)."""
    return isinstance(sample.targets.get("masks"), tuple | list)


def _dataset_classes(semantic: NDArray, profile: DatasetProfile, sample_id: str) -> NDArray:
    """AVSynth class index + 1 -> the dataset's class index + 1 (by name; 0 stays background)."""
    lut = np.zeros(len(CLASS_NAMES) + 1, dtype=np.int64)
    for k, name in enumerate(profile.labels("classes")):
        if name in CLASS_NAMES:
            lut[CLASS_NAMES.index(name) + 1] = k + 1
    missing = [CLASS_NAMES[v - 1] for v in np.unique(semantic) if v > 0 and lut[v] == 0]
    if missing:
        raise DataError(
            f"sample {sample_id!r}: sounding classes {missing} are not among the dataset's classes"
        )
    return lut[semantic]


def _synth_masks(task: Task, sample: Sample, root: str | Path | None, frames: Sequence[int]) -> NDArray:
    """AVSynth: ``[T, H, W]`` class index + 1 (dataset classes) on sounding objects, from the id maps."""
    geometry = task.check_rates(sample)
    targets = {"events": sample.target("events"), "objects": sample.target("objects")}
    semantic = segment_mask_maps(load_ids(sample, root), targets, int(geometry.fps))[1][list(frames)]
    if task.name == "avs-semantic":
        semantic = _dataset_classes(semantic, task.profile, sample.id)
    return np.stack([resize_nearest(m, task.profile.masks) for m in semantic]).astype(np.int64)


def _colour_codes(rgb: NDArray) -> NDArray[np.int64]:
    """``[..., 3]`` uint8 colours -> ``[...]`` integers ``R * 65536 + G * 256 + B``."""
    values = rgb.astype(np.int64)
    return values[..., 0] * 65536 + values[..., 1] * 256 + values[..., 2]


def _palette_index(codes: NDArray[np.int64], palette: NDArray[np.int64]) -> NDArray[np.int64]:
    """The index of each pixel's colour in the palette.

    A colour not in it is background (0), as the official ``color_mask_to_label`` gives (argmax of no match).
    """
    order = np.argsort(palette, kind="stable")
    slot = np.clip(np.searchsorted(palette[order], codes), 0, len(palette) - 1)
    found = palette[order][slot] == codes
    return np.where(found, order[slot], 0)


def _image_masks(task: Task, sample: Sample, root: str | Path | None, frames: Sequence[int]) -> NDArray:
    """A prepared AVSBench folder: ``[T, H, W]`` (grey masks 0/1; colour masks class index, background 0)."""
    annotated = list(sample.target("annotated_frames"))
    paths = sample.target("masks")
    palette = None
    out = []
    for frame in frames:
        image = read_image(Path(root or ".") / paths[annotated.index(frame + 1)])
        if image.ndim == 2:
            mask = (image >= 128).astype(np.int64)
        else:
            if palette is None:
                palette = _colour_codes(avss_palette(len(task.profile.labels("classes")) + 1))
            mask = _palette_index(_colour_codes(image), palette)
        out.append(resize_nearest(mask, task.profile.masks))
    return np.stack(out).astype(np.int64)


def _masks(task: Task, sample: Sample, root: str | Path | None) -> NDArray:
    frames = task.build_inputs(sample).frames
    if _file_masks(sample):
        return _image_masks(task, sample, root, frames)
    return _synth_masks(task, sample, root, frames)


class _AVSTask(Task):
    def includes(self, sample: Sample) -> bool:
        """Clips of the split with masks of every scored frame (AVSynth objects, or annotated mask files)."""
        if sample.split != self.spec.protocol.split:
            return False
        if not _file_masks(sample):
            return "events" in sample.targets and "objects" in sample.targets
        annotated = set(sample.targets.get("annotated_frames", ()))
        return all(frame + 1 in annotated for frame in self.build_inputs(sample).frames)

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """The frame AVSBench keeps of each of the first five seconds, and the audio of those seconds."""
        geometry = self.check_rates(sample, _SECONDS)
        frames = avsbench_frame_indices(geometry.fps, geometry.num_frames, _SECONDS)
        audio = (0, _SECONDS * geometry.sample_rate)
        return TaskInputs(sample.id, frames, audio, geometry.frame_shape)

    def _dims(self, inputs: TaskInputs, max_value: int) -> dict[str, int]:
        height, width = self.profile.masks
        return {"T": len(inputs.frames), "H": height, "W": width, "max_value": max_value}

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """The true masks."""
        return {"id": inputs.sample_id, "masks": [encode_mask(mask) for mask in target["masks"]]}


class AVSBinaryTask(_AVSTask):
    """AVSBench S4/MS3: binary masks of the sounding objects; mIoU and F-score (beta^2 = 0.3)."""

    spec = TaskSpec(
        name="avs-binary",
        pillar="perception",
        family="segmentation",
        version=2,
        benchmark="AVSBench S4 / MS3",
        description="Segment the objects that make sound in one frame of each of the first five seconds "
        "(1 = sounding object).",
        inputs=("audio", "video"),
        protocol=Protocol(
            num_frames=_NUM_FRAMES,
            frame_sampling="avsbench",
            window=("0", str(_SECONDS)),
            params={"batch_size": 4, "binary_logit": BINARY_LOGIT},
        ),
        target_schema={"masks": "binary [T, H, W]: 1 on objects that sound in that frame"},
        prediction_schema=(FieldSpec("masks", "masks", ("T",), None, _MASKS_DOC + ", values 0 or 1"),),
        metrics=("miou", "f_score"),
        primary_metric="miou",
        unit="fraction",
        resampling_unit="video",
    )

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"masks": int [T, H, W]}`` binary: 1 on sounding objects."""
        return {"masks": (_masks(self, sample, root) > 0).astype(np.int64)}

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """T frames of H x W, values 0..1."""
        return self._dims(inputs, 1)

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """MIoU and F-score with the official batches of 4 videos; per-frame IoU backs the interval."""
        masks = np.stack([target["masks"] for target in targets])
        logits = np.stack([np.where(p["masks"] == 1, BINARY_LOGIT, -BINARY_LOGIT) for p in predictions])
        statistics = compute_avs_binary_statistics(logits, masks)
        scores = compute_avs_binary_scores(statistics, int(self.spec.protocol.params["batch_size"]))
        frames = {"miou": item_samples([len(target["masks"]) for target in targets])}
        return Evaluation(scores, {"miou": mean_values(statistics["iou"])}, len(predictions), frames)

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """Each pixel 1 with probability one half."""
        masks = rng.integers(0, 2, (len(inputs.frames), *self.profile.masks))
        return {"id": inputs.sample_id, "masks": [encode_mask(mask) for mask in masks]}


class AVSSemanticTask(_AVSTask):
    """AVSBench-semantic (AVSS): class-labelled masks of the sounding objects; mIoU and F-score over classes.

    Classes are background (0) and the dataset's classes. The means run over the classes that occur in the
    scored set, in the truth or in a prediction, as the official ``avss/test.py`` computes them after every
    batch (:func:`avikit.metrics.compute_avs_semantic_scores`): a class absent from both is not a zero, so
    the truth scores 1.
    """

    per_sample_scores = False
    spec = TaskSpec(
        name="avs-semantic",
        pillar="perception",
        family="segmentation",
        version=3,
        benchmark="AVSBench-semantic (AVSS)",
        description="Segment and classify the objects that make sound in one frame of each of the first "
        "five seconds (0 = background).",
        inputs=("audio", "video"),
        protocol=Protocol(
            num_frames=_NUM_FRAMES,
            frame_sampling="avsbench",
            window=("0", str(_SECONDS)),
            params={"batch_size": 1, "num_classes": len(CLASS_NAMES) + 1},
        ),
        target_schema={"masks": "int [T, H, W]: class index + 1 on sounding objects, 0 elsewhere"},
        prediction_schema=(
            FieldSpec(
                "masks", "masks", ("T",), None, _MASKS_DOC + ", values 0 (background) or class index + 1"
            ),
        ),
        metrics=(
            "miou",
            "f_score",
            "miou_nobg",
            "f_score_nobg",
            "miou_nobg_corrected",
            "f_score_nobg_corrected",
        ),
        primary_metric="miou",
        unit="fraction",
        resampling_unit="video",
    )

    def includes(self, sample: Sample) -> bool:
        """Clips with semantic masks: AVSynth, or AVSS (colour masks; its samples state their subset)."""
        semantic = not _file_masks(sample) or "subset" in sample.targets
        return semantic and super().includes(sample)

    def profile_params(self, profile: DatasetProfile) -> dict[str, Any]:
        """The number of classes, background included."""
        return {"num_classes": len(profile.labels("classes")) + 1}

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"masks": int [T, H, W]}`` with the dataset's class index + 1 on sounding objects."""
        return {"masks": _masks(self, sample, root)}

    def vocabularies(self) -> dict[str, Sequence[str]]:
        """The dataset's classes (a mask value ``k > 0`` is class ``k - 1``)."""
        return {"classes": self.profile.labels("classes")}

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """T frames of H x W, values 0..C."""
        return self._dims(inputs, len(self.profile.labels("classes")))

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """AVSS mIoU and F-score (official, no-background and corrected no-background variants)."""
        labels = np.stack([target["masks"] for target in targets])
        pred = np.stack([p["masks"] for p in predictions])
        num_classes = len(self.profile.labels("classes")) + 1
        statistics = compute_avs_semantic_statistics(pred, labels, num_classes)
        scores = compute_avs_semantic_scores(statistics, int(self.spec.protocol.params["batch_size"]))
        return Evaluation(scores, {}, len(predictions))

    def resampled_scores(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Callable[[Sequence[int]], dict[str, float]]:
        """The AVSS scores of chosen videos from their per-video statistics (computed once)."""
        labels = np.stack([target["masks"] for target in targets])
        pred = np.stack([p["masks"] for p in predictions])
        num_classes = int(self.spec.protocol.params["num_classes"])
        statistics = compute_avs_semantic_statistics(pred, labels, num_classes)
        batch = int(self.spec.protocol.params["batch_size"])

        def scores(rows: Sequence[int]) -> dict[str, float]:
            index = np.asarray(rows, dtype=np.int64)
            return compute_avs_semantic_scores({k: v[index] for k, v in statistics.items()}, batch)

        return scores

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """Each pixel background or one random class, with probability one half."""
        cls = int(rng.integers(1, len(self.profile.labels("classes")) + 1))
        masks = rng.integers(0, 2, (len(inputs.frames), *self.profile.masks)) * cls
        return {"id": inputs.sample_id, "masks": [encode_mask(mask) for mask in masks]}
