"""Ref-AVS metrics against a second implementation (torch, per batch as the official test loop) and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avikit.metrics import (
    compute_ref_avs_null_score,
    compute_ref_avs_scores,
    compute_ref_avs_statistics,
    evaluate_avs_binary,
    evaluate_ref_avs,
    evaluate_ref_avs_null,
)


def _reference(logits: np.ndarray, masks: np.ndarray, batch: int = 4) -> tuple[float, float, float]:
    """The Ref-AVS test loop, written from its definitions: per batch of ``batch`` expressions, all frames."""
    ious, fs, ss = [], [], []
    for start in range(0, len(logits), batch):
        pred = torch.sigmoid(torch.from_numpy(logits[start : start + batch]).float()).flatten(
            0, 1
        )  # [N, H, W]
        gt = torch.from_numpy(masks[start : start + batch]).float().flatten(0, 1)
        kept = (pred > 0.4).float()
        frame_iou = []
        for p, g in zip(kept, gt, strict=True):
            if g.sum() == 0:
                frame_iou.append(((1 - p) * (1 - g)).sum() / (g.numel() + 1e-7))
            else:
                frame_iou.append((p * g).sum() / (torch.maximum(p, g).sum() + 1e-7))
        ious.append(float(torch.stack(frame_iou).mean()))
        thresholds = torch.linspace(0, 1 - 1e-10, 255)
        curves = []
        for p, g in zip(pred, gt, strict=True):
            if g.mean() == 0:
                continue
            chosen = (p[None] >= thresholds[:, None, None]).float()  # [255, H, W]
            tp = (chosen * g).sum(dim=(1, 2))
            precision, recall = tp / (chosen.sum(dim=(1, 2)) + 1e-20), tp / (g.sum() + 1e-20)
            f = 1.3 * precision * recall / (0.3 * precision + recall)
            curves.append(torch.nan_to_num(f, nan=0.0))
        fs.append(float(torch.stack(curves).mean(0).max()) if curves else 0.0)
        ss.append(float(torch.sqrt((pred > 0.5).float().sum() / pred.numel())))
    return float(np.mean(ious)), float(np.mean(fs)), float(np.mean(ss))


@pytest.mark.parametrize("videos", [1, 4, 7])
def test_scores_match_the_second_implementation(videos: int) -> None:
    rng = np.random.default_rng(videos)
    masks = (rng.random((videos, 3, 8, 8)) < 0.3).astype(np.int64)
    masks[0, 1] = 0  # an empty frame: IoU is the true-negative share, no F-curve
    logits = rng.normal(0, 2, masks.shape) + 2 * masks
    miou, f_score, s = _reference(logits, masks)
    scores = evaluate_ref_avs(logits, masks)
    statistics = compute_ref_avs_statistics(logits, masks)
    # float32 sums of at most a few hundred values in different orders: well under 1e-5 apart
    assert scores["miou"] == pytest.approx(miou, abs=1e-5)
    assert scores["f_score"] == pytest.approx(f_score, abs=1e-5)
    assert compute_ref_avs_null_score(statistics) == pytest.approx(s, abs=1e-5)


def test_iou_keeps_pixels_above_point_four_where_avsbench_keeps_above_half() -> None:
    masks = np.zeros((1, 1, 2, 2), dtype=np.int64)
    masks[..., 0, :] = 1
    logits = np.full(masks.shape, -5.0)
    logits[..., 0, 0] = 0.0  # sigmoid 0.5: kept at > 0.4, not at > 0.5
    logits[..., 0, 1] = -0.2  # sigmoid 0.45: kept only at > 0.4
    assert evaluate_ref_avs(logits, masks)["miou"] == pytest.approx(1.0, abs=1e-6)  # 2 / 2 (+1e-7)
    assert evaluate_avs_binary(logits, masks)["miou"] == pytest.approx(0.0, abs=1e-6)


def test_null_s_closed_forms_and_batch_means() -> None:
    logits = np.full((5, 2, 4, 4), -6.0)
    assert evaluate_ref_avs_null(logits) == 0.0  # nothing predicted
    logits[0, 0, :2] = 6.0  # batch 1: 8 of 4 * 2 * 16 = 128 pixels; batch 2 (one expression): none
    assert evaluate_ref_avs_null(logits) == pytest.approx((np.sqrt(8 / 128) + 0.0) / 2, abs=1e-7)
    logits[4] = 6.0  # batch 2 all on: S = 1 there
    assert evaluate_ref_avs_null(logits) == pytest.approx((np.sqrt(8 / 128) + 1.0) / 2, abs=1e-7)
    assert evaluate_ref_avs_null(logits, batch_size=5) == pytest.approx(np.sqrt(40 / 160), abs=1e-7)


def test_sharded_statistics_agree_with_one_shot() -> None:
    rng = np.random.default_rng(3)
    masks = (rng.random((8, 2, 6, 6)) < 0.4).astype(np.int64)
    logits = rng.normal(0, 2, masks.shape)
    whole = compute_ref_avs_statistics(logits, masks)
    parts = [compute_ref_avs_statistics(logits[a : a + 4], masks[a : a + 4]) for a in (0, 4)]
    merged = {key: np.concatenate([p[key] for p in parts]) for key in whole}
    assert compute_ref_avs_scores(merged) == compute_ref_avs_scores(whole)
    assert compute_ref_avs_null_score(merged) == compute_ref_avs_null_score(whole)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"must both be \[V, T, H, W\]"):
        evaluate_ref_avs(np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 4, 5)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        evaluate_ref_avs(np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 2))
    with pytest.raises(ValueError, match="batch_size"):
        compute_ref_avs_null_score(
            compute_ref_avs_statistics(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2))), 0
        )
