"""Seeded recipes for the shared inputs of the metric golden files.

Used both by ``make_metrics_golden.py`` (which runs the official scorers on them) and by ``tests/metrics``
(which runs avikit on them), so that both sides score the same arrays.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from avikit.metrics import (
    build_ave_segment_labels,
    build_llp_ground_truth,
    list_ave_categories,
    load_ave_annotations,
    load_llp_annotations,
    load_llp_video_ids,
)


def digest(*arrays: NDArray) -> str:
    """A short sha256 of arrays, to notice when a recipe no longer gives the same inputs."""
    hasher = hashlib.sha256()
    for array in arrays:
        hasher.update(np.ascontiguousarray(array).tobytes())
    return hasher.hexdigest()[:16]


def perturb(truth: NDArray, rng: np.random.Generator, flip: float, drop: float) -> NDArray:
    """Flip a fraction of entries and blank a fraction of whole rows (last axis) of a binary array."""
    flips = rng.random(truth.shape) < flip
    drops = rng.random((*truth.shape[:-1], 1)) < drop
    return np.where(drops, 0, np.logical_xor(truth, flips)).astype(np.int64)


def llp_inputs(reference_data: Path) -> dict[str, NDArray]:
    """Real LLP test ground truth (1200 videos) and seeded noisy predictions."""
    videos = load_llp_video_ids(reference_data / "llp" / "AVVP_test_pd.csv")
    gt_audio = build_llp_ground_truth(
        load_llp_annotations(reference_data / "llp" / "AVVP_eval_audio.csv"), videos
    )
    gt_visual = build_llp_ground_truth(
        load_llp_annotations(reference_data / "llp" / "AVVP_eval_visual.csv"), videos
    )
    rng = np.random.default_rng(2024)
    return {
        "gt_audio": gt_audio,
        "gt_visual": gt_visual,
        "pred_audio": perturb(gt_audio, rng, 0.04, 0.1),
        "pred_visual": perturb(gt_visual, rng, 0.06, 0.15),
    }


def ave_accuracy_inputs(reference_data: Path) -> dict[str, NDArray]:
    """Real AVE labels of all 4,143 videos (first-seen class order) and seeded scores."""
    records = load_ave_annotations(reference_data / "ave" / "Annotations.txt")
    labels = build_ave_segment_labels(records, list_ave_categories(records))
    rng = np.random.default_rng(18)
    scores = rng.normal(size=(*labels.shape, 29)) + 1.5 * np.eye(29)[labels]
    scores[::7, :, 5] = scores[::7, :, 6] = 9.0  # exact ties: the first index wins
    return {"labels": labels, "scores": scores}


def ave_cross_modal_distances(event_labels: NDArray) -> NDArray[np.float32]:
    """Seeded float32 distances ``[N, 10, 10]`` that favour matching event segments."""
    rng = np.random.default_rng(7)
    base = rng.random((*event_labels.shape, 10), dtype=np.float32)
    match = (event_labels[:, :, None] * event_labels[:, None, :]).astype(np.float32)
    return (base + np.float32(0.6) * (1 - match) * rng.random(base.shape, dtype=np.float32)).astype(
        np.float32
    )


def ave_cross_modal_near_ties() -> dict[str, NDArray]:
    """Constructed float32 distances ``[3, 10, 10]`` whose window sums tie in float32 but not in float64.

    Video 0 and 1 (events at seconds 0-1): start 0 sums ``1 + 1e-8``, start 1 sums ``1 + 0``; in float32 both
    are 1.0 and the first (correct) start wins, in float64 start 1 wins. Video 2 (events at 3-4) is the
    mirror case: float32 ties start 2 with the correct start 3 and picks 2.
    """
    tiny = np.float32(1e-8)
    distances = np.ones((3, 10, 10), dtype=np.float32)
    labels = np.zeros((3, 10), dtype=np.int64)
    for video in (0, 1):
        labels[video, :2] = 1
        distances[video, 1, 1] = tiny  # start 0: d[0, 0] + d[1, 1]
        distances[video, 2, 1] = distances[video, 1, 2] = 0.0  # start 1 (A2V and V2A)
    labels[2, 3:5] = 1
    distances[2, 3, 3], distances[2, 4, 4] = 1.0, 0.0  # start 3: 1 + 0
    distances[2, 3, 4] = distances[2, 4, 3] = tiny  # start 2: 1 + 1e-8 (A2V and V2A)
    return {"distances": distances, "event_labels": labels}


def unav_inputs() -> dict[str, NDArray]:
    """Seeded UnAV-like ground truth (labels with gaps, duplicates) and predictions (some unmapped labels)."""
    rng = np.random.default_rng(100)
    gt_video, gt_seg, gt_label = [], [], []
    labels_used = np.array([1, 2, 4, 5, 7, 9, 10, 12])
    for video in range(60):
        for _ in range(rng.integers(1, 5)):
            start = float(np.round(rng.uniform(0, 50), 2))
            gt_video.append(f"vid{video:03d}")
            gt_seg.append([start, start + float(np.round(rng.uniform(0.5, 15), 2))])
            gt_label.append(int(rng.choice(labels_used)))
        if video % 10 == 0:  # an exact duplicate event, dropped by the official de-duplication
            gt_video.append(gt_video[-1])
            gt_seg.append(list(gt_seg[-1]))
            gt_label.append(gt_label[-1])
    pred_video, pred_seg, pred_label, pred_score = [], [], [], []
    for video, segment, label in zip(gt_video, gt_seg, gt_label, strict=True):
        for _ in range(3):
            jitter = rng.normal(0, 1.5, 2)
            start, end = segment[0] + jitter[0], max(segment[0] + jitter[0] + 0.2, segment[1] + jitter[1])
            pred_video.append(video)
            pred_seg.append([start, end])
            pred_label.append(int(label if rng.random() < 0.8 else rng.integers(0, 14)))
            pred_score.append(float(np.round(rng.random(), 2)))  # 2 decimals: many ties
    for _ in range(40):  # pure false positives, some in videos without events
        start = rng.uniform(0, 50)
        pred_video.append(f"vid{rng.integers(0, 70):03d}")
        pred_seg.append([start, start + rng.uniform(0.5, 10)])
        pred_label.append(int(rng.choice(labels_used)))
        pred_score.append(float(np.round(rng.random(), 2)))
    return {
        "gt_video_ids": np.array(gt_video),
        "gt_segments": np.array(gt_seg),
        "gt_labels": np.array(gt_label),
        "pred_video_ids": np.array(pred_video),
        "pred_segments": np.array(pred_seg),
        "pred_labels": np.array(pred_label),
        "pred_scores": np.array(pred_score),
    }


def unav_reversed_inputs() -> dict[str, NDArray]:
    """:func:`unav_inputs` with every 5th prediction reversed (start > end), plus constructed reversed cases.

    Videos ``rev0``-``rev2``: a prediction that is a true event with start and end swapped (the official tIoU
    is 0/0, NaN), one whose reversed length is shorter than the event's (tIoU 0) and one whose reversed
    length is longer (negative union, tIoU -0.0), and a reversed prediction in a video without events.
    """
    data = unav_inputs()
    segments = data["pred_segments"].copy()
    segments[::5] = segments[::5, ::-1]
    gt = {"rev0": ([2.0, 5.0], 1), "rev1": ([0.0, 4.0], 2), "rev2": ([1.0, 3.0], 4)}
    pred = [
        ("rev0", [5.0, 2.0], 1, 0.97), ("rev0", [2.0, 5.0], 1, 0.15),
        ("rev1", [4.0, 0.0], 2, 0.96), ("rev1", [3.0, 1.0], 2, 0.95),
        ("rev2", [6.0, 0.0], 4, 0.94), ("rev2", [1.0, 3.0], 4, 0.05), ("rev9", [9.0, 1.0], 4, 0.93),
    ]  # fmt: skip
    return {
        "gt_video_ids": np.concatenate([data["gt_video_ids"], list(gt)]),
        "gt_segments": np.concatenate([data["gt_segments"], [seg for seg, _ in gt.values()]]),
        "gt_labels": np.concatenate([data["gt_labels"], [label for _, label in gt.values()]]),
        "pred_video_ids": np.concatenate([data["pred_video_ids"], [p[0] for p in pred]]),
        "pred_segments": np.concatenate([segments, [p[1] for p in pred]]),
        "pred_labels": np.concatenate([data["pred_labels"], [p[2] for p in pred]]),
        "pred_scores": np.concatenate([data["pred_scores"], [p[3] for p in pred]]),
    }


def avs_binary_inputs() -> dict[str, NDArray]:
    """Seeded S4/MS3-like logits and masks ``[9, 5, 32, 32]`` incl. empty masks and an all-empty video."""
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[:32, :32]
    centres = rng.uniform(6, 26, (9, 5, 2))
    radii = rng.uniform(3, 10, (9, 5))
    masks = (
        (yy - centres[..., 0, None, None]) ** 2 + (xx - centres[..., 1, None, None]) ** 2
        < radii[..., None, None] ** 2
    ).astype(np.int64)
    masks[1, 2] = 0
    masks[4] = 0
    logits = (4.0 * (masks - 0.5) + rng.normal(0, 2.5, masks.shape)).astype(np.float32)
    return {"logits": logits, "masks": masks}


def avs_semantic_inputs() -> dict[str, NDArray]:
    """Seeded AVSS-like class maps ``[6, 10, 24, 24]`` over 12 classes (background 0), noisy predictions."""
    rng = np.random.default_rng(5)
    labels = np.zeros((6, 10, 24, 24), dtype=np.int64)
    for video in range(6):
        for cls in rng.choice(np.arange(1, 11), 2, replace=False):
            top, left = rng.integers(0, 16, 2)
            labels[video, :, top : top + 8, left : left + 8] = cls
    labels[5, 5:] = 0  # padded frames: all background
    noise = rng.random(labels.shape) < 0.15
    predictions = np.where(noise, rng.integers(0, 12, labels.shape), labels)
    return {"labels": labels, "predictions": predictions}


def avqa_inputs(reference_data: Path) -> dict:
    """Real MUSIC-AVQA test questions, answer indices by first-seen answer, seeded logits."""
    from avikit.metrics import build_answer_vocabulary, load_music_avqa_questions

    questions = load_music_avqa_questions(reference_data / "music-avqa" / "avqa-test.json")
    vocabulary = build_answer_vocabulary([question.answer for question in questions])
    labels = np.array([vocabulary[question.answer] for question in questions])
    rng = np.random.default_rng(9185)
    logits = rng.normal(size=(len(labels), len(vocabulary))) + 2.2 * np.eye(len(vocabulary))[labels]
    return {"questions": questions, "labels": labels, "logits": logits.astype(np.float32)}


def retrieval_inputs() -> NDArray[np.float64]:
    """Seeded similarity ``[300, 300]`` rounded to 1 decimal, so ties (also with the diagonal) are common."""
    rng = np.random.default_rng(3)
    return np.round(rng.normal(size=(300, 300)) + 1.5 * np.eye(300), 1)


def classification_inputs() -> dict[str, NDArray]:
    """Seeded multi-label scores and targets ``[400, 30]`` with score ties and one class without positives."""
    rng = np.random.default_rng(11)
    targets = (rng.random((400, 30)) < 0.1).astype(np.int64)
    targets[:, 7] = 0
    scores = np.round(rng.random((400, 30)) + 0.4 * targets, 2)
    single = np.argmax(rng.random((400, 30)) + targets, axis=1)
    return {"scores": scores, "targets": targets, "single_labels": single}


def localization_inputs() -> dict[str, NDArray]:
    """Seeded 224 x 224 float32 heatmaps and ground truth ``[40, 224, 224]`` with the tie cases.

    Images 0-19 carry a Flickr-like consensus map (0, 0.5, 1), 20-39 a VGG-SS-like binary union of boxes.
    Heatmaps are blurred blobs near the boxes plus noise; some are quantised to 1 decimal (median ties),
    two saturate at their maximum on more than half of the pixels, two are constant (0 and -1), and one
    ground-truth map is empty.
    """
    rng = np.random.default_rng(224)
    size, count = 224, 40
    yy, xx = np.mgrid[:size, :size]
    gt_maps = np.zeros((count, size, size))
    heatmaps = np.zeros((count, size, size), dtype=np.float32)
    for image in range(count):
        boxes = []
        for _ in range(rng.integers(1, 4)):
            x0, y0 = rng.integers(0, 120, 2)
            w, h = rng.integers(60, 200, 2)
            boxes.append((x0, y0, min(size, x0 + w), min(size, y0 + h)))
        for x0, y0, x1, y1 in boxes:
            gt_maps[image, y0:y1, x0:x1] += 1
        gt_maps[image] = np.minimum(gt_maps[image] / 2, 1) if image < 20 else (gt_maps[image] > 0)
        x0, y0, x1, y1 = boxes[0]
        cx, cy = (x0 + x1) / 2 + rng.normal(0, 12), (y0 + y1) / 2 + rng.normal(0, 12)
        sigma = rng.uniform(25, 90)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
        heatmaps[image] = (blob + rng.normal(0, rng.uniform(0.02, 0.3), blob.shape)).astype(np.float32)
    heatmaps[::5] = np.round(heatmaps[::5], 1)  # many values tie with the median one
    heatmaps[3] = np.minimum(heatmaps[3], np.float32(0.1))  # more than half of the pixels at the maximum
    heatmaps[13] = np.minimum(heatmaps[13], np.float32(0.3))
    heatmaps[7] = 0.0  # constant maps
    heatmaps[17] = -1.0
    gt_maps[27] = 0.0  # no ground truth
    return {"heatmaps": heatmaps, "gt_maps": gt_maps}


def sync_inputs() -> dict[str, NDArray]:
    """Seeded float32 offset logits: 21 classes without ties, 21 classes with exact ties, and 2 classes."""
    rng = np.random.default_rng(21)
    labels = rng.integers(0, 21, 3000)
    near = np.clip(labels + rng.integers(-2, 3, labels.shape), 0, 20)  # often a neighbouring class wins
    logits = rng.normal(0, 1.5, (3000, 21)) + 1.2 * np.eye(21)[labels] + 1.0 * np.eye(21)[near]
    tied_labels = rng.integers(0, 21, 600)
    tied_logits = np.round(rng.normal(0, 1, (600, 21)) + 1.0 * np.eye(21)[tied_labels])
    binary_labels = rng.integers(0, 2, 400)
    binary_logits = np.round(rng.normal(0, 1, (400, 2)) + 0.8 * np.eye(2)[binary_labels], 1)
    return {
        "logits": logits.astype(np.float32),
        "labels": labels,
        "tied_logits": tied_logits.astype(np.float32),
        "tied_labels": tied_labels,
        "binary_logits": binary_logits.astype(np.float32),
        "binary_labels": binary_labels,
    }
