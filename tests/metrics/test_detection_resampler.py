"""Resampled UnAV-100 mAP equals the official scorer run on each resample (remapping of absent labels too)."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.metrics import bootstrap_indices, evaluate_unav_detection
from avikit.metrics.detection import compute_detection_resampler


def _data(rng: np.random.Generator, videos: int) -> tuple[list, list]:
    gt, pred = [], []
    for v in range(videos):
        for _ in range(int(rng.integers(1, 4))):
            start = float(rng.uniform(0, 8))
            gt.append((v, start, start + float(rng.uniform(0.5, 2)), int(rng.integers(0, 8))))
        for _ in range(int(rng.integers(0, 6))):
            start = float(rng.uniform(0, 8))
            # labels up to 14: detections of classes absent from a resample's events are remapped officially
            pred.append(
                (v, start, start + float(rng.uniform(0.5, 2)), int(rng.integers(0, 15)), float(rng.random()))
            )
    return gt, pred


def _arrays(gt: list, pred: list) -> list[np.ndarray]:
    return [np.array([g[0] for g in gt]), np.array([g[1:3] for g in gt]).reshape(-1, 2),
            np.array([g[3] for g in gt]), np.array([p[0] for p in pred]),
            np.array([p[1:3] for p in pred]).reshape(-1, 2), np.array([p[3] for p in pred]),
            np.array([p[4] for p in pred])]  # fmt: skip


def test_every_resample_scores_as_the_official_scorer_on_it() -> None:
    rng = np.random.default_rng(0)
    gt, pred = _data(rng, 15)
    resample = compute_detection_resampler(*_arrays(gt, pred), videos=range(15))
    for rows in bootstrap_indices(15, 40, seed=1):
        chosen_gt = [(k, *g[1:]) for k, video in enumerate(rows) for g in gt if g[0] == video]
        chosen_pred = [(k, *p[1:]) for k, video in enumerate(rows) for p in pred if p[0] == video]
        official = evaluate_unav_detection(*_arrays(chosen_gt, chosen_pred))
        # the same matches and AP terms, summed in another order: a few units in the last place
        assert resample(rows.tolist()) == pytest.approx(official, rel=1e-12, abs=1e-15)
