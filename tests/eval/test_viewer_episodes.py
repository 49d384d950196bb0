"""The episode viewer's steps: a hand-made agent trace, and embodied replays checked by the reward's closed form."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.errors import DataError
from avikit.eval.embodied import run_episodes
from avikit.eval.viewer_episodes import ACTION_NAMES, _agent_sample, agent_steps, replay_episode
from avikit.models.policies import get_policy

TRACE = {
    "steps": [
        {
            "tool": "class_info",
            "arguments": {"label": "dog"},
            "seconds": 0.25,
            "reflection": "a bark",
            "result": {"ok": True, "result": {"band_hz": [300.0, 900.0]}, "seconds": 0.25},
        },
        {
            "tool": "band_levels",
            "arguments": {"clip": "nope"},
            "seconds": 0.5,
            "reflection": "",
            "result": {
                "ok": False,
                "error": {"type": "tool_error", "message": "no clip 'nope'"},
                "seconds": 0.5,
            },
        },
    ]
}


def test_agent_steps_by_hand() -> None:
    assert agent_steps(TRACE) == [
        {
            "index": 0,
            "start": None,
            "end": None,
            "observation": "",
            "action": "class_info",
            "arguments": '{"label": "dog"}',
            "result": '{"band_hz": [300.0, 900.0]}',
            "ok": True,
            "reward": None,
            "seconds": 0.25,
            "note": "a bark",
        },
        {
            "index": 1,
            "start": None,
            "end": None,
            "observation": "",
            "action": "band_levels",
            "arguments": '{"clip": "nope"}',
            "result": "tool_error: no clip 'nope'",
            "ok": False,
            "reward": None,
            "seconds": 0.5,
            "note": "",
        },
    ]


@pytest.fixture(scope="module")
def played() -> list[dict]:
    _, oracle = run_episodes("audiogoal", get_policy("oracle"), episodes=2, num_envs=2)
    _, rand = run_episodes("audiogoal", get_policy("random"), episodes=2, num_envs=2)
    return oracle + rand


def test_a_replay_reproduces_the_recorded_episode(played: list[dict]) -> None:
    for trace in played:
        steps, clip, outcome = replay_episode("audiogoal", trace["episode"], trace["actions"])
        assert {k: trace[k] for k in outcome} == outcome
        n = len(trace["actions"])
        assert [s["action"] for s in steps] == [ACTION_NAMES[a] for a in trace["actions"]]
        # SoundSpaces' reward telescopes for a fixed goal: distance gained - 0.01 a step + 10 for success
        closed = outcome["start_distance"] - outcome["final_distance"] - 0.01 * n + 10 * outcome["success"]
        assert sum(s["reward"] for s in steps) == pytest.approx(closed, abs=1e-9 * n)  # float sums only
        assert [(s["start"], s["end"]) for s in steps] == [(k / 16, (k + 1) / 16) for k in range(n)]
        assert clip.waveform.shape == (2, 1000 * n) and clip.frames.shape[0] == n  # 1000 samples per step
        assert clip.fps == 16 and clip.sample_rate == 16000


def test_a_deaf_replay_hears_nothing_and_a_wrong_trace_is_refused(played: list[dict]) -> None:
    trace = played[0]
    steps, clip, _ = replay_episode("audiogoal", trace["episode"], trace["actions"], control="deaf")
    assert not np.any(clip.waveform) and all(s["observation"].endswith("silent") for s in steps)
    with pytest.raises(DataError, match="ended after"):
        replay_episode("audiogoal", trace["episode"], [0, 0])
    with pytest.raises(DataError, match="without the episode ending"):
        replay_episode("audiogoal", trace["episode"], [2])


def test_an_agent_episode_without_an_answer_has_no_nan_scores() -> None:
    line = {"episode": "agent-when-sounds/test_000001", "truth": {"label": "dog", "onset": 2.0},
            "check": {"success": 0.0, "abs_error_s": float("nan")},
            "trace": {**TRACE, "prompt": "Find when the dog sounds.", "plan": [], "answer": None,
                      "termination": "budget", "rejected": [], "failure": None}}  # fmt: skip
    sample = _agent_sample(line, "key")
    assert sample["scores"] == {"success": 0.0, "abs_error_s": None, "steps": 2.0, "tool_seconds": 0.75}
    assert sample["lanes"] == [] and not sample["outcome"]["success"]
