"""LLP / AVVP weakly-supervised audio-visual video parsing: segment- and event-level F1.

Reproduces ``utils/eval_metrics.py::segment_level`` and ``::event_level`` as driven by
``main_avvp.py::eval`` in
YapengTian/AVVP-ECCV20 at commit fde56118f2 (2024-04-16). Per video and modality, the F1 of every class
that is
present in the ground truth or the prediction is averaged in class order (a video where no class is present or
predicted scores 1.0); the benchmark score is 100 times the mean over videos. ``Type@AV`` is the mean of
the audio,
visual and audio-visual scores; ``Event@AV`` pools the audio and visual counts per class before the F1.

Scores are in percent, as the official script prints them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.data.text import read_text_lines
from avikit.errors import UsageError
from avikit.metrics._validation import as_binary, non_empty, same_shape

__all__ = [
    "LLP_CATEGORIES",
    "LLPAnnotation",
    "build_llp_ground_truth",
    "compute_avvp_scores",
    "compute_avvp_statistics",
    "evaluate_avvp",
    "load_llp_annotations",
    "load_llp_video_ids",
]

LLP_CATEGORIES: tuple[str, ...] = (
    "Speech", "Car", "Cheering", "Dog", "Cat", "Frying_(food)", "Basketball_bounce", "Fire_alarm", "Chainsaw",
    "Cello", "Banjo", "Singing", "Chicken_rooster", "Violin_fiddle", "Vacuum_cleaner", "Baby_laughter",
    "Accordion", "Lawn_mower", "Motorcycle", "Helicopter", "Acoustic_guitar", "Telephone_bell_ringing",
    "Baby_cry_infant_cry", "Blender", "Clapping",
)  # fmt: skip
"""The 25 LLP classes in the order of ``main_avvp.py::eval`` (class index = position)."""

_MODALITIES = ("audio", "visual", "audio_visual", "event")
_LOOKUP_MAX_SEGMENTS = 10


class LLPAnnotation(NamedTuple):
    """One row of ``AVVP_eval_audio.csv`` or ``AVVP_eval_visual.csv``: an event of one class in one video."""

    filename: str
    onset: int
    offset: int
    event_label: str


def load_llp_annotations(path: str | Path) -> list[LLPAnnotation]:
    """Read an official LLP segment-level annotation file (tab-separated, with a header row).

    Onsets and offsets are truncated to whole segments with ``int``, as the official evaluation does.

    Args:
        path: ``AVVP_eval_audio.csv`` or ``AVVP_eval_visual.csv``.

    Returns:
        The rows in file order.

    Raises:
        ValueError: if the header or a row is malformed.
    """
    lines = read_text_lines(path)
    if not lines or lines[0].split("\t") != ["filename", "onset", "offset", "event_labels"]:
        raise UsageError(f"{path}: expected the header 'filename<TAB>onset<TAB>offset<TAB>event_labels'")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            filename, onset, offset, label = fields
            rows.append(LLPAnnotation(filename, int(float(onset)), int(float(offset)), label))
        except ValueError as error:
            raise UsageError(
                f"{path}:{number}: expected 4 tab-separated fields with numeric onset/offset"
            ) from error
    return rows


def load_llp_video_ids(path: str | Path) -> list[str]:
    """Read the video order of an official split list (``AVVP_test_pd.csv``, ``AVVP_val_pd.csv``).

    Args:
        path: a tab-separated split list whose first column is the filename.

    Returns:
        The filenames in file order (the order in which the official script scores the videos).
    """
    lines = read_text_lines(path)
    if not lines or lines[0].split("\t")[0] != "filename":
        raise UsageError(f"{path}: expected a header row starting with 'filename'")
    return [line.split("\t")[0] for line in lines[1:] if line.strip()]


def build_llp_ground_truth(
    annotations: Sequence[LLPAnnotation],
    video_ids: Sequence[str],
    categories: Sequence[str] = LLP_CATEGORIES,
    num_segments: int = 10,
) -> NDArray[np.int64]:
    """Build the official binary ground-truth array ``[V, C, T]`` of one modality.

    ``gt[v, c, onset:offset] = 1`` for every annotation row of video ``v`` (offset exclusive); videos without
    rows stay all zero, as in the official evaluation.

    Args:
        annotations: rows from :func:`load_llp_annotations`.
        video_ids: the videos to score, in order.
        categories: class names; the index of a name is its class index.
        num_segments: segments per video (10 one-second segments in LLP).

    Returns:
        An int64 array of shape ``[len(video_ids), len(categories), num_segments]``.

    Raises:
        ValueError: on an unknown class name or an onset/offset outside the video.

    Example:
        >>> rows = [LLPAnnotation("vid", 2, 5, "Dog")]
        >>> build_llp_ground_truth(rows, ["vid"])[0, LLP_CATEGORIES.index("Dog")].tolist()
        [0, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    """
    class_index = {name: index for index, name in enumerate(categories)}
    video_index = {video: index for index, video in enumerate(video_ids)}
    truth = np.zeros((len(video_ids), len(categories), num_segments), dtype=np.int64)
    for row in annotations:
        if row.filename not in video_index:
            continue
        if row.event_label not in class_index:
            raise UsageError(
                f"unknown class {row.event_label!r} for video {row.filename}; pass its categories"
            )
        if not 0 <= row.onset <= row.offset <= num_segments:
            raise UsageError(
                f"{row.filename}: onset/offset {row.onset}-{row.offset} outside 0-{num_segments}"
            )
        truth[video_index[row.filename], class_index[row.event_label], row.onset : row.offset] = 1
    return truth


def _f1_per_video(tp: NDArray[np.int64], fp: NDArray[np.int64], fn: NDArray[np.int64]) -> NDArray[np.float64]:
    """Mean F1 over the classes that are present or predicted, per video; 1.0 when none is ([V, C] -> [V])."""
    included = ((tp + fp) != 0) | ((tp + fn) != 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = (2 * tp) / (2 * tp + (fn + fp)).astype(np.float64)
    # cumsum adds left to right, exactly like the official Python ``sum`` over the class list.
    total = np.cumsum(np.where(included, f1, 0.0), axis=1)[:, -1] if tp.shape[1] else np.zeros(tp.shape[0])
    count = included.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), 1.0)


def _segment_counts(pred: NDArray[np.int64], truth: NDArray[np.int64]) -> tuple[NDArray[np.int64], ...]:
    tp = np.sum(pred * truth, axis=-1)
    return tp, np.sum(pred, axis=-1) - tp, np.sum(truth, axis=-1) - tp


def _intervals(num_segments: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """All intervals ``[s, e)`` of a row and which pairs match (IoU >= 0.5, inclusive, as officially)."""
    starts, ends = np.triu_indices(num_segments + 1, k=1)
    inter = np.clip(np.minimum(ends[:, None], ends) - np.maximum(starts[:, None], starts), 0, None)
    union = (ends - starts)[:, None] + (ends - starts) - inter
    return starts, ends, inter >= 0.5 * union


def _runs(rows: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which intervals are maximal runs of ones in each row ([R, T] -> [R, K])."""
    starts, ends, _ = _intervals(rows.shape[1])
    cumulative = np.concatenate([np.zeros((rows.shape[0], 1), np.int64), np.cumsum(rows, axis=1)], axis=1)
    padded = np.pad(rows, ((0, 0), (1, 1)))
    full = (cumulative[:, ends] - cumulative[:, starts]) == (ends - starts)
    return full & (padded[:, starts] == 0) & (padded[:, ends + 1] == 0)


def _event_counts_direct(pred: NDArray[np.int64], truth: NDArray[np.int64]) -> tuple[NDArray[np.int64], ...]:
    """Event TP, FP, FN per row of ``[R, T]`` arrays, by matching every run against every run."""
    match = _intervals(pred.shape[1])[2].astype(np.float32)
    counts = []
    for begin in range(0, pred.shape[0], 8192):
        runs_pred, runs_truth = _runs(pred[begin : begin + 8192]), _runs(truth[begin : begin + 8192])
        matched_by_truth = (runs_truth.astype(np.float32) @ match) > 0
        matched_by_pred = (runs_pred.astype(np.float32) @ match) > 0
        tp = np.sum(runs_pred & matched_by_truth, axis=1)
        covered = np.sum(runs_truth & matched_by_pred, axis=1)
        counts.append(np.stack([tp, runs_pred.sum(axis=1) - tp, runs_truth.sum(axis=1) - covered]))
    tp, fp, fn = np.concatenate(counts, axis=1) if counts else np.zeros((3, 0), np.int64)
    return tp.astype(np.int64), fp.astype(np.int64), fn.astype(np.int64)


@functools.lru_cache(maxsize=4)
def _event_tables(num_segments: int) -> tuple[NDArray[np.int8], NDArray[np.int8], NDArray[np.int8]]:
    """TP, FP, FN for every pair of rows, indexed by the rows' bit codes (for short rows)."""
    codes = np.arange(2**num_segments)
    rows = ((codes[:, None] >> np.arange(num_segments)) & 1).astype(np.int64)
    match = _intervals(num_segments)[2].astype(np.float32)
    runs = _runs(rows).astype(np.float32)
    matched = ((runs @ match) > 0).astype(np.float32)
    tp = np.rint(runs @ matched.T).astype(np.int8)  # [pred code, truth code]
    num_runs = runs.sum(axis=1).astype(np.int8)
    return tp, (num_runs[:, None] - tp).astype(np.int8), (num_runs[None, :] - tp.T).astype(np.int8)


def _event_counts(pred: NDArray[np.int64], truth: NDArray[np.int64]) -> tuple[NDArray[np.int64], ...]:
    shape, num_segments = pred.shape[:-1], pred.shape[-1]
    pred, truth = pred.reshape(-1, num_segments), truth.reshape(-1, num_segments)
    if num_segments > _LOOKUP_MAX_SEGMENTS:
        counts = _event_counts_direct(pred, truth)
    else:
        weights = np.left_shift(1, np.arange(num_segments))
        pred_codes, truth_codes = pred @ weights, truth @ weights
        counts = tuple(
            table[pred_codes, truth_codes].astype(np.int64) for table in _event_tables(num_segments)
        )
    return tuple(count.reshape(shape) for count in counts)


def compute_avvp_statistics(
    pred_audio: ArrayLike, pred_visual: ArrayLike, gt_audio: ArrayLike, gt_visual: ArrayLike
) -> dict[str, NDArray[np.float64]]:
    """Per-video F1 values (the statistics of LLP segment- and event-level F1).

    Args:
        pred_audio: binary predictions ``[V, C, T]`` (videos, classes, segments), 0/1 only.
        pred_visual: binary predictions ``[V, C, T]``.
        gt_audio: binary ground truth ``[V, C, T]``, e.g. from :func:`build_llp_ground_truth`.
        gt_visual: binary ground truth ``[V, C, T]``.

    Returns:
        ``{"segment_audio", "segment_visual", "segment_audio_visual", "segment_event", "event_audio", ...}``:
        one float64 array ``[V]`` each, in [0, 1]. Statistics of several shards merge by concatenation
        (:func:`avikit.metrics.merge_statistics`).

    Raises:
        ValueError: on shape mismatch or non-binary values.
    """
    names = ("pred_audio", "pred_visual", "gt_audio", "gt_visual")
    inputs = (pred_audio, pred_visual, gt_audio, gt_visual)
    arrays = [as_binary(array, name, 3) for array, name in zip(inputs, names, strict=True)]
    for array, name in zip(arrays[1:], ("pred_visual", "gt_audio", "gt_visual"), strict=True):
        same_shape(arrays[0], array, "pred_audio", name)
    pred_a, pred_v, gt_a, gt_v = arrays
    pairs = {
        "audio": (pred_a, gt_a),
        "visual": (pred_v, gt_v),
        "audio_visual": (pred_a * pred_v, gt_a * gt_v),
    }
    statistics: dict[str, NDArray[np.float64]] = {}
    for level, counter in (("segment", _segment_counts), ("event", _event_counts)):
        counts = {name: counter(pred, truth) for name, (pred, truth) in pairs.items()}
        for name in ("audio", "visual", "audio_visual"):
            statistics[f"{level}_{name}"] = _f1_per_video(*counts[name])
        pooled = [a + v for a, v in zip(counts["audio"], counts["visual"], strict=True)]
        statistics[f"{level}_event"] = _f1_per_video(*pooled)
    return statistics


def compute_avvp_scores(statistics: dict[str, NDArray[np.float64]]) -> dict[str, float]:
    """LLP scores in percent from per-video statistics.

    Args:
        statistics: the output of :func:`compute_avvp_statistics` (possibly merged over shards).

    Returns:
        For ``level`` in ``segment``, ``event``: ``{level}_audio``, ``{level}_visual``,
        ``{level}_audio_visual``,
        ``{level}_type`` (Type@AV) and ``{level}_event`` (Event@AV); each in [0, 100], higher is better.
    """
    scores: dict[str, float] = {}
    for level in ("segment", "event"):
        values = {name: statistics[f"{level}_{name}"] for name in _MODALITIES}
        non_empty(values["audio"], f"statistics[{level}_audio]")
        means = {name: 100 * np.mean(value) for name, value in values.items()}
        for name in _MODALITIES:
            scores[f"{level}_{name}"] = float(means[name])
        scores[f"{level}_type"] = float((means["audio_visual"] + means["audio"] + means["visual"]) / 3.0)
    return scores


def evaluate_avvp(
    pred_audio: ArrayLike, pred_visual: ArrayLike, gt_audio: ArrayLike, gt_visual: ArrayLike
) -> dict[str, float]:
    """LLP (AVVP) segment- and event-level F1: audio, visual, audio-visual, Type@AV and Event@AV.

    Official: YapengTian/AVVP-ECCV20 ``utils/eval_metrics.py`` and ``main_avvp.py::eval`` at fde56118f2. The
    audio-visual prediction and ground truth are the products of the audio and visual ones. An event is a
    maximal
    run of ones; a predicted event is a true positive if its IoU with any ground-truth event of the row is at
    least 0.5, and a ground-truth event no prediction reaches is a false negative.

    Args:
        pred_audio: binary ``[V, C, T]`` (videos, classes, segments).
        pred_visual: binary ``[V, C, T]``.
        gt_audio: binary ``[V, C, T]``.
        gt_visual: binary ``[V, C, T]``.

    Returns:
        Scores in percent, range [0, 100], ``higher_is_better=True``; keys as in :func:`compute_avvp_scores`.

    Example:
        >>> truth = np.zeros((1, 25, 10), dtype=int)
        >>> truth[0, 3, 2:6] = 1
        >>> pred = truth.copy()
        >>> pred[0, 3, 5] = 0
        >>> scores = evaluate_avvp(pred, pred, truth, truth)
        >>> round(scores["segment_audio"], 2), round(scores["event_audio"], 2)
        (85.71, 100.0)
    """
    return compute_avvp_scores(compute_avvp_statistics(pred_audio, pred_visual, gt_audio, gt_visual))
