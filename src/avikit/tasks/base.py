"""What every task is made of: its spec (a versioned record), the inputs it builds and the base ``Task``.

A :class:`TaskSpec` is pure data: name, pillar, family, integer version, input modalities, protocol
parameters, target and prediction schemas and metrics. Its :meth:`TaskSpec.protocol_hash` changes whenever
anything that can move a number changes. A :class:`Task` adds the behaviour: which samples it scores, the
exact inputs it builds for a sample (frame indices, audio window, text), the metric inputs it derives from the
targets, and how predictions become scores through :mod:`avikit.metrics`.

Geometry and vocabularies come from the dataset: :meth:`Task.for_dataset` binds a task to a dataset's
:class:`~avikit.data.profile.DatasetProfile` (frame rate, frame size, sample rate, segment length, mask size,
class and answer lists) and split; the bound task's spec states that geometry, so its protocol hash moves
with it. An unbound task reads the default AVSynth world (:func:`avikit.data.synth.avsynth_profile`) and
refuses samples of any other dataset.

Example:
    >>> sample_uniform_frames(80, 5)
    (8, 24, 40, 56, 72)
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from avikit.data.profile import DatasetProfile, sample_duration
from avikit.data.sample import Sample
from avikit.data.synth.profile import avsynth_profile
from avikit.errors import DataError, UsageError
from avikit.media import AVClip
from avikit.tasks.schema import FieldSpec, PredictionError, check_record

__all__ = [
    "RESAMPLING_UNITS",
    "Evaluation",
    "Geometry",
    "Protocol",
    "Task",
    "TaskInputs",
    "TaskSpec",
    "cut_media",
    "item_samples",
    "model_media",
    "sample_geometry",
    "sample_uniform_frames",
    "second_segments",
    "segments",
]


RESAMPLING_UNITS = ("clip", "video")
"""What a task's confidence intervals resample (:attr:`TaskSpec.resampling_unit`)."""


