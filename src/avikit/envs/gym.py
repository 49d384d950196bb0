"""Gymnasium environments over the batched simulator: one room (``AVNavEnv``) or many (``AVNavVectorEnv``).

Episodes are drawn by random access: episode ``i`` of a split is :func:`~avikit.envs.world.sample_episode`
``(task, split, i, seed)``; ``reset(seed=s)`` sets the world seed ``s`` and starts again at index
``options["index"]`` (default 0), and every later reset takes the next index, so two runs with the same seed
see the same episodes in the same order. The vector environment resets an ended slot on the next step
(gymnasium's ``next-step`` autoreset: that step's action for the slot is ignored, its reward is 0).

Each step's ``info`` holds ``distance`` (geodesic cells to the goal), ``episode`` (the index) and
``oracle_action`` (privileged: for the oracle baseline and imitation experts only); the step that ends an
episode adds ``outcome`` (the measures of :mod:`avikit.metrics.navigation`).

Example:
    >>> env = AVNavEnv("audiogoal", split="test")
    >>> obs, info = env.reset(seed=0)
    >>> obs["audio"].shape, info["episode"]
    ((2, 1000), 0)
    >>> obs, reward, terminated, truncated, info = env.step(1)
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from avikit.envs.nav import NavBatch
from avikit.envs.render import VIEW_HEIGHT, VIEW_WIDTH
from avikit.envs.tasks import AUDIO_SAMPLES
from avikit.envs.world import NAV_SPLITS, sample_episode

__all__ = ["AVNavEnv", "AVNavVectorEnv", "observation_space"]


def observation_space() -> spaces.Dict:
    """The observation space of one room."""
    return spaces.Dict(
        {
            "rgb": spaces.Box(0, 255, (VIEW_HEIGHT, VIEW_WIDTH, 3), np.uint8),
            "audio": spaces.Box(
                -32.0, 32.0, (2, AUDIO_SAMPLES), np.float32
            ),  # unit-RMS sounds peak far below
        }
    )


class _Episodes:
    """The index counter and world seed shared by both environments."""

    def __init__(self, sim: NavBatch, split: str, seed: int) -> None:
        if split not in NAV_SPLITS:
            raise ValueError(f"unknown split {split!r}; valid splits are {', '.join(NAV_SPLITS)}")
        self.sim, self.split, self.seed, self.next_index = sim, split, seed, 0
        self.index = np.zeros(sim.num_envs, dtype=np.int64)

    def restart(self, seed: int | None, options: dict[str, Any] | None) -> None:
        if seed is not None:
            self.seed = int(seed)
        self.next_index = int((options or {}).get("index", 0))

    def load(self, slot: int) -> None:
        task = self.sim.task
        episode = sample_episode(
            task.spec.name, self.split, self.next_index, self.seed, task.room, task.max_steps, task.move_every
        )
        self.sim.load(slot, episode)
        self.index[slot] = self.next_index
        self.next_index += 1

    def info(self) -> dict[str, Any]:
        return {
            "distance": self.sim.distance(),
            "oracle_action": self.sim.oracle(),
            "episode": self.index.copy(),
        }


class AVNavEnv(gymnasium.Env[dict[str, np.ndarray], int]):
    """One room of an embodied task (:data:`~avikit.envs.tasks.NAV_TASKS`), gymnasium API."""

    metadata = {"render_modes": ["rgb_array"]}  # noqa: RUF012  (gymnasium reads it from the instance)

    def __init__(
        self, task: str = "audiogoal", split: str = "test", seed: int = 0, control: str = "none"
    ) -> None:
        self.sim = NavBatch(task, 1, control)
        self.episodes = _Episodes(self.sim, split, seed)
        self.observation_space = observation_space()  # type: ignore[assignment]
        self.action_space = spaces.Discrete(4)  # type: ignore[assignment]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start the next episode (``seed`` sets the world seed and restarts at ``options['index']``)."""
        super().reset(seed=seed)
        if seed is not None or options:
            self.episodes.restart(seed, options)
        self.episodes.load(0)
        return self._obs(), self._info()

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Apply one action: 0 stop, 1 forward, 2 turn left, 3 turn right."""
        reward, terminated, truncated = self.sim.step(np.array([action]))
        info = self._info()
        if terminated[0] or truncated[0]:
            info["outcome"] = self.sim.outcome(0, bool(terminated[0]))
        return self._obs(), float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    def render(self) -> np.ndarray:
        """The agent's current view."""
        return self.sim.observe()["rgb"][0]

    def _obs(self) -> dict[str, np.ndarray]:
        return {key: value[0] for key, value in self.sim.observe().items()}

    def _info(self) -> dict[str, Any]:
        return {key: value[0].item() for key, value in self.episodes.info().items()}


class AVNavVectorEnv(VectorEnv[dict[str, np.ndarray], np.ndarray, np.ndarray]):
    """``num_envs`` rooms of one embodied task stepped together (numpy, one process), next-step autoreset."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012  (read from the instance)

    def __init__(
        self,
        task: str = "audiogoal",
        num_envs: int = 16,
        split: str = "train",
        seed: int = 0,
        control: str = "none",
    ) -> None:
        self.sim = NavBatch(task, num_envs, control)
        self.episodes = _Episodes(self.sim, split, seed)
        self.num_envs = num_envs
        self.single_observation_space = observation_space()
        self.single_action_space = spaces.Discrete(4)
        self.observation_space = gymnasium.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = spaces.MultiDiscrete(np.full(num_envs, 4))
        self._ended = np.zeros(num_envs, dtype=bool)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start ``num_envs`` episodes (indices ``index .. index + num_envs - 1`` for a new seed)."""
        self.episodes.restart(seed, options)
        for slot in range(self.num_envs):
            self.episodes.load(slot)
        self._ended[:] = False
        return self.sim.observe(), self.episodes.info()

    def step(
        self, actions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every room; rooms that ended on the previous step start their next episode instead."""
        reward, terminated, truncated = self.sim.step(np.asarray(actions))
        outcomes: list[dict[str, float] | None] = [None] * self.num_envs
        for slot in range(self.num_envs):
            if self._ended[slot]:
                self.episodes.load(slot)
                reward[slot], terminated[slot], truncated[slot] = 0.0, False, False
            elif terminated[slot] or truncated[slot]:
                outcomes[slot] = self.sim.outcome(slot, bool(terminated[slot]))
        self._ended = terminated | truncated
        info = self.episodes.info()
        info["outcome"] = np.array(outcomes, dtype=object)
        return self.sim.observe(), reward, terminated, truncated, info
