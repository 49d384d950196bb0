"""SoundSpaces navigation measures against their closed forms (Anderson et al. 2018, habitat-lab)."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.metrics.navigation import compute_navigation_statistics, evaluate_navigation


def outcome(
    success: float, shortest: float, path: float, final: float, start: float, steps: float = 10.0
) -> dict:
    return {
        "success": success,
        "shortest": shortest,
        "path": path,
        "final_distance": final,
        "start_distance": start,
        "steps": steps,
    }


def test_spl_is_success_times_shortest_over_the_longer_of_path_and_shortest() -> None:
    rows = [outcome(1, 4, 8, 0, 4), outcome(1, 5, 5, 0, 5), outcome(0, 3, 2, 1, 3), outcome(1, 6, 3, 0, 6)]
    stats = compute_navigation_statistics(rows)
    # by hand: 4/8, 5/5, 0 (failed), 6/max(3, 6)
    np.testing.assert_allclose(stats["spl"], [0.5, 1.0, 0.0, 1.0])
    assert evaluate_navigation(rows)["spl"] == pytest.approx(0.625)


def test_soft_spl_rewards_progress_without_success() -> None:
    stats = compute_navigation_statistics([outcome(0, 4, 4, 1, 4)])
    # soft success 1 - 1/4 = 0.75, path ratio 4/4
    assert stats["soft_spl"][0] == pytest.approx(0.75)
    assert stats["normalized_distance_to_goal"][0] == pytest.approx(0.25)


def test_distances_are_reported_in_metres() -> None:
    assert evaluate_navigation([outcome(0, 4, 4, 3, 4)], cell_m=0.5)["distance_to_goal"] == pytest.approx(1.5)


def test_a_start_on_the_goal_counts_a_zero_length_path_as_optimal() -> None:
    stats = compute_navigation_statistics([outcome(1, 0, 0, 0, 0)])
    assert stats["spl"][0] == 1.0 and stats["normalized_distance_to_goal"][0] == 0.0


def test_a_moving_away_agent_has_no_negative_soft_spl() -> None:
    assert compute_navigation_statistics([outcome(0, 2, 9, 5, 2)])["soft_spl"][0] == 0.0


def test_bad_outcomes_are_rejected_with_the_missing_field() -> None:
    with pytest.raises(ValueError, match="lacks"):
        compute_navigation_statistics([{"success": 1}])
    with pytest.raises(ValueError, match="non-negative"):
        compute_navigation_statistics([outcome(1, -1, 2, 0, 1)])
