"""The simulator and its gymnasium environments: rules of motion, oracle optimality, seeding, batching."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from avikit.envs import NavBatch, sample_episode
from avikit.envs.gym import AVNavEnv, AVNavVectorEnv
from avikit.envs.render import VIEW_HEIGHT


def test_the_environment_passes_gymnasiums_checker() -> None:
    check_env(AVNavEnv("audiogoal"), skip_render_check=True)


@pytest.mark.parametrize("task", ["audiogoal", "semantic"])
def test_the_oracle_succeeds_on_shortest_paths(task: str) -> None:
    env = AVNavEnv(task, split="test")
    for index in range(5):
        _, info = env.reset(seed=0, options={"index": index})
        start = info["distance"]
        for _ in range(100):
            _, _, terminated, truncated, info = env.step(info["oracle_action"])
            if terminated or truncated:
                break
        outcome = info["outcome"]
        assert outcome["success"] == 1.0 and outcome["path"] == outcome["shortest"] == start


def test_moves_turns_walls_and_the_step_cap() -> None:
    sim = NavBatch("audiogoal", 1)
    sim.load(0, sample_episode("audiogoal", "test", 0))
    *_, h = sample_episode("audiogoal", "test", 0).start
    sim.step(np.array([2]))
    assert sim.heading[0] == (h + 1) % 4
    sim.step(np.array([3]))
    sim.step(np.array([3]))
    assert sim.heading[0] == (h + 3) % 4
    for _ in range(20):  # walking into the outer wall eventually stops the agent
        sim.step(np.array([1]))
    ahead = sim.pos[0] + np.array([[1, 0], [0, -1], [-1, 0], [0, 1]])[sim.heading[0]]
    assert sim.walls[0, ahead[1], ahead[0]]
    _, terminated, truncated = sim.step(np.array([1]))
    assert not terminated[0] and not truncated[0]
    while not truncated[0]:
        _, terminated, truncated = sim.step(np.array([2]))
    assert sim.steps[0] == 100


def test_observations_are_deterministic_and_controls_blank_a_modality() -> None:
    a, b = AVNavEnv("audiogoal"), AVNavEnv("audiogoal", control="deaf")
    obs_a, _ = a.reset(seed=3)
    obs_b, _ = b.reset(seed=3)
    again, _ = AVNavEnv("audiogoal").reset(seed=3)
    np.testing.assert_array_equal(obs_a["rgb"], again["rgb"])
    np.testing.assert_array_equal(obs_a["audio"], again["audio"])
    assert not obs_b["audio"].any() and np.array_equal(obs_a["rgb"], obs_b["rgb"])
    blind, _ = AVNavEnv("audiogoal", control="blind").reset(seed=3)
    assert not blind["rgb"].any() and blind["audio"].any()


def test_the_vector_env_equals_single_envs_and_autoresets_on_the_next_step() -> None:
    vec = AVNavVectorEnv("follow", num_envs=3, split="val", seed=5)
    obs, info = vec.reset(seed=5)
    singles = [AVNavEnv("follow", split="val", seed=5) for _ in range(3)]
    for k, env in enumerate(singles):
        single, _ = env.reset(seed=5, options={"index": k})
        np.testing.assert_array_equal(single["audio"], obs["audio"][k])
    actions = np.array([0, 1, 1])
    obs, reward, terminated, _, info = vec.step(actions)
    single, r0, t0, _, _ = singles[0].step(0)
    assert terminated[0] and t0 and reward[0] == pytest.approx(r0)
    obs, reward, terminated, _, info = vec.step(np.array([1, 1, 1]))
    assert info["episode"][0] == 3 and reward[0] == 0.0 and not terminated[0]  # slot 0 now plays episode 3
    assert isinstance(vec.single_action_space, gymnasium.spaces.Discrete)


def test_the_goal_underfoot_colours_the_bottom_of_the_view() -> None:
    sim = NavBatch("audiogoal", 1)
    ep = sample_episode("audiogoal", "test", 1)
    sim.load(0, ep)
    sim.pos[0] = (ep.objects[0].x, ep.objects[0].y)
    bottom = sim.observe()["rgb"][0, VIEW_HEIGHT - 1, 16]
    from avikit.data.synth.classes import CLASSES

    assert tuple(bottom) == CLASSES[ep.objects[0].cls].rgb
