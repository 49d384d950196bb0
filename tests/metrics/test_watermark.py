"""Watermark detection metrics against closed forms and second implementations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from avikit.metrics.watermark import (
    compute_auc,
    compute_binomial_p_value,
    compute_bit_accuracy,
    compute_detection_threshold,
    compute_localization_iou,
    compute_tpr_at_fpr,
    evaluate_watermark,
)


def test_p_value_equals_scipy_binomial_tail_and_enumeration():
    for n in (1, 5, 16):
        k = np.arange(n + 1)
        ours = compute_binomial_p_value(k, n)
        # rtol 1e-12: scipy computes the tail in floating point, ours is an exact integer ratio
        np.testing.assert_allclose(ours, stats.binom.sf(k - 1, n, 0.5), rtol=1e-12)
    # brute force over all 2^5 messages: share with >= k matching bits
    matches = np.array([sum(bits) for bits in itertools.product((0, 1), repeat=5)])
    for k in range(6):
        assert compute_binomial_p_value([k], 5)[0] == np.mean(matches >= k)
    assert compute_binomial_p_value([16], 16)[0] == 2.0**-16
    with pytest.raises(ValueError, match="integer bit counts"):
        compute_binomial_p_value([17], 16)


def test_auc_equals_pairwise_count_with_ties():
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 5, 40).astype(float), rng.integers(0, 4, 30).astype(float)
    pairs = (pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean()
    assert compute_auc(pos, neg) == pytest.approx(pairs, abs=1e-12)  # 1e-12: sums of ranks in float64
    assert compute_auc([2.0, 3.0], [0.0, 1.0]) == 1.0
    assert compute_auc([0.0], [0.0]) == 0.5


def test_threshold_bounds_the_realised_fpr_and_matches_brute_force():
    rng = np.random.default_rng(1)
    null = rng.normal(size=2000)
    for fpr in (1e-2, 1e-3):
        threshold = compute_detection_threshold(null, fpr)
        assert np.mean(null > threshold) <= fpr
        # brute force: the smallest null value whose exceedance count is allowed
        allowed = [v for v in np.sort(null) if np.sum(null > v) <= math.floor(fpr * len(null))]
        assert threshold == allowed[0]
    with pytest.raises(ValueError, match="at least 1000 clean scores"):
        compute_detection_threshold(null[:999], 1e-3)


def test_tpr_counts_strictly_above_threshold():
    null = np.arange(100.0)  # threshold at 1%: 98 (only 99 above it)
    found = compute_tpr_at_fpr([98.0, 98.5, 200.0], null, 0.01)
    assert found == {"tpr": 2 / 3, "threshold": 98.0, "fpr": 0.01}


def test_bit_accuracy_and_localization_iou():
    np.testing.assert_array_equal(
        compute_bit_accuracy([[0.9, 0.2, 0.4], [0, 0, 0]], [1, 0, 1]), [2 / 3, 1 / 3]
    )
    predicted = np.array([[0.9, 0.8, 0.1, 0.6], [0.1, 0.1, 0.1, 0.1]])
    truth = np.array([[1, 1, 1, 0], [0, 0, 0, 0]])
    # flagged {0, 1, 3}, marked {0, 1, 2}: intersection 2, union 4
    assert compute_localization_iou(predicted, truth) == 0.5
    assert compute_localization_iou([0.1], [0]) == 1.0


def test_evaluate_watermark_perfect_and_chance_detectors():
    rng = np.random.default_rng(2)
    null = rng.normal(size=1000)
    message = rng.integers(0, 2, 16)
    perfect = evaluate_watermark(null.max() + 1 + rng.random(50), null, np.tile(message, (50, 1)), message)
    assert perfect["tpr@fpr=0.001"] == 1.0 and perfect["auc"] == 1.0 and perfect["bit_accuracy"] == 1.0
    assert perfect["p_value"] == 2.0**-16
    chance = evaluate_watermark(rng.normal(size=2000), null, rng.integers(0, 2, (2000, 16)), message)
    # 2000 chance clips: TPR at FPR 1e-2 has sd sqrt(0.01 * 0.99 / 2000) ~ 0.0022 plus the null's own spread
    assert chance["tpr@fpr=0.01"] < 0.03
    assert abs(chance["auc"] - 0.5) < 0.05  # AUC sd ~ sqrt(1/12 (1/1000 + 1/2000)) ~ 0.011
    assert abs(chance["bit_accuracy"] - 0.5) < 0.01  # sd of 32000 fair bits ~ 0.0028
