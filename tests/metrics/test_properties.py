"""Property tests (hypothesis) of the metric invariants, and consistency of sharded and one-shot scoring."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from avikit.metrics import (
    compute_ave_accuracy,
    compute_ave_accuracy_statistics,
    compute_avqa_scores,
    compute_avqa_statistics,
    compute_avs_binary_scores,
    compute_avs_binary_statistics,
    compute_avs_semantic_scores,
    compute_avs_semantic_statistics,
    compute_avvp_scores,
    compute_avvp_statistics,
    compute_bootstrap_ci,
    compute_detection_scores,
    compute_detection_statistics,
    compute_localization_scores,
    compute_localization_statistics,
    compute_sync_scores,
    compute_sync_statistics,
    evaluate_avs_binary,
    evaluate_avvp,
    evaluate_classification_accuracy,
    evaluate_multilabel_map,
    evaluate_retrieval,
    evaluate_unav_detection,
    merge_statistics,
)
from avikit.metrics.avvp import _event_counts, _event_counts_direct

binary_llp = arrays(
    np.int64, st.tuples(st.integers(1, 6), st.just(4), st.just(10)), elements=st.integers(0, 1)
)


@settings(max_examples=40, deadline=None)
@given(binary_llp, st.data())
def test_avvp_range_perfect_and_permutation(truth, data):
    visual = data.draw(arrays(np.int64, truth.shape, elements=st.integers(0, 1)))
    pred = data.draw(arrays(np.int64, truth.shape, elements=st.integers(0, 1)))
    scores = evaluate_avvp(pred, pred, truth, visual)
    assert all(0.0 <= value <= 100.0 for value in scores.values())
    perfect = evaluate_avvp(truth, visual, truth, visual)
    assert all(value == 100.0 for value in perfect.values())
    order = np.arange(len(truth))[::-1]
    permuted = evaluate_avvp(pred[order], pred[order], truth[order], visual[order])
    # float64 sums of <= 100 percentages reordered: ~1e-12
    assert permuted == pytest.approx(scores, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.int64, st.tuples(st.integers(1, 40), st.integers(11, 13)), elements=st.integers(0, 1)),
    st.data(),
)
def test_event_counts_lookup_and_direct_agree(pred, data):
    truth = data.draw(arrays(np.int64, pred.shape, elements=st.integers(0, 1)))
    direct = _event_counts_direct(pred, truth)
    short = _event_counts(pred[:, :10], truth[:, :10])
    direct_short = _event_counts_direct(pred[:, :10], truth[:, :10])
    assert all(np.array_equal(a, b) for a, b in zip(short, direct_short, strict=True))
    assert all((count >= 0).all() for count in direct)


def _shard_agreement(compute_statistics, compute_scores, arguments, split, **score_kwargs):
    whole = compute_scores(compute_statistics(*arguments), **score_kwargs)
    parts = [
        compute_statistics(*[a[:split] for a in arguments]),
        compute_statistics(*[a[split:] for a in arguments]),
    ]
    assert compute_scores(merge_statistics(parts), **score_kwargs) == whole


def test_sharded_and_one_shot_agree():
    rng = np.random.default_rng(0)
    llp = [(rng.random((30, 25, 10)) < 0.1).astype(int) for _ in range(4)]
    _shard_agreement(compute_avvp_statistics, compute_avvp_scores, llp, 13)
    ave = [rng.normal(size=(20, 10, 29)), rng.integers(0, 29, (20, 10))]
    _shard_agreement(compute_ave_accuracy_statistics, compute_ave_accuracy, ave, 7)
    masks = (rng.random((8, 5, 16, 16)) < 0.3).astype(int)
    avs = [rng.normal(size=masks.shape), masks]
    _shard_agreement(compute_avs_binary_statistics, compute_avs_binary_scores, avs, 4, batch_size=4)
    labels = rng.integers(0, 5, (4, 3, 8, 8))
    _shard_agreement(compute_avs_semantic_statistics, compute_avs_semantic_scores, [labels, labels], 2)
    sync = [rng.normal(size=(50, 21)), rng.integers(0, 21, 50)]
    _shard_agreement(compute_sync_statistics, compute_sync_scores, sync, 20)
    heat = [rng.random((6, 16, 16)), (rng.random((6, 16, 16)) < 0.4).astype(float)]
    _shard_agreement(compute_localization_statistics, compute_localization_scores, heat, 3)


def test_sharded_avqa_and_detection_agree():
    rng = np.random.default_rng(1)
    kinds = [("Audio", "Counting"), ("Visual", "Location"), ("Audio-Visual", "Temporal")] * 10
    logits, labels = rng.normal(size=(30, 5)), rng.integers(0, 5, 30)
    whole = compute_avqa_scores(compute_avqa_statistics(logits, labels, kinds))
    parts = [
        compute_avqa_statistics(logits[:11], labels[:11], kinds[:11]),
        compute_avqa_statistics(logits[11:], labels[11:], kinds[11:]),
    ]
    # integer counts
    assert compute_avqa_scores(merge_statistics(parts)) == pytest.approx(whole, abs=0, nan_ok=True)
    videos = np.repeat(np.arange(10), 3)
    gt = (videos, np.c_[np.arange(30) % 7, np.arange(30) % 7 + 3.0], np.arange(30) % 3)
    pred = (videos, gt[1] + rng.normal(0, 0.5, (30, 2)), gt[2], rng.random(30))
    whole_map = compute_detection_scores(compute_detection_statistics(*gt, *pred))
    first, second = videos < 5, videos >= 5
    parts = [
        compute_detection_statistics(*[a[m] for a in gt], *[a[m] for a in pred]) for m in (first, second)
    ]
    # float64 AP sums, other order: ~1e-15
    assert compute_detection_scores(merge_statistics(parts)) == pytest.approx(whole_map, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 12), st.integers(2, 12)).map(lambda s: (s[0], s[0])),
        elements=st.floats(-5, 5, allow_nan=False),
    )
)
def test_retrieval_range_and_policies(similarity):
    official = evaluate_retrieval(similarity)
    optimistic = evaluate_retrieval(similarity, ties="optimistic")
    pessimistic = evaluate_retrieval(similarity, ties="pessimistic")
    n = len(similarity)
    for key, value in official.items():
        if key.endswith("rank"):
            assert 1 <= value <= n
            assert optimistic[key] <= pessimistic[key]
        else:
            assert 0 <= value <= 1
            assert optimistic[key] >= pessimistic[key]
    perfect = evaluate_retrieval(np.eye(n) + 0.0)
    assert perfect["audio_to_video_r1"] == 1.0 and perfect["video_to_audio_median_rank"] == 1.0
    order = np.random.default_rng(0).permutation(n)
    assert evaluate_retrieval(similarity[order][:, order]) == pytest.approx(official)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(2, 6), st.data())
def test_classification_invariants(num_samples, num_classes, data):
    scores = data.draw(arrays(np.float64, (num_samples, num_classes), elements=st.floats(0, 1)))
    labels = data.draw(arrays(np.int64, num_samples, elements=st.integers(0, num_classes - 1)))
    accuracy = evaluate_classification_accuracy(scores, labels, top_k=(1, num_classes))
    assert 0 <= accuracy["top1_accuracy"] <= accuracy[f"top{num_classes}_accuracy"] == 1.0
    one_hot = np.eye(num_classes)[labels]
    assert evaluate_classification_accuracy(one_hot, labels, top_k=(1,))["top1_accuracy"] == 1.0
    targets = one_hot.astype(int)
    assert 0 <= evaluate_multilabel_map(scores, targets) <= 1


def test_perfect_predictions_reach_the_maximum():
    rng = np.random.default_rng(2)
    masks = (rng.random((3, 5, 12, 12)) < 0.3).astype(int)
    assert evaluate_avs_binary(np.where(masks == 1, 8.0, -8.0), masks) == {"miou": 1.0, "f_score": 1.0}
    videos, segments, labels = np.arange(6), np.c_[np.zeros(6), np.arange(1, 7.0)], np.arange(6) % 2
    scores = evaluate_unav_detection(videos, segments, labels, videos, segments, labels, np.ones(6))
    assert all(value == 1.0 for value in scores.values())


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = np.random.default_rng(3).random(500)
    assert compute_bootstrap_ci(values, seed=1) == compute_bootstrap_ci(values, seed=1)
    low, high = compute_bootstrap_ci(values, seed=1)
    assert low < values.mean() < high
    assert compute_bootstrap_ci(values, seed=1, scale=100) == pytest.approx((100 * low, 100 * high))
