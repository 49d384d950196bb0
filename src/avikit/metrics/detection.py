"""UnAV-100 dense audio-visual event localisation: mAP at each temporal IoU and their average.

Reproduces ttgeng233/UnAV at commit 1609deba4f: ``libs/utils/metrics.py::ANETdetection`` (the ActivityNet
detection evaluation as adapted by ActionFormer / EPIC-Kitchens), with the thresholds
``np.linspace(0.1, 0.9, 9)`` of ``libs/datasets/unav100.py``. Fractions in [0, 1] (the script prints x100).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.metrics._validation import as_array, as_finite

__all__ = [
    "UNAV_TIOU_THRESHOLDS",
    "compute_detection_resampler",
    "compute_detection_scores",
    "compute_detection_statistics",
    "evaluate_unav_detection",
]

log = logging.getLogger(__name__)

UNAV_TIOU_THRESHOLDS: NDArray[np.float64] = np.linspace(0.1, 0.9, 9)
"""The official tIoU grid, bit-exact (0.30000000000000004 and 0.7000000000000001 included)."""


def _check_segments(segments: ArrayLike, name: str) -> NDArray[np.float64]:
    array = as_finite(segments, name, 2).astype(np.float64)
    if array.shape[1:] != (2,):
        raise UsageError(f"{name} must be [N, 2] (start, end) in seconds, got shape {array.shape}")
    return array


def _check_ground_truth(segments: NDArray[np.float64]) -> None:
    reversed_rows = np.flatnonzero(segments[:, 1] < segments[:, 0])
    if len(reversed_rows):
        row = int(reversed_rows[0])
        start, end = segments[row]
        raise UsageError(
            f"gt_segments row {row} ends before it starts ({start} > {end}), one of {len(reversed_rows)} "
            "such rows; fix the annotation"
        )


def _note_reversed(segments: NDArray[np.float64]) -> None:
    count = int(np.sum(segments[:, 1] < segments[:, 0]))
    if count:
        log.warning(
            "%d of %d detections end before they start; scored as the official UnAV-100 scorer scores them "
            "(tIoU 0 / union: a miss, or a hit when the reversed length equals a true event's, 0/0)",
            count,
            len(segments),
        )


def _dedup_ground_truth(videos: NDArray, segments: NDArray, labels: NDArray, tol: float = 1e-3) -> NDArray:
    """Indices kept by ``remove_duplicate_annotations`` (same label, both ends within ``tol``, per video)."""
    keep = np.ones(len(labels), dtype=bool)
    order = np.lexsort((labels, videos))
    changes = (videos[order][1:] != videos[order][:-1]) | (labels[order][1:] != labels[order][:-1])
    groups = np.split(order, np.flatnonzero(changes) + 1)
    for group in groups:
        group = np.sort(group)  # file order inside the group
        kept: list[int] = []
        for index in group:
            close = [k for k in kept if abs(segments[index, 0] - segments[k, 0]) <= tol
                     and abs(segments[index, 1] - segments[k, 1]) <= tol]  # fmt: skip
            if close:
                keep[index] = False
            else:
                kept.append(index)
    return keep


def _match_class(
    gt_videos: NDArray, gt_segments: NDArray, pred_videos: NDArray, pred_segments: NDArray, scores: NDArray,
    thresholds: NDArray,
) -> NDArray[np.bool_]:  # fmt: skip
    """True-positive flags ``[P, thresholds]`` of one class, in the class's prediction order."""
    order = scores.argsort()[::-1]
    tp = np.zeros((len(scores), len(thresholds)), dtype=bool)
    by_video: dict[object, NDArray[np.intp]] = {}
    for video in np.unique(gt_videos):
        by_video[video] = np.flatnonzero(gt_videos == video)
    locked = np.zeros((len(thresholds), len(gt_videos)), dtype=bool)
    for index in order:
        candidates = by_video.get(pred_videos[index])
        if candidates is None:
            continue
        start, end = pred_segments[index]
        segs = gt_segments[candidates]
        inter = (np.minimum(end, segs[:, 1]) - np.maximum(start, segs[:, 0])).clip(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            tiou = inter.astype(float) / ((segs[:, 1] - segs[:, 0]) + (end - start) - inter)
        ranked = tiou.argsort()[::-1]
        usable = ~(tiou[ranked][None, :] < thresholds[:, None]) & ~locked[:, candidates[ranked]]
        hit = usable.any(axis=1)
        first = candidates[ranked[np.argmax(usable, axis=1)]]
        locked[np.flatnonzero(hit), first[hit]] = True
        tp[index] = hit
    return tp


def compute_detection_statistics(
    gt_video_ids: ArrayLike, gt_segments: ArrayLike, gt_labels: ArrayLike,
    pred_video_ids: ArrayLike, pred_segments: ArrayLike, pred_labels: ArrayLike, pred_scores: ArrayLike,
    tiou_thresholds: ArrayLike = UNAV_TIOU_THRESHOLDS,
) -> dict[str, NDArray]:  # fmt: skip
    """Per-prediction true-positive flags and per-class positive counts.

    Ground truth is de-duplicated and its labels are remapped to ``0..K-1`` over the sorted labels present;
    prediction labels go through the same map, and a label the map lacks is kept as it is (as officially).

    Returns:
        ``{"class": [P], "score": [P], "tp": bool [P, thresholds], "num_positives": [K],
        "thresholds": [thresholds]}``; predictions of classes outside ``0..K-1`` are dropped. Shards with
        disjoint videos and the same set of ground-truth labels merge with ``merge_statistics``; the merged
        score equals the one-shot score unless two predictions of one class and video tie in score.
    """
    gt_videos = as_array(gt_video_ids, "gt_video_ids", 1)
    pred_videos = as_array(pred_video_ids, "pred_video_ids", 1)
    gt_segs, pred_segs = (
        _check_segments(gt_segments, "gt_segments"),
        _check_segments(pred_segments, "pred_segments"),
    )
    _check_ground_truth(gt_segs)
    _note_reversed(pred_segs)
    gt_lab = as_finite(gt_labels, "gt_labels", 1).astype(np.int64)
    pred_lab = as_finite(pred_labels, "pred_labels", 1).astype(np.int64)
    scores = as_finite(pred_scores, "pred_scores", 1).astype(np.float64)
    thresholds = as_finite(tiou_thresholds, "tiou_thresholds", 1).astype(np.float64)
    if not len(gt_videos) == len(gt_segs) == len(gt_lab):
        raise UsageError("gt_video_ids, gt_segments and gt_labels must have the same length")
    if not len(pred_videos) == len(pred_segs) == len(pred_lab) == len(scores):
        raise UsageError(
            "pred_video_ids, pred_segments, pred_labels and pred_scores must have the same length"
        )
    keep = _dedup_ground_truth(gt_videos, gt_segs, gt_lab)
    gt_videos, gt_segs, gt_lab = gt_videos[keep], gt_segs[keep], gt_lab[keep]
    present = np.unique(gt_lab)
    mapping = dict(zip(present.tolist(), range(len(present)), strict=True))
    gt_class = np.array([mapping[label] for label in gt_lab.tolist()], dtype=np.int64)
    pred_class = np.array([mapping.get(label, label) for label in pred_lab.tolist()], dtype=np.int64)
    in_range = (pred_class >= 0) & (pred_class < len(present))
    pred_class, pred_videos, pred_segs, scores = (
        pred_class[in_range], pred_videos[in_range], pred_segs[in_range], scores[in_range])  # fmt: skip
    tp = np.zeros((len(scores), len(thresholds)), dtype=bool)
    for cls in range(len(present)):
        gt_rows, pred_rows = np.flatnonzero(gt_class == cls), np.flatnonzero(pred_class == cls)
        if len(pred_rows):
            tp[pred_rows] = _match_class(gt_videos[gt_rows], gt_segs[gt_rows], pred_videos[pred_rows],
                                         pred_segs[pred_rows], scores[pred_rows], thresholds)  # fmt: skip
    return {
        "class": pred_class, "score": scores, "tp": tp,
        "num_positives": np.bincount(gt_class, minlength=len(present)), "thresholds": thresholds,
    }  # fmt: skip


def _interpolated_average_precision(precision: NDArray, recall: NDArray) -> NDArray[np.float64]:
    """VOC 2011 all-points interpolated AP (``interpolated_prec_rec``) of each row of ``[T, n]`` curves.

    Per row as officially: pad precision with 0 and recall with 0 and 1, take the running maximum of the
    precision from the right, and sum ``(r[i] - r[i - 1]) * p[i]`` where the recall changes.
    """
    rows = len(precision)
    mprec = np.hstack([np.zeros((rows, 1)), precision, np.zeros((rows, 1))])
    mrec = np.hstack([np.zeros((rows, 1)), recall, np.ones((rows, 1))])
    mprec = np.maximum.accumulate(mprec[:, ::-1], axis=1)[:, ::-1]
    out = np.empty(rows)
    for row in range(rows):  # the official selection and summation order, bit for bit
        idx = np.flatnonzero(mrec[row, 1:] != mrec[row, :-1]) + 1
        out[row] = np.sum((mrec[row, idx] - mrec[row, idx - 1]) * mprec[row, idx])
    return out


def compute_detection_scores(statistics: dict[str, NDArray]) -> dict[str, float]:
    """MAP at each threshold and their mean, from :func:`compute_detection_statistics`.

    Returns:
        ``{"map@0.1": ..., ..., "map@0.9": ..., "average_map": ...}`` (keys use the threshold rounded to
        2 decimals); fractions in [0, 1], ``higher_is_better=True``.
    """
    thresholds, positives = statistics["thresholds"], statistics["num_positives"]
    if len(positives) == 0:
        raise UsageError("the ground truth has no events; nothing to score")
    ap = np.zeros((len(thresholds), len(positives)))
    for cls in range(len(positives)):
        rows = np.flatnonzero(statistics["class"] == cls)
        if len(rows) == 0:
            continue
        order = statistics["score"][rows].argsort()[::-1]
        tp = statistics["tp"][rows][order].T.astype(np.float64)
        tp_cumsum, fp_cumsum = np.cumsum(tp, axis=1), np.cumsum(1.0 - tp, axis=1)
        recall = tp_cumsum / float(positives[cls])
        precision = tp_cumsum / (tp_cumsum + fp_cumsum)
        ap[:, cls] = _interpolated_average_precision(precision, recall)
    mean_ap = ap.mean(axis=1)
    pairs = zip(thresholds, mean_ap, strict=True)
    scores = {f"map@{threshold:.2f}".rstrip("0"): float(value) for threshold, value in pairs}
    scores["average_map"] = float(mean_ap.mean())
    return scores


def _average_precisions(statistics: dict[str, NDArray]) -> NDArray[np.float64]:
    """``[thresholds, classes]`` AP as :func:`compute_detection_scores`, the thresholds in one pass.

    The same terms as the official per-threshold loop, summed with the unused terms as zeros: equal to it
    up to the order of a float64 sum (a few units in the last place).
    """
    thresholds, positives = statistics["thresholds"], statistics["num_positives"]
    ap = np.zeros((len(thresholds), len(positives)))
    for cls in range(len(positives)):
        rows = np.flatnonzero(statistics["class"] == cls)
        if len(rows) == 0:
            continue
        order = statistics["score"][rows].argsort()[::-1]
        tp = statistics["tp"][rows][order].T.astype(np.float64)
        tp_cumsum = np.cumsum(tp, axis=1)
        recall = np.hstack([np.zeros((len(tp), 1)), tp_cumsum / float(positives[cls]), np.ones((len(tp), 1))])
        precision = tp_cumsum / np.arange(1, tp.shape[1] + 1)
        precision = np.hstack([np.zeros((len(tp), 1)), precision, np.zeros((len(tp), 1))])
        precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        step = recall[:, 1:] - recall[:, :-1]
        ap[:, cls] = np.where(step != 0, step * precision[:, 1:], 0.0).sum(axis=1)
    return ap


class _Resampler:
    """Scores of resamples of whole videos (see :func:`compute_detection_resampler`)."""

    def __init__(self, gt: tuple[NDArray, ...], pred: tuple[NDArray, ...], videos: Sequence[object],
                 thresholds: NDArray[np.float64]) -> None:  # fmt: skip
        gt_videos, self.gt_segs, self.gt_lab = gt
        pred_videos, self.pred_segs, self.pred_lab, self.scores = pred
        self.thresholds = thresholds
        self.truth = [np.flatnonzero(gt_videos == v) for v in videos]  # per video: its events
        self.found = [np.flatnonzero(pred_videos == v) for v in videos]  # per video: detections, in order
        self.matched: dict[tuple[int, int, tuple[int, ...]], NDArray[np.bool_]] = {}
        self.genuine = np.zeros((len(self.scores), len(thresholds)), dtype=bool)  # each against its label
        for video, members in enumerate(self.found):
            for label in np.unique(self.pred_lab[members]):
                inside = members[self.pred_lab[members] == label]
                self.genuine[inside] = self._tp(video, int(label), inside)

    def _tp(self, video: int, label: int, members: NDArray[np.intp]) -> NDArray[np.bool_]:
        """Flags of ``members`` (detections of one video) matched against the video's events of ``label``."""
        key = (video, label, tuple(members.tolist()))
        if key not in self.matched:
            events = self.truth[video][self.gt_lab[self.truth[video]] == label]
            self.matched[key] = _match_class(
                np.zeros(len(events)), self.gt_segs[events], np.zeros(len(members)), self.pred_segs[members],
                self.scores[members], self.thresholds,
            )  # fmt: skip
        return self.matched[key]

    def __call__(self, rows: Sequence[int]) -> dict[str, float]:
        events = np.concatenate([self.gt_lab[self.truth[v]] for v in rows])
        present = np.unique(events)
        index = np.concatenate([self.found[v] for v in rows])  # detections in resample order
        position = np.repeat(np.arange(len(rows)), [len(self.found[v]) for v in rows])
        labels = self.pred_lab[index]
        known = np.isin(labels, present)
        mapped = np.where(known, np.searchsorted(present, labels), labels)  # absent labels kept as they are
        usable = (mapped >= 0) & (mapped < len(present))
        tp = self.genuine[index]
        joined = usable & ~known
        for k, cls in set(zip(position[joined].tolist(), mapped[joined].tolist(), strict=True)):
            inside = (position == k) & (mapped == cls)  # a class joined by detections of absent labels
            tp[inside] = self._tp(int(rows[k]), int(present[cls]), index[inside])
        statistics = {"class": mapped[usable], "score": self.scores[index][usable], "tp": tp[usable],
                      "num_positives": np.bincount(np.searchsorted(present, events), minlength=len(present)),
                      "thresholds": self.thresholds}  # fmt: skip
        mean_ap = _average_precisions(statistics).mean(axis=1)
        scores = {f"map@{t:.2f}".rstrip("0"): float(v) for t, v in zip(self.thresholds, mean_ap, strict=True)}
        return {**scores, "average_map": float(mean_ap.mean())}


def compute_detection_resampler(
    gt_video_ids: ArrayLike, gt_segments: ArrayLike, gt_labels: ArrayLike,
    pred_video_ids: ArrayLike, pred_segments: ArrayLike, pred_labels: ArrayLike, pred_scores: ArrayLike,
    videos: Sequence[object], tiou_thresholds: ArrayLike = UNAV_TIOU_THRESHOLDS,
) -> Callable[[Sequence[int]], dict[str, float]]:  # fmt: skip
    """Scores of resamples of whole videos, equal to :func:`evaluate_unav_detection` on each resample.

    ``resample(rows)`` scores the videos ``videos[i]`` for ``i`` in ``rows`` (a repeated video counts as
    another video with the same events and detections), as if their events and detections had been passed
    to :func:`evaluate_unav_detection`, label remapping over the resample's ground truth included. Matching
    is per video, so each (video, class, detections of that class) group is matched once and reused across
    resamples: a bootstrap of a thousand resamples costs little more than scoring them. Equal scores of two
    detections of one class in one video are the one case where the order of matching may differ; AP sums
    the official terms in another order (equal to a few units in the last place).

    Example:
        >>> resample = compute_detection_resampler(
        ...     ["a", "b"], [[0.0, 2.0], [1.0, 3.0]], [0, 1], ["a", "b"], [[0.0, 2.0], [5.0, 6.0]], [0, 1],
        ...     [0.9, 0.8], videos=["a", "b"])
        >>> resample([0, 0])["average_map"], resample([1])["average_map"]
        (1.0, 0.0)
    """
    gt_videos = as_array(gt_video_ids, "gt_video_ids", 1)
    gt_segs = _check_segments(gt_segments, "gt_segments")
    _check_ground_truth(gt_segs)
    gt_lab = as_finite(gt_labels, "gt_labels", 1).astype(np.int64)
    keep = _dedup_ground_truth(gt_videos, gt_segs, gt_lab)
    pred = (as_array(pred_video_ids, "pred_video_ids", 1), _check_segments(pred_segments, "pred_segments"),
            as_finite(pred_labels, "pred_labels", 1).astype(np.int64),
            as_finite(pred_scores, "pred_scores", 1).astype(np.float64))  # fmt: skip
    thresholds = as_finite(tiou_thresholds, "tiou_thresholds", 1).astype(np.float64)
    if len({len(a) for a in pred}) != 1 or not len(gt_videos) == len(gt_segs) == len(gt_lab):
        raise UsageError("the ground-truth arrays, and the prediction arrays, must each have one length")
    return _Resampler((gt_videos[keep], gt_segs[keep], gt_lab[keep]), pred, videos, thresholds)


def evaluate_unav_detection(
    gt_video_ids: ArrayLike, gt_segments: ArrayLike, gt_labels: ArrayLike,
    pred_video_ids: ArrayLike, pred_segments: ArrayLike, pred_labels: ArrayLike, pred_scores: ArrayLike,
    tiou_thresholds: ArrayLike = UNAV_TIOU_THRESHOLDS,
) -> dict[str, float]:  # fmt: skip
    """UnAV-100 mAP@tIoU (0.1:0.1:0.9) and the average mAP over all thresholds.

    Official: ``libs/utils/metrics.py::ANETdetection.evaluate`` at 1609deba4f. Per class, predictions are
    ranked by ``argsort()[::-1]`` of the score; each is matched greedily to the unmatched ground truth of its
    video with the highest tIoU at or above the threshold; AP is VOC-2011 interpolated; mAP averages over the
    classes present in the ground truth (a class without predictions scores 0).

    Detections that end before they start are scored as officially (with a log warning): their tIoU is
    ``0 / union``, a miss, except when the reversed length equals a true event's length, where it is 0/0
    (NaN), which no threshold rejects, so the official scorer counts a hit. Ground truth that ends before it
    starts is refused.

    Args:
        gt_video_ids: ``[G]`` video id of each ground-truth event (str or int).
        gt_segments: ``[G, 2]`` start and end in seconds.
        gt_labels: ``[G]`` integer labels.
        pred_video_ids: ``[P]``.
        pred_segments: ``[P, 2]``.
        pred_labels: ``[P]``.
        pred_scores: ``[P]`` confidence.
        tiou_thresholds: the tIoU grid (default: the official ``np.linspace(0.1, 0.9, 9)``).

    Returns:
        ``map@<thr>`` for each threshold and ``average_map``, fractions in [0, 1], ``higher_is_better=True``.

    Example:
        >>> gt = (["v"], [[0.0, 4.0]], [0])
        >>> pred = (["v", "v"], [[0.0, 4.0], [5.0, 9.0]], [0, 0], [0.9, 0.1])
        >>> scores = evaluate_unav_detection(*gt, *pred)
        >>> scores["map@0.5"], scores["average_map"]
        (1.0, 1.0)
    """
    return compute_detection_scores(compute_detection_statistics(
        gt_video_ids, gt_segments, gt_labels, pred_video_ids, pred_segments, pred_labels, pred_scores,
        tiou_thresholds))  # fmt: skip