@dataclass(frozen=True)
class Protocol:
    """The protocol parameters of a task: everything about how inputs are built.

    Attributes:
        split: the dataset split the task is scored on.
        fps: video frame rate the frame indices refer to (the dataset's, once bound).
        sample_rate: audio sample rate the audio windows refer to (the dataset's, once bound).
        num_frames: frames given to a model (``None``: every frame of the window).
        frame_sampling: ``"all"``, ``"uniform"`` (centres of equal parts), ``"segments"`` (every frame of
            each 1 s segment), ``"event_middle"`` (the middle frame of the first audio-visual event) or
            ``"avsbench"`` (the frame AVSBench's preprocessing keeps of each second).
        window: ``(start, duration)`` of the video window in exact seconds as strings (``None``: whole clip).
        params: task-specific parameters (class list size, offsets grid, batch size, ...), JSON-able.
        geometry: the bound dataset's frame size, segment length, mask size and name (empty until bound).
    """

    split: str = "test"
    fps: int = 8
    sample_rate: int = 16000
    num_frames: int | None = None
    frame_sampling: str = "all"
    window: tuple[str, str] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    geometry: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    """A task as a versioned record (STYLE #14); the version goes up on any change that can move a number.

    Attributes:
        name: registry name, e.g. ``"avel"``.
        pillar: ``"perception"``, ``"generation"`` or ``"interaction"``.
        family: task family, e.g. ``"event localization"``.
        version: integer version.
        benchmark: the official benchmark whose protocol and metric it follows.
        description: one paragraph.
        inputs: input modalities, e.g. ``("audio", "video")``.
        protocol: the protocol parameters.
        target_schema: target field -> meaning (the metric inputs derived from a sample).
        prediction_schema: the fields of one prediction line (besides ``id``).
        metrics: score keys, in report order.
        primary_metric: the headline score key.
        unit: the unit of the primary score, e.g. ``"percent"`` or ``"fraction"`` (the official unit of the
            benchmark), ``"dB"``.
        lower_is_better: score keys for which lower is better (ranks).
        metric_units: the unit of every score whose unit is not ``unit`` (e.g. SSIM ``"fraction"`` next to a
            PSNR in ``"dB"``); :meth:`unit_of` reads both.
        resampling_unit: what a confidence interval resamples (:data:`RESAMPLING_UNITS`): ``"clip"`` (each
            scored sample with all its items) or ``"video"`` (the samples cut from one media file together,
            with all their items: segments, frames, questions). It moves no score, only intervals, so it is
            not part of the protocol hash.
    """

    name: str
    pillar: str
    family: str
    version: int
    benchmark: str
    description: str
    inputs: tuple[str, ...]
    protocol: Protocol
    target_schema: Mapping[str, str]
    prediction_schema: tuple[FieldSpec, ...]
    metrics: tuple[str, ...]
    primary_metric: str
    unit: str
    lower_is_better: tuple[str, ...] = ()
    metric_units: Mapping[str, str] = field(default_factory=dict)
    resampling_unit: str = "clip"

    def __post_init__(self) -> None:
        if self.resampling_unit not in RESAMPLING_UNITS:
            raise UsageError(
                f"task {self.name}: resampling_unit {self.resampling_unit!r} is not one of {RESAMPLING_UNITS}"
            )
        unknown = sorted(set(self.metric_units) - set(self.metrics))
        if unknown:
            raise UsageError(f"task {self.name}: metric_units names {unknown}, not scores of {self.metrics}")
        if self.metric_units.get(self.primary_metric, self.unit) != self.unit:
            raise UsageError(
                f"task {self.name}: give the unit of the primary score {self.primary_metric!r} as `unit`, "
                "not in metric_units"
            )

    def unit_of(self, metric: str) -> str:
        """The unit of score ``metric``.

        Example:
            >>> from avikit.tasks import get_task
            >>> spec = get_task("a2v").spec
            >>> spec.unit_of("psnr"), spec.unit_of("ssim")
            ('dB', 'fraction')
        """
        if metric not in self.metrics:
            raise KeyError(f"task {self.name} has no score {metric!r}; its scores are {self.metrics}")
        return self.metric_units.get(metric, self.unit)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form (what ``avikit tasks show`` prints)."""
        data = json.loads(json.dumps(asdict(self)))
        data["protocol_hash"] = self.protocol_hash
        return data

    @property
    def protocol_hash(self) -> str:
        """SHA-256 (first 16 hex digits) of everything but the prose: changes whenever a number can move."""
        data = json.loads(json.dumps(asdict(self)))
        data.pop("description")
        data.pop("resampling_unit")
        if not data["metric_units"]:
            data.pop("metric_units")  # keeps the hashes of tasks with one unit as they were
        if not data["protocol"]["geometry"]:
            data["protocol"].pop("geometry")  # an unbound spec hashes as before binding existed
        for spec in data["prediction_schema"]:
            spec.pop("doc")
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TaskInputs:
    """The exact inputs a task builds for one sample (a record of indices, never arrays).

    Attributes:
        sample_id: the sample.
        frames: video frame indices on the protocol's fps grid, in the order given to the model.
        audio: ``(start, stop)`` audio sample indices on the protocol's sample rate (stop exclusive).
        frame_size: ``(height, width)`` of the frames in pixels.
        segments: per 1 s segment ``(first_frame, stop_frame, first_sample, stop_sample)`` where the task
            has segments.
        text: prompts or questions, in order.
    """

    sample_id: str
    frames: tuple[int, ...]
    audio: tuple[int, int]
    frame_size: tuple[int, int]
    segments: tuple[tuple[int, int, int, int], ...] = ()
    text: tuple[str, ...] = ()

    def model_view(self, item_id: str, modalities: tuple[str, ...]) -> TaskInputs:
        """What a model may know of these inputs: positions relative to the window, an opaque id.

        Frames become positions ``0..T-1``, the audio window ``(0, N)``, segments positions into the cut
        arrays; the text stays only when ``"text"`` is among the task's input ``modalities``. Absolute
        positions (which can encode a label, e.g. a sync offset) and the sample id never reach a model.

        Example:
            >>> segments = ((40, 42, 68800, 84800),)
            >>> inputs = TaskInputs("test_000001", (40, 41), (68800, 148800), (64, 64), segments)
            >>> view = inputs.model_view("item-1", ("audio", "video"))
            >>> view.sample_id, view.frames, view.audio, view.segments
            ('item-1', (0, 1), (0, 80000), ((0, 2, 0, 16000),))
        """
        start = self.audio[0]
        position = {frame: k for k, frame in enumerate(self.frames)}

        def relative(segment: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
            first, stop, first_sample, stop_sample = segment
            first_position = position.get(first, sum(f < first for f in self.frames))
            stop_position = first_position + sum(first <= f < stop for f in self.frames)
            return (first_position, stop_position, first_sample - start, stop_sample - start)

        return TaskInputs(
            item_id,
            tuple(range(len(self.frames))),
            (0, self.audio[1] - start),
            self.frame_size,
            tuple(relative(s) for s in self.segments),
            self.text if "text" in modalities else (),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form."""
        return {
            "sample_id": self.sample_id,
            "frames": list(self.frames),
            "audio": list(self.audio),
            "frame_size": list(self.frame_size),
            "segments": [list(s) for s in self.segments],
            "text": list(self.text),
        }


