"""AVE audio-visual event localisation: segment accuracy and cross-modal localisation (A2V, V2A).

Reproduces YapengTian/AVE-ECCV18 at commit 93f843fed7: ``supervised_main.py::compute_acc`` (also used by
``weak_supervised_main.py::test``) and the module-level evaluation of ``cmm_test.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.data.text import read_text_lines
from avikit.errors import DataError, UsageError
from avikit.metrics._validation import as_binary, as_finite, as_labels, non_empty

__all__ = [
    "AVEAnnotation",
    "build_ave_segment_labels",
    "compute_ave_accuracy",
    "compute_ave_accuracy_statistics",
    "compute_ave_cross_modal_scores",
    "compute_ave_cross_modal_statistics",
    "evaluate_ave_accuracy",
    "evaluate_ave_cross_modal",
    "list_ave_categories",
    "load_ave_annotations",
]


class AVEAnnotation(NamedTuple):
    """One line of the official ``Annotations.txt``: the event of one AVE video, in whole seconds."""

    category: str
    video_id: str
    quality: str
    start: int
    end: int


def load_ave_annotations(path: str | Path) -> list[AVEAnnotation]:
    """Read the official ``&``-separated AVE ``Annotations.txt`` (an optional header line is skipped).

    Args:
        path: the annotation file.

    Returns:
        One record per video, in file order.

    Raises:
        DataError: (a ``ValueError``) if a line does not have 5 fields, its times are not integers, or the
            file is not UTF-8 text; the message names the file and line.
    """
    records = []
    for number, line in enumerate(read_text_lines(path), start=1):
        if not line.strip() or (number == 1 and line.startswith("Category&")):
            continue
        fields = line.split("&")
        if len(fields) != 5:
            raise DataError(f"{path}:{number}: expected 5 '&'-separated fields, got {len(fields)}")
        try:
            records.append(AVEAnnotation(fields[0], fields[1], fields[2], int(fields[3]), int(fields[4])))
        except ValueError as error:
            raise DataError(f"{path}:{number}: start and end must be whole seconds") from error
    return records


def list_ave_categories(annotations: Sequence[AVEAnnotation]) -> list[str]:
    """The event categories in first-seen order of the annotation file.

    The official label layout (``labels.h5``) is not published with the code, so a caller that needs another
    class order passes its own list to :func:`build_ave_segment_labels`.
    """
    return list(dict.fromkeys(record.category for record in annotations))


def build_ave_segment_labels(
    annotations: Sequence[AVEAnnotation], categories: Sequence[str], num_segments: int = 10
) -> NDArray[np.int64]:
    """Per-segment class indices ``[N, T]``: the category inside ``[start, end)``, background elsewhere.

    Background is the last index, ``len(categories)`` (28 for the 28 AVE categories).

    Example:
        >>> rows = [AVEAnnotation("Dog", "x", "good", 3, 5)]
        >>> build_ave_segment_labels(rows, ["Dog"]).tolist()
        [[1, 1, 1, 0, 0, 1, 1, 1, 1, 1]]
    """
    index = {name: position for position, name in enumerate(categories)}
    labels = np.full((len(annotations), num_segments), len(categories), dtype=np.int64)
    for row, record in enumerate(annotations):
        if record.category not in index:
            raise UsageError(f"unknown AVE category {record.category!r}; pass the full category list")
        if not 0 <= record.start <= record.end <= num_segments:
            raise UsageError(
                f"{record.video_id}: event {record.start}-{record.end} s outside 0-{num_segments} s"
            )
        labels[row, record.start : record.end] = index[record.category]
    return labels


def compute_ave_accuracy_statistics(scores: ArrayLike, labels: ArrayLike) -> dict[str, NDArray[np.float64]]:
    """Per-segment correctness (1.0 or 0.0), flattened video by video.

    Args:
        scores: class scores ``[N, T, C]`` (videos, segments, classes incl. background); the prediction is the
            first maximal index (``np.argmax``).
        labels: ground truth as class indices ``[N, T]`` or one-hot ``[N, T, C]`` (the first maximum is taken,
            as officially).

    Returns:
        ``{"correct": float64 [N * T]}``.
    """
    scores_array = as_finite(scores, "scores", 3)
    labels_array = as_finite(labels, "labels", (2, 3))
    if labels_array.ndim == 3:
        if labels_array.shape != scores_array.shape:
            raise UsageError(f"one-hot labels {labels_array.shape} must match scores {scores_array.shape}")
        labels_array = np.argmax(labels_array, axis=-1)
    labels_array = as_labels(labels_array, "labels", 2, scores_array.shape[-1])
    if labels_array.shape != scores_array.shape[:2]:
        raise UsageError(f"labels {labels_array.shape} must be [N, T] of scores {scores_array.shape}")
    correct = np.argmax(scores_array, axis=-1) == labels_array
    return {"correct": correct.reshape(-1).astype(np.float64)}


def compute_ave_accuracy(statistics: dict[str, NDArray[np.float64]]) -> float:
    """Segment accuracy (a fraction in [0, 1]) from :func:`compute_ave_accuracy_statistics`."""
    non_empty(statistics["correct"], "statistics['correct']")
    return float(np.average(statistics["correct"]))


def evaluate_ave_accuracy(scores: ArrayLike, labels: ArrayLike) -> float:
    """AVE segment-level accuracy (supervised and weakly supervised AVEL).

    Official: ``supervised_main.py::compute_acc`` at 93f843fed7 (sklearn ``accuracy_score`` over all test
    segments; prediction and ground truth by ``np.argmax``, first index on ties).

    Args:
        scores: ``[N, T, C]`` class scores, typically ``[402, 10, 29]``.
        labels: ``[N, T]`` class indices or ``[N, T, C]`` one-hot.

    Returns:
        Accuracy as a fraction in [0, 1], ``higher_is_better=True``.

    Example:
        >>> scores = np.eye(3)[[[0, 1], [2, 2]]]
        >>> evaluate_ave_accuracy(scores, [[0, 1], [2, 0]])
        0.75
    """
    return compute_ave_accuracy(compute_ave_accuracy_statistics(scores, labels))


def _window_sums(distances: NDArray[np.floating], events: NDArray[np.bool_], audio_query: bool) -> NDArray:
    """score[n, start] = sum_i d(v[start+i], a[s_i]) (audio query) or d(v[s_i], a[start+i]) (visual query)."""
    num_videos, num_segments = events.shape
    order = np.argsort(~events, axis=1, kind="stable")  # event indices first, in increasing order
    length = events.sum(axis=1)
    starts = np.arange(num_segments)
    total = np.zeros((num_videos, num_segments), dtype=distances.dtype)
    videos = np.arange(num_videos)[:, None]
    for i in range(num_segments):  # sequential sum over the query segments, as officially
        active = (i < length)[:, None] & (starts[None, :] + i < num_segments)
        moving = np.broadcast_to(np.minimum(starts + i, num_segments - 1), (num_videos, num_segments))
        fixed = np.broadcast_to(order[:, i : i + 1], moving.shape)
        term = distances[videos, moving, fixed] if audio_query else distances[videos, fixed, moving]
        total = total + np.where(active, term, 0).astype(distances.dtype)
    valid = starts[None, :] <= (num_segments - length)[:, None]
    return np.where(valid, total, np.inf)


def compute_ave_cross_modal_statistics(
    distances: ArrayLike, event_labels: ArrayLike
) -> dict[str, NDArray[np.float64]]:
    """Per-video A2V and V2A correctness for the videos that count (not all segments are events).

    Args:
        distances: ``[N, T, T]`` with ``distances[n, i, j]`` = distance between the visual embedding of
            segment ``i`` and the audio embedding of segment ``j`` of video ``n`` (lower = closer). They
            are cast to float32 and summed in float32, as the official script sums the float32 outputs of
            its Keras model: windows whose sums tie in float32 (but not in float64, e.g. for distances read
            from JSON) resolve to the first start, as officially.
        event_labels: ``[N, T]`` binary, 1 = event segment (``labels_closs.h5``).

    Returns:
        ``{"a2v_correct": [K], "v2a_correct": [K]}`` as 1.0/0.0, K = videos with at least one background
        segment.

    Raises:
        ValueError: if a video has no event segment (the official script fails on it too).
    """
    distance_array = as_finite(distances, "distances", 3).astype(np.float32)
    if not np.all(np.isfinite(distance_array)):
        raise UsageError("distances overflow float32 (the official model's dtype); scale them down")
    events = as_binary(event_labels, "event_labels", 2).astype(bool)
    if distance_array.shape != (*events.shape, events.shape[1]):
        raise UsageError(
            f"distances {distance_array.shape} must be [N, T, T] for event_labels {events.shape}"
        )
    if np.any(events.sum(axis=1) == 0):
        raise UsageError("every video needs at least one event segment; drop videos without events")
    kept = events.sum(axis=1) < events.shape[1]
    distance_array, events = distance_array[kept], events[kept]
    first_event = np.argmax(events, axis=1)
    result = {}
    for key, audio_query in (("a2v_correct", True), ("v2a_correct", False)):
        best = np.argmin(_window_sums(distance_array, events, audio_query), axis=1)
        result[key] = (best == first_event).astype(np.float64)
    return result


def compute_ave_cross_modal_scores(statistics: dict[str, NDArray[np.float64]]) -> dict[str, float]:
    """A2V and V2A accuracy in percent from :func:`compute_ave_cross_modal_statistics`."""
    count = len(statistics["a2v_correct"])
    if count == 0:
        raise UsageError("no video counts (all segments are events in every video); nothing to score")
    return {
        "a2v": float(int(statistics["a2v_correct"].sum()) * 100 / count),
        "v2a": float(int(statistics["v2a_correct"].sum()) * 100 / count),
    }


def evaluate_ave_cross_modal(distances: ArrayLike, event_labels: ArrayLike) -> dict[str, float]:
    """AVE cross-modal localisation accuracy, A2V and V2A.

    Official: ``cmm_test.py`` at 93f843fed7. Videos whose segments are all events are skipped. With the event
    segments ``s`` (``l`` of them) as the query, every start ``n`` in ``0..T-l`` is scored by the summed
    distance of the ``l``-long window, summed in float32 in segment order as the official loop sums its
    model's float32 outputs; the prediction is the first minimum and is correct iff it equals ``s[0]``. The
    official script prints V2A first, then A2V.

    Args:
        distances: ``[N, T, T]``, ``distances[n, visual_segment, audio_segment]``.
        event_labels: ``[N, T]`` binary event labels.

    Returns:
        ``{"a2v": ..., "v2a": ...}`` in percent, range [0, 100], ``higher_is_better=True``.

    Example:
        >>> labels = np.array([[0, 1, 1, 0]])
        >>> distances = 1.0 - np.eye(4)[None]
        >>> evaluate_ave_cross_modal(distances, labels)
        {'a2v': 100.0, 'v2a': 100.0}
    """
    return compute_ave_cross_modal_scores(compute_ave_cross_modal_statistics(distances, event_labels))
