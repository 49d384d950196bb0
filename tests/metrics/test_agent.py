"""Tool-use measures against hand-counted cases (m&m's definitions) and tau-bench's pass^k closed form."""

from __future__ import annotations

from itertools import permutations
from math import comb

import pytest

from avikit.metrics.agent import (
    best_plan,
    compute_pass_hat_k,
    compute_plan_statistics,
    evaluate_plans,
    normalized_edit_distance,
)


def levenshtein_by_search(a: list[str], b: list[str]) -> int:
    """A second implementation: the textbook full dynamic-programming table."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        for j in range(len(b) + 1):
            if i == 0 or j == 0:
                table[i][j] = i + j
            else:
                table[i][j] = min(
                    table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] != b[j - 1])
                )
    return table[-1][-1]


@pytest.mark.parametrize("a", [list(p) for p in permutations("abc", 3)] + [[], ["a"], ["x", "y"]])
def test_edit_distance_equals_the_full_table(a: list[str]) -> None:
    b = ["a", "c", "d", "b"]
    assert normalized_edit_distance(a, b) == levenshtein_by_search(a, b) / max(len(a), len(b))


def test_perfect_plan_scores_one_and_empty_plans_agree() -> None:
    gold = [("parse_events", {"clip": "input"}), ("audio_level", {"clip": "input", "start": None})]
    scores = evaluate_plans([gold], [[gold]])
    assert scores == {
        "tool_macro_f1": 1.0,
        "argument_name_f1": 1.0,
        "argument_value_f1": 1.0,
        "edge_f1": 1.0,
        "plan_edit_distance": 0.0,
    }
    assert evaluate_plans([[]], [[[]]])["tool_macro_f1"] == 1.0


def test_counts_by_hand() -> None:
    gold = [("a", {"clip": "input"}), ("b", {"clip": "input", "x": 1.0}), ("c", {})]
    pred = [("a", {"clip": "input"}), ("c", {}), ("d", {"clip": "input"})]
    stats = compute_plan_statistics([pred], [[gold]])
    # tools: a tp1, b fn1, c tp1, d fp1 -> F1 per tool 1, 0, 1, 0 -> macro 0.5
    # edges: pred (S,a),(a,c),(c,d); gold (S,a),(a,b),(b,c) -> 1 matched of 3 and 3 -> F1 = 1/3
    # names: pred args 1 (a) + 0 (c) + 1 (d) = 2; gold 1 + 2 + 0 = 3; matched a.clip = 1 -> F1 = 2/5
    scores = evaluate_plans([pred], [[gold]])
    assert scores["tool_macro_f1"] == pytest.approx(0.5)
    assert scores["edge_f1"] == pytest.approx(1 / 3)
    assert evaluate_plans([[]], [[[("a", {})]]])["edge_f1"] == 0.0  # no call is not the one-call plan
    assert scores["argument_name_f1"] == pytest.approx(2 * 1 / (2 + 3))
    assert scores["argument_value_f1"] == pytest.approx(2 * 1 / (2 + 3))
    assert stats["edit_distance"][0] == pytest.approx(2 / 3)


def test_wildcard_values_count_for_names_only() -> None:
    gold = [("band_stop", {"clip": "input", "low_hz": None})]
    pred = [("band_stop", {"clip": "input", "low_hz": 500.0})]
    scores = evaluate_plans([pred], [[gold]])
    assert scores["argument_name_f1"] == 1.0 and scores["argument_value_f1"] == 1.0


def test_the_closest_alternative_plan_is_used() -> None:
    plans = [[("x", {})], [("a", {}), ("b", {})]]
    assert best_plan([("a", {}), ("b", {})], plans) == plans[1]
    assert evaluate_plans([[("a", {}), ("b", {})]], [plans])["plan_edit_distance"] == 0.0


@pytest.mark.parametrize("n,c,k", [(4, 2, 2), (8, 6, 3), (5, 5, 5), (3, 0, 1), (6, 4, 1)])
def test_pass_hat_k_is_the_binomial_ratio(n: int, c: int, k: int) -> None:
    trials = [1] * c + [0] * (n - c)
    assert compute_pass_hat_k([trials], k) == pytest.approx(comb(c, k) / comb(n, k))
    if k == 1:
        assert compute_pass_hat_k([trials], 1) == pytest.approx(c / n)  # pass^1 is the success rate


def test_pass_hat_k_needs_k_trials() -> None:
    with pytest.raises(ValueError, match="at least 3 trials"):
        compute_pass_hat_k([[1, 1]], 3)