@dataclass(frozen=True)
class Evaluation:
    """Scores of one task on a set of predictions, and the per-item values behind the means.

    Attributes:
        scores: score key -> value, in the task's unit.
        item_values: score key -> ``(values [N], scale)`` for every score that is a mean of per-item
            values (``scale`` turns the mean into the score's unit); the input of confidence intervals.
        count: number of samples scored.
        item_samples: score key -> ``[N]`` the position (in the scored list) of the sample each item of
            ``item_values`` comes from, for scores with several items per sample (segments, frames,
            questions); a key without it has one item per sample. The bootstrap keeps a sample's items
            together.
    """

    scores: dict[str, float]
    item_values: dict[str, tuple[NDArray[np.float64], float]]
    count: int
    item_samples: dict[str, NDArray[np.int64]] = field(default_factory=dict)


@dataclass(frozen=True)
class Geometry:
    """Rates and sizes of one sample's media, exact.

    Attributes:
        fps: frame rate (exact).
        sample_rate: sample rate in Hz.
        size: frame height in pixels (the side of a square frame).
        duration: the clip's length in seconds.
        frame_size: ``(height, width)`` (default: ``size`` square).
        segment_seconds: segment length.
    """

    fps: int | Fraction
    sample_rate: int
    size: int
    duration: Fraction
    frame_size: tuple[int, int] | None = None
    segment_seconds: Fraction = Fraction(1)

    @property
    def num_frames(self) -> int:
        """Frames in the clip."""
        return int(self.duration * self.fps)

    @property
    def num_samples(self) -> int:
        """Audio samples per channel in the clip."""
        return int(self.duration * self.sample_rate)

    @property
    def frame_shape(self) -> tuple[int, int]:
        """``(height, width)`` of the frames."""
        return self.frame_size or (self.size, self.size)


def sample_geometry(sample: Sample, profile: DatasetProfile | None = None) -> Geometry:
    """Return the rates, frame size and duration of a sample, as its dataset's profile declares them.

    Args:
        sample: the sample; its length is its media window, else its ``duration`` target, else the
            profile's.
        profile: the dataset's profile (default: the default AVSynth world).

    Raises:
        DataError: if neither the sample nor the profile states a duration.
    """
    declared = profile or avsynth_profile()
    height, width = declared.frame_size
    return Geometry(
        declared.fps,
        declared.sample_rate,
        height,
        sample_duration(sample, declared),
        (height, width),
        declared.segment_seconds,
    )


