"""The cluster bootstrap against exact enumeration, a closed form and second implementations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from avikit.errors import UsageError
from avikit.metrics import (
    Comparison,
    bootstrap_indices,
    compute_av_gain,
    compute_bootstrap_ci,
    compute_mean_replicates,
    compute_paired_difference,
    compute_percentile_interval,
    compute_set_replicates,
)
from avikit.metrics.bootstrap import unit_index


def _naive_replicates(values, units, num_resamples, seed):
    """A second implementation: loop over the resamples, gather the chosen units' items, take their mean."""
    index, count = unit_index(units, len(values))
    members = [np.flatnonzero(index == u) for u in range(count)]
    picks = np.random.default_rng(seed).integers(0, count, (num_resamples, count))
    return np.array([np.mean(np.concatenate([values[members[u]] for u in row])) for row in picks])


def test_cluster_replicates_equal_a_loop_over_the_resamples() -> None:
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 12, 30)
    values = rng.random(sizes.sum())
    units = np.repeat(np.arange(30), sizes)
    fast = compute_mean_replicates(values, units, 300, seed=4)
    # same draws, a sum of at most 330 float64 values in another order
    assert np.allclose(fast, _naive_replicates(values, units, 300, 4), rtol=1e-12, atol=0)


def test_one_item_per_unit_is_the_ordinary_bootstrap_of_the_mean() -> None:
    values = np.random.default_rng(1).random(50)
    picks = np.random.default_rng(7).integers(0, 50, (200, 50))
    # same draws; a mean of 50 float64 values summed in another order
    assert np.allclose(compute_mean_replicates(values, None, 200, seed=7), values[picks].mean(1), rtol=1e-12)
    assert compute_mean_replicates(values, list(range(50)), 200, 7) == pytest.approx(
        compute_mean_replicates(values, None, 200, 7), rel=1e-12
    )


def test_replicates_follow_the_exact_bootstrap_distribution() -> None:
    """Four clips of unequal size: all 4**4 resamples enumerated give the exact distribution."""
    values = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    units = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
    sums, sizes = np.bincount(units, values), np.bincount(units).astype(float)
    exact = np.sort(
        [sums[list(r)].sum() / sizes[list(r)].sum() for r in itertools.product(range(4), repeat=4)]
    )
    drawn = np.sort(compute_mean_replicates(values, units, 20000, seed=0))
    grid = np.unique(exact)
    cdf_exact = np.searchsorted(exact, grid, side="right") / len(exact)
    cdf_drawn = np.searchsorted(drawn, grid + 1e-12, side="right") / len(drawn)
    # DKW: P(sup |F_n - F| > 0.02) <= 2 exp(-2 * 20000 * 0.02**2) = 2e-7 for any seed
    assert np.max(np.abs(cdf_exact - cdf_drawn)) < 0.02


def test_equal_clusters_have_the_closed_form_bootstrap_variance() -> None:
    """With C clusters of equal size the replicate is the mean of C resampled cluster means."""
    rng = np.random.default_rng(2)
    cluster_means = rng.random(20)
    values = np.repeat(cluster_means, 5) + np.tile([-0.1, -0.05, 0, 0.05, 0.1], 20)
    units = np.repeat(np.arange(20), 5)
    expected = np.var(cluster_means) / 20  # population variance of the cluster means over C
    drawn = np.var(compute_mean_replicates(values, units, 40000, seed=3))
    # the variance of 40000 replicates has a relative standard error of sqrt(2 / 40000) = 0.7%
    assert drawn == pytest.approx(expected, rel=0.05)


def test_correlated_items_widen_the_interval_over_their_units() -> None:
    rng = np.random.default_rng(5)
    per_clip = rng.random(40) < 0.5
    values = np.repeat(per_clip, 10).astype(float)  # ten segments that always agree with their clip
    units = np.repeat(np.arange(40), 10)
    low, high = compute_bootstrap_ci(values, units=units)
    item_low, item_high = compute_bootstrap_ci(values)
    assert high - low > 2.5 * (item_high - item_low)  # sqrt(10) wider in expectation


def test_set_replicates_share_the_draws_of_the_mean_replicates() -> None:
    values = np.random.default_rng(6).random(25)
    as_set = compute_set_replicates(lambda rows: float(values[rows].mean()), 25, 500, seed=9)
    # same resamples, two ways of averaging 25 float64 values
    assert np.allclose(as_set, compute_mean_replicates(values, None, 500, seed=9), rtol=1e-12)
    assert (bootstrap_indices(25, 500, 9) == np.random.default_rng(9).integers(0, 25, (500, 25))).all()


def test_percentile_interval_is_not_centred_on_the_estimate() -> None:
    """A statistic biased under resampling keeps its bias in the interval (the max of a sample)."""
    values = np.arange(10.0)
    replicates = compute_set_replicates(lambda rows: float(values[rows].max()), 10, 2000, seed=0)
    low, high = compute_percentile_interval(replicates)
    assert high == 9.0 and low < 9.0 and (low, high) == tuple(np.quantile(replicates, [0.025, 0.975]))


def test_paired_difference_is_the_bootstrap_of_the_differences() -> None:
    rng = np.random.default_rng(8)
    base = rng.random(60)
    first, second = base + 0.05 + 0.01 * rng.standard_normal(60), base
    result = compute_paired_difference(first, second, seed=1)
    low, high = compute_bootstrap_ci(first - second, seed=1)
    assert result.difference == pytest.approx(np.mean(first - second), rel=1e-12)  # two sums of 60 terms
    assert (result.low, result.high) == pytest.approx((low, high), rel=1e-12)
    assert result.significant and result.low > 0
    unpaired = compute_bootstrap_ci(first, seed=1)[1] - compute_bootstrap_ci(first, seed=1)[0]
    assert result.high - result.low < unpaired / 5  # pairing removes the shared clip variation


def test_av_gain_equals_a_second_implementation() -> None:
    rng = np.random.default_rng(10)
    av, audio, video = (rng.random(30) < p for p in (0.8, 0.6, 0.5))
    units = np.repeat(np.arange(10), 3)
    gain = compute_av_gain(av, audio, video, scale=100.0, num_resamples=400, seed=2, units=units)
    reps = [_naive_replicates(v.astype(float), units, 400, 2) for v in (av, audio, video)]
    expected = np.quantile(reps[0] - np.maximum(reps[1], reps[2]), [0.025, 0.975]) * 100
    assert gain.difference == pytest.approx(100 * (av.mean() - max(audio.mean(), video.mean())), rel=1e-12)
    assert (gain.low, gain.high) == pytest.approx(tuple(expected), rel=1e-9)  # same draws, summed otherwise


def test_comparison_marks_an_interval_that_touches_zero_as_not_significant() -> None:
    touching = np.r_[np.zeros(10), np.full(90, 0.2)]  # the 2.5% quantile is exactly 0
    assert not Comparison.from_replicates(0.1, touching).significant
    assert Comparison.from_replicates(-0.1, [-0.2, -0.1, -0.05]).significant
    assert Comparison.from_replicates(0.1, [0.05, 0.1, 0.2]).to_dict()["significant"] is True


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: compute_mean_replicates([1.0, 2.0], [0]), "one label per value"),
        (lambda: compute_paired_difference([1.0], [1.0, 2.0]), "same items"),
        (lambda: compute_percentile_interval([np.nan, 1.0]), "not finite"),
        (lambda: bootstrap_indices(0), "at least one unit"),
    ],
)
def test_bad_input_is_a_usage_error(call, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        call()
