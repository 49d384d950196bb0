"""Streaming measures against hand-worked cases and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from avikit.metrics.streaming import (
    compute_lag,
    compute_slope,
    jaccard,
    latency_quantiles,
    match_emissions,
    memory_growth,
    real_time_factor,
)


def test_matching_timely_late_premature_and_false() -> None:
    onsets = [("dog", 1.0), ("dog", 10.0), ("bell", 5.0), ("cat", 20.0)]
    emissions = [("dog", 1.5), ("dog", 1.6), ("bell", 4.0), ("cat", 23.0), ("owl", 7.0), ("dog", 10.0)]
    m = match_emissions(onsets, emissions, window=2.0)
    # dog 1.0 -> 0.5; second dog at 1.6 has no free timely onset and none ahead -> false; bell at 4.0 is
    # 1 s early -> premature; cat 3 s late -> false; owl -> false; dog 10.0 exactly on time -> 0
    np.testing.assert_allclose(m["latencies"], [0.5, 0.0, np.nan, np.nan])
    assert (m["matched"], m["premature"], m["false_positives"]) == (2, 1, 3)
    assert m["recall"] == 0.5 and m["precision"] == pytest.approx(2 / 6)


def test_no_onsets_and_no_emissions_give_nan_rates() -> None:
    m = match_emissions([], [], window=1.0)
    assert math.isnan(m["recall"]) and math.isnan(m["precision"])


def test_latency_quantiles_ignore_misses() -> None:
    q = latency_quantiles(np.array([0.1, np.nan, 0.3, 0.2]))
    assert q["median"] == pytest.approx(0.2)
    assert q["p95"] == pytest.approx(np.quantile([0.1, 0.2, 0.3], 0.95))


def test_lag_of_a_system_that_keeps_up_is_its_processing_time() -> None:
    available = np.arange(1, 11) * 0.5
    lag = compute_lag(available, [0.1] * 10)
    np.testing.assert_allclose(lag, 0.1)
    assert compute_slope(available, lag) == pytest.approx(0.0, abs=1e-12)


def test_lag_of_a_slow_system_grows_at_the_closed_form_rate() -> None:
    # processing 0.75 s per 0.5 s chunk: lag_k = 0.75 + 0.25 k, i.e. 0.5 s of lag per stream second
    available = np.arange(1, 41) * 0.5
    lag = compute_lag(available, [0.75] * 40)
    np.testing.assert_allclose(lag, 0.75 + 0.25 * np.arange(40))
    assert compute_slope(available, lag) == pytest.approx(0.5)
    assert real_time_factor([0.75] * 40, 20.0) == pytest.approx(1.5)


def test_memory_growth_flags_a_quadratic_and_not_a_constant() -> None:
    t = np.arange(1, 201, dtype=float)
    flat = memory_growth(t, np.full(200, 5e6))
    assert flat["bytes_per_second"] == pytest.approx(0.0, abs=1e-6) and not flat["superlinear"]
    grows = memory_growth(t, 100.0 * t**2)
    assert grows["superlinear"] and grows["second_half"] > 2 * grows["first_half"]
    linear = memory_growth(t, 4000.0 * t)
    assert linear["bytes_per_second"] == pytest.approx(4000.0) and not linear["superlinear"]


def test_jaccard() -> None:
    assert (
        jaccard([], []) == 1.0
        and jaccard(["a"], []) == 0.0
        and jaccard(["a", "b"], ["b", "c"]) == pytest.approx(1 / 3)
    )
