"""The embodied harness: seeded episodes, traces, the leaderboard files, modality controls."""

from __future__ import annotations

import json

from avikit.eval.embodied import compare_policies, measure_steps_per_second, run_embodied, run_episodes
from avikit.models.policies import get_policy


def test_episodes_are_reproducible_and_traces_match_outcomes() -> None:
    a, traces = run_episodes("audiogoal", get_policy("heuristic"), 5, num_envs=2)
    b, _ = run_episodes("audiogoal", get_policy("heuristic"), 5, num_envs=5)
    assert a == b  # the same episodes whatever the batch size
    for outcome, trace in zip(a, traces, strict=True):
        assert len(trace["actions"]) == outcome["steps"]
        assert (trace["actions"][-1] == 0) == bool(outcome["stopped"])


def test_run_embodied_writes_results_with_controls(tmp_path) -> None:
    result = run_embodied(
        "follow", ["oracle"], tmp_path, episodes=3, controls=("none", "deaf"), speed_steps=2
    )
    rows = result["rows"]
    assert [r["control"] for r in rows] == ["none", "deaf"] and rows[0]["scores"]["success"] == 1.0
    assert json.loads((tmp_path / "results.json").read_text())["simulator_steps_per_second"] > 0
    assert len((tmp_path / "traces.jsonl").read_text().splitlines()) == 6
    assert measure_steps_per_second("audiogoal", num_envs=4, steps=5) > 0
    same = compare_policies(tmp_path, "oracle", "oracle", metric="success")
    assert same["mean"] == 0.0 and same["episodes"] == 3
