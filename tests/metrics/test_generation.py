"""Generation metrics: closed forms, a scipy reference, hand-computed values and av-benchmark golden values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import linalg

from avikit.metrics import compute_bootstrap_ci, merge_statistics
from avikit.metrics.generation import (
    SYNCHFORMER_GRID,
    FrechetDistanceError,
    compute_alignment_statistics,
    compute_desync_statistics,
    compute_frechet_contributions,
    compute_frechet_distance_infinity,
    compute_frechet_scores,
    compute_frechet_statistics,
    compute_inception_contributions,
    compute_kl_statistics,
    evaluate_alignment,
    evaluate_desync,
    evaluate_frechet_distance,
    evaluate_inception_score,
    evaluate_kl,
    frechet_distance,
)

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "generation" / "av_benchmark.json"


@pytest.fixture(scope="module")
def record():
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    data["arrays"] = {key: np.asarray(value, dtype=np.float32) for key, value in data["inputs"].items()}
    return data


def test_golden_file_records_its_origin(record):
    assert record["command"].startswith("python tools/golden/make_generation_golden.py")
    assert record["upstream"]["commit"].startswith("050a5cdb9b") and len(record["upstream"]["commit"]) == 40
    assert all("reason" in tolerance for tolerance in record["tolerances"].values())


def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    mean1, mean2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 1.0])
    expected = np.sum((mean1 - mean2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    distance, fallback = frechet_distance(mean1, np.diag(var1), mean2, np.diag(var2))
    # diagonal: exact square roots, float64 sums of 3 terms
    assert distance == pytest.approx(expected, rel=1e-12) and not fallback


def test_frechet_distance_matches_a_scipy_sqrtm_reference():
    rng = np.random.default_rng(1)
    first, second = rng.normal(size=(200, 6)), rng.normal(size=(150, 6)) @ rng.normal(size=(6, 6)) + 1
    s1, s2 = np.cov(first, rowvar=False), np.cov(second, rowvar=False)
    diff = first.mean(0) - second.mean(0)
    reference = diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real)
    # conditioning bound 2e-13 here
    assert evaluate_frechet_distance(first, second)["frechet_distance"] == pytest.approx(reference, rel=1e-10)
    eigh = evaluate_frechet_distance(first, second, on_failure="eigh")["frechet_distance"]
    # another algorithm; the same bound
    assert eigh == pytest.approx(reference, rel=1e-10)


UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2

# av-benchmark's own compute_fd on the same float32 inputs, run on another CPU (the golden file of commit
# ef17906): the last digits differ from this file's run, by less than the conditioning bound
OTHER_CPU = {"fd": 1.2292642483786977, "fd_swapped": 1.2292642483784668, "fd_small": 12.384036306261503}
FD_CASES = {
    "fd": ("fd_prediction", "fd_target"),
    "fd_swapped": ("fd_target", "fd_prediction"),
    "fd_small": ("fd_small_prediction", "fd_small_target"),
}


def frechet_rounding_bound(prediction: np.ndarray, target: np.ndarray) -> float:
    """How far two correct float64 Frechet distances of the same inputs can drift apart on different CPUs.

    First-order rounding model: ``np.cov`` (sums of N1 or N2 products, in a BLAS-dependent order), the
    product ``S1 S2`` (D terms) and the Schur-based ``sqrtm`` carry a normwise relative error of at most
    ``(N1 + N2 + D) u``, so the eigenvalues ``lam`` of ``S1 S2`` (those of ``sqrt(S1) S2 sqrt(S1)``) move by
    ``delta = (N1 + N2 + D) u ||S1|| ||S2||`` (Weyl). ``sqrt`` turns that into ``min(sqrt(delta),
    delta / (2 sqrt(lam)))`` per eigenvalue: ``delta / 2 sqrt(lam)`` when well separated from zero, but
    ``sqrt(delta)`` for a zero eigenvalue, which is why a rank-deficient case (fewer samples than
    dimensions) agrees only to about 1e-8. FD counts the root trace twice; the linear terms add
    ``(N1 + N2 + D) u`` of their size.
    """
    first, second = prediction.astype(np.float64), target.astype(np.float64)
    s1, s2 = np.cov(first, rowvar=False), np.cov(second, rowvar=False)
    scale = (len(first) + len(second) + s1.shape[0]) * UNIT_ROUNDOFF
    delta = scale * np.linalg.norm(s1, 2) * np.linalg.norm(s2, 2)
    root = linalg.sqrtm(s1).real
    lam = np.clip(np.linalg.eigvalsh(root @ s2 @ root), 0.0, None)
    per_eigenvalue = np.minimum(np.sqrt(delta), delta / (2 * np.sqrt(np.maximum(lam, delta))))
    diff = first.mean(0) - second.mean(0)
    return float(2 * per_eigenvalue.sum() + scale * (diff @ diff + np.trace(s1) + np.trace(s2)))


@pytest.mark.parametrize("case", sorted(FD_CASES))
def test_frechet_distance_reproduces_av_benchmark(record, case):
    arrays, official = record["arrays"], record["official"]
    assert record["tolerances"]["fd"]["bound"] == "conditioning"
    prediction, target = (arrays[name] for name in FD_CASES[case])
    ours = evaluate_frechet_distance(prediction, target)["frechet_distance"]
    bound = frechet_rounding_bound(prediction, target)
    # the bound is far below any definitional difference (ddof=0, the eps retry: >= 3e-7 relative here)
    assert bound < 1e-7 * official[case]
    assert abs(ours - official[case]) <= bound
    assert abs(OTHER_CPU[case] - official[case]) <= bound  # the official code itself, on two CPUs


def test_the_rounding_bound_separates_well_and_ill_conditioned_cases(record):
    arrays = record["arrays"]
    well = frechet_rounding_bound(arrays["fd_prediction"], arrays["fd_target"])
    singular = frechet_rounding_bound(arrays["fd_small_prediction"], arrays["fd_small_target"])
    assert well < 1e-9 < 1e-7 < singular  # 64/80 samples in 8 dimensions vs 5/6: S1 S2 has 4 zero eigenvalues
    rng = np.random.default_rng(0)
    noise = (1 + 1e-15 * rng.standard_normal(arrays["fd_small_target"].shape)).astype(np.float64)
    nudged = evaluate_frechet_distance(arrays["fd_small_prediction"], arrays["fd_small_target"] * noise)
    plain = evaluate_frechet_distance(arrays["fd_small_prediction"], arrays["fd_small_target"])
    assert (
        abs(nudged["frechet_distance"] - plain["frechet_distance"]) <= singular
    )  # a 1e-15 nudge stays inside


def test_a_failing_square_root_raises_or_uses_the_documented_fallback(monkeypatch):
    from avikit.metrics import generation

    monkeypatch.setattr(generation, "_sqrtm_trace", lambda product: (0.5, False))
    rng = np.random.default_rng(2)
    first, second = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    with pytest.raises(FrechetDistanceError, match="on_failure='eigh'"):
        evaluate_frechet_distance(first, second)
    scores = evaluate_frechet_distance(first, second, on_failure="eigh")
    assert scores["sqrtm_fallback"] == 1.0 and scores["frechet_distance"] >= 0


def test_sharded_frechet_statistics_give_the_one_shot_score():
    rng = np.random.default_rng(3)
    pred, target = rng.normal(size=(60, 4)), rng.normal(size=(40, 4)) + 0.5
    whole = compute_frechet_scores(compute_frechet_statistics(pred, target))
    shards = [
        compute_frechet_statistics(pred[:30], target[:25]),
        compute_frechet_statistics(pred[30:], target[25:]),
    ]
    # same rows, concatenated: identical arrays
    assert compute_frechet_scores(merge_statistics(shards)) == pytest.approx(whole, rel=1e-12)


def test_frechet_contributions_point_at_the_outlier():
    rng = np.random.default_rng(4)
    target = rng.normal(size=(100, 3))
    pred = rng.normal(size=(40, 3))
    pred[7] += 12.0
    contributions = compute_frechet_contributions(pred, target)
    assert contributions.shape == (40,) and int(np.argmax(contributions)) == 7 and contributions[7] > 0


def test_frechet_infinity_removes_the_small_sample_bias():
    rng = np.random.default_rng(5)
    pred, target = rng.normal(size=(400, 8)), rng.normal(size=(4000, 8))
    plain = evaluate_frechet_distance(pred, target)["frechet_distance"]
    extrapolated = compute_frechet_distance_infinity(pred, target, seed=0)
    assert extrapolated["slope"] > 0 and abs(extrapolated["frechet_distance_infinity"]) < plain


def test_kl_equals_a_hand_computed_value():
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.3, 0.3, 0.4])
    expected = float(np.sum(p * np.log(p / q)))
    # float64, 3 terms
    assert evaluate_kl([np.log(q)], [np.log(p)])["kl_softmax"] == pytest.approx(expected, rel=1e-12)
    sp, sq = 1 / (1 + np.exp(-np.log(p))), 1 / (1 + np.exp(-np.log(q)))
    assert evaluate_kl([np.log(q)], [np.log(p)])["kl_sigmoid"] == pytest.approx(np.sum(sp * np.log(sp / sq)))


def test_kl_reproduces_av_benchmark(record):
    arrays, official = record["arrays"], record["official"]["kl"]
    scores = evaluate_kl(arrays["kl_prediction"], arrays["kl_target"])
    tol = record["tolerances"]["kl"]["rel"]
    assert scores["kl_softmax"] == pytest.approx(official["kl_softmax"], rel=tol)
    assert scores["kl_sigmoid"] == pytest.approx(official["kl_sigmoid"], rel=tol)
    per_pair = compute_kl_statistics(arrays["kl_prediction"], arrays["kl_target"])["kl_softmax"]
    low, high = compute_bootstrap_ci(per_pair, seed=0)
    assert low < scores["kl_softmax"] < high


def test_inception_score_equals_hand_computed_values():
    assert evaluate_inception_score(np.eye(5) * 60, splits=1)["inception_score_mean"] == pytest.approx(5.0)
    assert evaluate_inception_score(np.zeros((20, 5)), splits=2)["inception_score_mean"] == pytest.approx(1.0)
    logits = np.log(np.array([[0.5, 0.5], [1.0, 1e-300]]))
    q = np.array([0.75, 0.25])
    expected = math.exp(0.5 * (0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25) + math.log(1 / 0.75)))
    assert evaluate_inception_score(logits, splits=1)["inception_score_mean"] == pytest.approx(expected)
    assert q.sum() == 1.0


def test_inception_score_reproduces_av_benchmark(record):
    arrays, official, tol = record["arrays"], record["official"], record["tolerances"]["is"]["rel"]
    assert evaluate_inception_score(arrays["is_logits"]) == pytest.approx(official["is"], rel=tol)
    few = evaluate_inception_score(arrays["is_logits_few"])
    assert official["is_few"]["inception_score_mean"] is None and math.isnan(few["inception_score_mean"])
    contributions = compute_inception_contributions(arrays["is_logits"])
    assert contributions.shape == (57,) and np.all(contributions >= -1e-12)


def test_alignment_score_units_and_golden(record):
    arrays, official = record["arrays"], record["official"]["ib_score"]
    raw = evaluate_alignment(arrays["ib_video"], arrays["ib_audio"])["alignment"]
    assert raw == pytest.approx(official, abs=record["tolerances"]["ib_score"]["abs"])
    assert evaluate_alignment(arrays["ib_video"], arrays["ib_audio"], scale=100)[
        "alignment"
    ] == pytest.approx(raw * 100)
    cosine = compute_alignment_statistics([[3.0, 4.0]], [[4.0, 3.0]])["cosine"]
    assert cosine[0] == pytest.approx(24 / 25)


def test_desync_reproduces_av_benchmark(record):
    arrays, official = record["arrays"], record["official"]
    assert SYNCHFORMER_GRID.tolist() == official["sync_grid"]
    assert evaluate_desync(arrays["sync_logits"])["desync"] == official["desync"]
    per_clip = compute_desync_statistics(arrays["sync_logits"])["desync"]
    assert per_clip.shape == (12,)


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="dims"):
        evaluate_frechet_distance(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="classes"):
        evaluate_desync(np.zeros((2, 2, 5)))
    with pytest.raises(ValueError, match="shape"):
        evaluate_kl(np.zeros((2, 3)), np.zeros((3, 3)))
