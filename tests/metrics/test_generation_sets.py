"""Set metrics of the generation bench: equal to the metrics, replicates over clips, paired comparisons."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.metrics import bootstrap_indices, compute_bootstrap_ci
from avikit.metrics.generation import (
    compute_frechet_bootstrap_ci,
    compute_frechet_replicates,
    evaluate_frechet_distance,
    evaluate_inception_score,
    reduce_to_span,
)
from avikit.metrics.generation_sets import compare_set_scores, compute_set_metrics, mean_score


def _features(rng: np.random.Generator, count: int, shift: float) -> dict[str, np.ndarray]:
    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    real, generated = unit(rng.normal(size=(count, 64))), unit(rng.normal(size=(count, 64)) + shift)
    logits = rng.normal(size=(count, 27)) * 3
    return {"audio": generated, "real_audio": real, "video": generated[::-1], "real_video": real,
            "logits": logits + shift, "real_logits": logits, "pair_video": real, "pair_audio": generated,
            "sync": rng.normal(size=(count, 2, 21))}  # fmt: skip


def test_set_metrics_match_the_metrics_and_their_contributions() -> None:
    rng = np.random.default_rng(0)
    features = _features(rng, 8, 0.3)
    out = compute_set_metrics(features, ("audio", "video"), seed=0, num_resamples=200)
    direct = evaluate_frechet_distance(features["audio"], features["real_audio"], on_failure="eigh")
    # 8 clips in 64 dims: the product is singular, both roots go through eigh; 1e-6 covers its rounding
    assert out["fd_audio"].score == pytest.approx(direct["frechet_distance"], rel=1e-6)
    inception = evaluate_inception_score(features["logits"], splits=1)["inception_score_mean"]
    assert out["inception_score"].score == pytest.approx(inception, rel=1e-12)  # the same computation
    for metric, value in out.items():
        assert value.per_clip.shape == (8,) and value.replicates.shape == (200,), metric
    generated, real = features["audio"], features["real_audio"]
    for index in (0, 5):  # FD's per-clip values are leave-one-out contributions
        loo = evaluate_frechet_distance(np.delete(generated, index, 0), real, on_failure="eigh")
        # differences of two eigh-root FDs of about 1: absolute rounding about 1e-12
        assert out["fd_audio"].per_clip[index] == pytest.approx(
            direct["frechet_distance"] - loo["frechet_distance"], rel=1e-5, abs=1e-8
        )
    same = {**features, "audio": features["real_audio"], "logits": features["real_logits"]}
    oracle = compute_set_metrics(same, ("audio",), seed=0, num_resamples=50)
    assert oracle["fd_audio"].score == pytest.approx(0.0, abs=1e-9) and oracle["kl"].interval() == (0.0, 0.0)


def _fd_by_eigenvalues(generated: np.ndarray, real: np.ndarray) -> float:
    """FD with tr sqrt(S1 S2) as the sum of square roots of the eigenvalues of S1 S2 (general eigensolver)."""
    s1, s2 = np.cov(generated, rowvar=False), np.cov(real, rowvar=False)
    diff = generated.mean(0) - real.mean(0)
    eigenvalues = np.linalg.eigvals(s1 @ s2).real.clip(0)
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eigenvalues).sum())


def test_frechet_replicates_recompute_fd_on_the_resampled_clip_pairs() -> None:
    """A second implementation: FD of the chosen rows in the original 64 dims, by another eigensolver."""
    rng = np.random.default_rng(1)
    features = _features(rng, 10, 0.2)
    generated, real = features["audio"], features["real_audio"]
    replicates = compute_frechet_replicates(generated, real, num_resamples=20, seed=3)
    by_hand = [_fd_by_eigenvalues(generated[rows], real[rows]) for rows in bootstrap_indices(10, 20, 3)]
    # 54 of the 64 eigenvalues of the singular product are 0 up to about 1e-15, whose square roots add up to
    # about 1e-6 absolute in the by-hand value; FD is about 1
    assert replicates == pytest.approx(by_hand, rel=1e-5)
    low, high = compute_frechet_bootstrap_ci(generated, real, num_resamples=20, seed=3)
    # the percentile interval of the same replicates; stacked eigen-decompositions may round the last bit
    # differently from run to run (memory alignment picks the vector path)
    assert (low, high) == pytest.approx(tuple(np.quantile(replicates, [0.025, 0.975])), rel=1e-12)


def test_frechet_bootstrap_interval_covers_the_score_of_a_large_set() -> None:
    rng = np.random.default_rng(6)
    pred, target = rng.normal(size=(80, 3)) + 1, rng.normal(size=(80, 3))
    low, high = compute_frechet_bootstrap_ci(pred, target, num_resamples=200)
    assert low < evaluate_frechet_distance(pred, target)["frechet_distance"] < high
    assert compute_frechet_bootstrap_ci(pred, target, num_resamples=200) == (low, high)


def test_span_keeps_every_pairwise_distance() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 64)), rng.normal(size=(6, 64))
    pa, pb = reduce_to_span(a, b)
    assert pa.shape[1] <= 11
    rows, projected = np.concatenate([a, b]), np.concatenate([pa, pb])
    distances = np.linalg.norm(rows[:, None] - rows[None], axis=-1)
    # an orthonormal change of basis: distances of order 1 keep about 1e-14
    assert np.allclose(distances, np.linalg.norm(projected[:, None] - projected[None], axis=-1), atol=1e-10)


def test_mean_scores_share_the_runner_interval_and_compare_paired() -> None:
    values = np.random.default_rng(2).random(16)
    score = mean_score(values, seed=0)
    assert score.interval() == pytest.approx(compute_bootstrap_ci(values, seed=0), rel=1e-12)  # same draws
    better = mean_score(values + 0.1, seed=0)
    result = compare_set_scores(better, score)
    # the paired difference is exactly 0.1 in every resample
    assert result.difference == pytest.approx(0.1) and (result.low, result.high) == pytest.approx((0.1, 0.1))
    lower_better = compare_set_scores(score, better, higher_is_better=False)
    assert lower_better.difference == pytest.approx(0.1) and lower_better.significant


def test_inception_replicates_recompute_the_score_on_each_resample() -> None:
    logits = np.random.default_rng(3).normal(size=(9, 27)) * 2
    features = {"pair_video": np.eye(9), "pair_audio": np.eye(9), "sync": np.zeros((9, 2, 21)),
                "audio": np.eye(9), "real_audio": np.eye(9)[::-1], "logits": logits, "real_logits": logits}  # fmt: skip
    replicates = compute_set_metrics(features, ("audio",), seed=4, num_resamples=30)[
        "inception_score"
    ].replicates
    by_hand = [evaluate_inception_score(logits[rows], splits=1)["inception_score_mean"]
               for rows in bootstrap_indices(9, 30, 4)]  # fmt: skip
    # stacked instead of per resample: the same terms summed in another order
    assert replicates == pytest.approx(by_hand, rel=1e-12)