def sample_uniform_frames(num_frames: int, count: int) -> tuple[int, ...]:
    """Indices of the centre frames of ``count`` equal parts of ``num_frames`` frames (exact integers)."""
    if count < 1 or num_frames < count:
        raise UsageError(f"cannot pick {count} frames from {num_frames}")
    return tuple((2 * k + 1) * num_frames // (2 * count) for k in range(count))


def segments(geometry: Geometry) -> tuple[tuple[int, int, int, int], ...]:
    """The segments of a clip as ``(first_frame, stop_frame, first_sample, stop_sample)``.

    Segments are ``geometry.segment_seconds`` long (the last one possibly shorter); a segment starts at the
    first frame and the first sample at or after its start time.

    Example:
        >>> segments(Geometry(8, 16000, 64, Fraction(5, 2)))
        ((0, 8, 0, 16000), (8, 16, 16000, 32000), (16, 20, 32000, 40000))
        >>> segments(Geometry(25, 16000, 64, Fraction(1), segment_seconds=Fraction(1, 2)))
        ((0, 13, 0, 8000), (13, 25, 8000, 16000))
    """
    step, fps = Fraction(geometry.segment_seconds), Fraction(geometry.fps)
    sn, sd, fn, fd, rate = (
        step.numerator,
        step.denominator,
        fps.numerator,
        fps.denominator,
        geometry.sample_rate,
    )
    frames, samples = geometry.num_frames, geometry.num_samples

    def up(a: int, b: int) -> int:  # ceil(a / b) in integers (Fractions are slow here)
        return -(-a // b)

    return tuple(
        (
            up(k * sn * fn, sd * fd),
            min(up((k + 1) * sn * fn, sd * fd), frames),
            up(k * sn * rate, sd),
            min(up((k + 1) * sn * rate, sd), samples),
        )
        for k in range(math.ceil(geometry.duration / step))
    )


def second_segments(geometry: Geometry) -> tuple[tuple[int, int, int, int], ...]:
    """The 1 s segments of a clip as ``(first_frame, stop_frame, first_sample, stop_sample)``.

    Example:
        >>> second_segments(Geometry(8, 16000, 64, Fraction(5, 2)))
        ((0, 8, 0, 16000), (8, 16, 16000, 32000), (16, 20, 32000, 40000))
    """
    return segments(replace(geometry, segment_seconds=Fraction(1)))


def model_media(
    frames: NDArray[np.uint8], waveform: NDArray[np.float32], modalities: tuple[str, ...]
) -> tuple[NDArray[np.uint8] | None, NDArray[np.float32] | None]:
    """The cut media a model of a task with input ``modalities`` receives.

    ``"video"`` gives every frame, ``"first_frame"`` only the first (a reference frame, as audio-to-video
    protocols give one identity frame), ``"audio"`` the waveform; anything else is ``None``.

    Example:
        >>> frames, waveform = np.zeros((4, 2, 2, 3), np.uint8), np.zeros((1, 8), np.float32)
        >>> f, w = model_media(frames, waveform, ("audio", "first_frame"))
        >>> f.shape, w.shape
        ((1, 2, 2, 3), (1, 8))
    """
    if "video" in modalities:
        shown: NDArray[np.uint8] | None = frames
    elif "first_frame" in modalities:
        shown = frames[:1]
    else:
        shown = None
    return shown, waveform if "audio" in modalities else None


def cut_media(clip: AVClip, inputs: TaskInputs) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """Cut a decoded clip to a task's inputs: frames ``[T, H, W, 3]`` and waveform ``[C, N]``.

    Audio outside the clip is zero (a window may reach past either end, e.g. for a shifted sync window).
    """
    frames = clip.require_frames()
    if inputs.frames and max(inputs.frames) >= len(frames):
        raise UsageError(f"{inputs.sample_id}: frame {max(inputs.frames)} outside the {len(frames)} frames")
    waveform = clip.require_waveform()
    start, stop = inputs.audio
    out = np.zeros((waveform.shape[0], stop - start), dtype=np.float32)
    lo, hi = max(start, 0), min(stop, waveform.shape[1])
    if hi > lo:
        out[:, lo - start : hi - start] = waveform[:, lo:hi]
    return frames[list(inputs.frames)], out


class Task:
    """Base of every task: the spec plus how inputs, targets, predictions and scores are made.

    Subclasses set :attr:`spec` and implement :meth:`build_inputs`, :meth:`build_target`,
    :meth:`prediction_dims`, :meth:`evaluate`, :meth:`oracle_prediction` and :meth:`chance_prediction`; a
    task that reads a class or answer list declares it in :meth:`profile_params` and reads it through
    :attr:`profile`.
    """

    spec: ClassVar[TaskSpec]
    per_sample_scores: ClassVar[bool] = True
    """Whether :meth:`evaluate` of one sample alone is meaningful (it is written into each result record)."""
    required_targets: ClassVar[tuple[str, ...]] = ()
    """The sample targets the task reads; a sample without them is not scored (see :meth:`includes`)."""
    _profile: DatasetProfile | None = None

    @property
    def name(self) -> str:
        """The task's registry name."""
        return self.spec.name

    @property
    def profile(self) -> DatasetProfile:
        """The bound dataset's profile (unbound: the default AVSynth world)."""
        return self._profile if self._profile is not None else avsynth_profile()

    @property
    def bound(self) -> bool:
        """Whether the task was bound to a dataset with :meth:`for_dataset`."""
        return self._profile is not None

    def profile_params(self, profile: DatasetProfile) -> dict[str, Any]:
        """Protocol parameters that follow the dataset (e.g. the number of classes); none by default."""
        return {}

    def for_dataset(self, profile: DatasetProfile, split: str | None = None) -> Task:
        """This task on a dataset: its geometry and vocabularies from ``profile``, scored on ``split``.

        The bound spec states the dataset's rates, frame size, segment length, mask size and name, and the
        parameters that follow its vocabularies, so the protocol hash moves with them.

        Example:
            >>> from avikit.data.profile import DatasetProfile
            >>> from avikit.tasks import get_task
            >>> ave = DatasetProfile("ave", 16, 16000, 224, duration=10, vocabularies={"classes": ("Dog",)})
            >>> task = get_task("avel").for_dataset(ave)
            >>> task.spec.protocol.fps, task.spec.protocol.params["num_classes"], task.profile.name
            (16, 2, 'ave')

        Raises:
            UsageError: if the dataset declares a fractional frame rate, or lacks a vocabulary the task reads
                (it does not annotate this task).
        """
        bound = copy.copy(self)
        bound._profile = profile
        protocol = self.spec.protocol
        if profile.fps.denominator != 1:
            raise UsageError(
                f"dataset {profile.name!r} declares {profile.fps} fps; tasks index frames on a whole frame "
                "rate: declare the nearest whole rate (files within 0.1% of it decode unchanged)"
            )
        fps = int(profile.fps)
        geometry = {
            "dataset": profile.name,
            "frame_size": list(profile.frame_size),
            "segment_seconds": str(profile.segment_seconds),
            "mask_size": list(profile.masks),
        }
        try:
            vocabulary_params = self.profile_params(profile)
        except DataError as error:  # the dataset lacks a label or answer list the task reads
            raise UsageError(
                f"task {self.name} cannot be scored on dataset {profile.name!r}: {error}; choose a task the "
                "dataset annotates (docs/datasets.md)"
            ) from error
        params = {**protocol.params, **vocabulary_params}
        bound_protocol = replace(
            protocol,
            split=split or protocol.split,
            fps=fps,
            sample_rate=profile.sample_rate,
            params=params,
            geometry=geometry,
        )
        vars(bound)["spec"] = replace(self.spec, protocol=bound_protocol)
        return bound

    def includes(self, sample: Sample) -> bool:
        """Whether the task scores this sample: of its split, with every target it reads."""
        has_targets = all(key in sample.targets for key in self.required_targets)
        return sample.split == self.spec.protocol.split and has_targets

    def check_rates(self, sample: Sample, min_seconds: float | None = None) -> Geometry:
        """Return the sample's geometry as its dataset's profile declares it.

        Raises:
            UsageError: if the task is unbound and the sample is not an AVSynth sample (bind the task to
                the sample's dataset with :meth:`for_dataset`), or if the clip is shorter than
                ``min_seconds``.
        """
        if self._profile is None and sample.dataset != "avsynth":
            raise UsageError(
                f"task {self.name} is not bound to a dataset, and sample {sample.id!r} is of "
                f"{sample.dataset!r}: bind it with task.for_dataset(read_profile(FOLDER)), as the runner and "
                "`avikit score` do"
            )
        geometry = sample_geometry(sample, self.profile)
        if min_seconds is not None and geometry.duration < min_seconds:
            raise UsageError(f"task {self.name} needs clips of at least {min_seconds} s, {sample.id!r} lasts "
                             f"{geometry.duration} s")  # fmt: skip
        return geometry

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """The exact inputs of one sample: frame indices, audio window, text."""
        raise NotImplementedError

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """The metric inputs of one sample, derived from its targets (may hold arrays)."""
        raise NotImplementedError

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """Sizes of the symbolic dimensions of the prediction schema for one sample."""
        return {}

    def vocabularies(self) -> dict[str, Sequence[str]]:
        """Allowed strings of the schema's label fields (vocabulary name -> labels)."""
        return {}

    def check_prediction(self, record: Any, inputs: TaskInputs, where: str) -> dict[str, Any]:
        """Validate one prediction line against the schema; errors name ``where``, the field and the need.

        Raises:
            PredictionError: on a missing, unknown or malformed field.
        """
        checked = check_record(
            record, self.spec.prediction_schema, self.prediction_dims(inputs), self.vocabularies(), where
        )
        if checked["id"] != inputs.sample_id:
            raise PredictionError(
                f"{where}: field 'id': expected {inputs.sample_id!r}, got {checked['id']!r}"
            )
        return checked

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """Score checked predictions against targets (same order) through :mod:`avikit.metrics`."""
        raise NotImplementedError

    def sample_scores(self, prediction: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, float]:
        """Scores of one sample alone, where that is meaningful (else empty); NaN values are left out."""
        if not self.per_sample_scores:
            return {}
        scores = self.evaluate([prediction], [target]).scores
        return {key: value for key, value in scores.items() if math.isfinite(value)}

    def resampled_scores(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Callable[[Sequence[int]], dict[str, float]]:
        """Scores of the samples at given positions (repeats allowed): what a set-metric bootstrap recomputes.

        The default runs :meth:`evaluate` on the chosen samples; a task whose set metric comes from
        per-sample statistics overrides it to index them once computed.
        """

        def scores(rows: Sequence[int]) -> dict[str, float]:
            chosen = [int(row) for row in rows]
            return self.evaluate([predictions[i] for i in chosen], [targets[i] for i in chosen]).scores

        return scores

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """The prediction that reaches the maximum of every metric (read from the target)."""
        raise NotImplementedError

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """A uniformly random prediction of the right shape (the chance baseline)."""
        raise NotImplementedError


def mean_values(values: NDArray[Any], scale: float = 1.0) -> tuple[NDArray[np.float64], float]:
    """Per-item values and scale as stored in :attr:`Evaluation.item_values`."""
    return np.asarray(values, dtype=np.float64).reshape(-1), scale


def item_samples(counts: Sequence[int]) -> NDArray[np.int64]:
    """The sample position of every item when sample ``k`` has ``counts[k]`` items, in order.

    Example:
        >>> item_samples([2, 0, 3]).tolist()
        [0, 0, 2, 2, 2]
    """
    return np.repeat(np.arange(len(counts), dtype=np.int64), np.asarray(counts, dtype=np.int64))
