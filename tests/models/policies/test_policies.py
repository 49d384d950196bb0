"""Navigation policies: the registry, the heuristic's rules, the learned network's interface and weights."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.errors import UnknownNameError
from avikit.eval.embodied import run_episodes
from avikit.metrics.navigation import evaluate_navigation
from avikit.models.policies import POLICIES, get_policy
from avikit.models.policies.heuristic import HeuristicPolicy, ear_levels
from avikit.models.policies.learned import FEATURE_DIM, observation_features


def test_ear_levels_in_db() -> None:
    audio = np.zeros((1, 2, 1000), np.float32)
    audio[0, 0] = 1.0
    audio[0, 1] = 0.1
    np.testing.assert_allclose(ear_levels(audio), [[0.0, -20.0]], atol=1e-9)


def test_heuristic_turns_towards_the_louder_ear_stops_when_loud_and_walks_when_centred() -> None:
    policy = HeuristicPolicy()
    rgb = np.zeros((3, 24, 32, 3), np.uint8)
    rgb[:] = (90, 84, 78)  # the floor's grey: nothing underfoot
    audio = np.full((3, 2, 1000), 0.01, np.float32)
    audio[0, 0], audio[0, 1] = 0.0025, 0.05  # right louder by 26 dB
    audio[1] = 0.9  # as loud as at the goal
    assert policy.act({"audio": audio, "rgb": rgb}, {}, np.ones(3, bool)).tolist() == [3, 0, 1]


def test_the_heuristic_beats_random_and_the_oracle_is_perfect_on_audiogoal() -> None:
    scores = {
        name: evaluate_navigation(run_episodes("audiogoal", get_policy(name), 12, split="val")[0])
        for name in ("random", "heuristic", "oracle")
    }
    assert scores["oracle"]["spl"] == 1.0
    assert scores["heuristic"]["success"] > scores["random"]["success"] + 0.3


def test_features_have_the_documented_length_and_see_interaural_differences() -> None:
    audio = np.random.default_rng(0).standard_normal((2, 2, 1000)).astype(np.float32)
    audio[1, 0] *= 0.1
    x = observation_features({"audio": audio, "rgb": np.zeros((2, 24, 32, 3), np.uint8)}, np.array([-1, 2]))
    assert x.shape == (2, FEATURE_DIM)
    assert x[1, 2] > x[0, 2] + 0.2  # the ILD feature: right ear 20 dB louder in room 1
    assert x[1, -4:].tolist() == [0, 0, 1, 0] and not x[0, -4:].any()


@pytest.mark.parametrize("task", ["audiogoal", "semantic", "follow"])
def test_the_packaged_learned_policies_load_and_act(task: str) -> None:
    policy = get_policy(f"learned-{task}")
    assert policy.weights_hash != "untrained" and len(policy.weights_hash) == 16
    outcomes, _ = run_episodes(task, policy, 4, split="val")
    assert len(outcomes) == 4


def test_unknown_policy_names_list_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="heuristic"):
        get_policy("clever")
    assert "learned-audiogoal" in POLICIES
