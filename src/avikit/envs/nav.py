"""The batched simulator of the embodied tasks: ``B`` rooms stepped at once with numpy.

:class:`NavBatch` holds the state of ``B`` episodes as arrays and steps them together; the gymnasium
environments (:mod:`avikit.envs.gym`) are thin wrappers over it. Actions: 0 stop, 1 forward (one cell, if
free), 2 turn left, 3 turn right (90 degrees). An observation is the egocentric view ``rgb uint8 [H, W, 3]``
and the binaural sound of the step ``audio float32 [2, N]``. ``info["oracle_action"]`` is the first action
of a shortest path (privileged: only the oracle baseline and the expert of imitation learning read it).

Modality controls replace an input by zeros: ``"deaf"`` (audio), ``"blind"`` (video).

Example:
    >>> from avikit.envs.world import sample_episode
    >>> sim = NavBatch("audiogoal", 2)
    >>> for slot in range(2):
    ...     sim.load(slot, sample_episode("audiogoal", "test", slot))
    >>> obs = sim.observe()
    >>> obs["rgb"].shape, obs["audio"].shape
    ((2, 24, 32, 3), (2, 2, 1000))
    >>> reward, terminated, truncated = sim.step(np.array([1, 2]))
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from avikit.data.synth.audio import class_sound
from avikit.data.synth.classes import CLASS_NAMES, CLASSES
from avikit.envs.acoustics import arrival, binaural
from avikit.envs.render import render_views
from avikit.envs.tasks import AUDIO_SAMPLES, get_nav_task
from avikit.envs.world import HEADINGS, Episode, geodesic_distances

__all__ = ["CONTROLS", "NavBatch", "oracle_actions"]

CONTROLS = ("none", "deaf", "blind")
_SAMPLE_RATE = 16000
_LOOP = 2 * _SAMPLE_RATE
_HISTORY = 16


@lru_cache(maxsize=1)
def _sound_bank() -> np.ndarray:
    """Every class's looped sound ``float32 [classes, L]`` (unit RMS)."""
    return np.stack([class_sound(name, _LOOP, _SAMPLE_RATE, seed=7) for name in CLASS_NAMES])


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    return np.random.default_rng(12345).standard_normal((2, _LOOP)).astype(np.float32)


def oracle_actions(dist: np.ndarray, pos: np.ndarray, heading: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """First action of a shortest path to the goal (``stop`` within ``radius``), ``int64 [B]``."""
    b = np.arange(len(pos))
    here = dist[b, pos[:, 1], pos[:, 0]]
    ahead = pos + HEADINGS[heading]
    forward_ok = dist[b, ahead[:, 1], ahead[:, 0]] == here - 1
    left = pos + HEADINGS[(heading + 1) % 4]
    left_ok = dist[b, left[:, 1], left[:, 0]] == here - 1
    action = np.where(forward_ok, 1, np.where(left_ok, 2, 3))
    return np.where(here <= radius, 0, action).astype(np.int64)


class NavBatch:
    """``B`` episodes of one embodied task as arrays (load an episode into a slot, observe, step)."""

    def __init__(self, task: str, num_envs: int, control: str = "none") -> None:
        if control not in CONTROLS:
            raise ValueError(f"unknown control {control!r}; valid controls are {', '.join(CONTROLS)}")
        self.task = get_nav_task(task)
        self.control = control
        g, k, n = self.task.room.size, self.task.room.num_objects, num_envs
        self.num_envs = n
        self.walls = np.ones((n, g, g), dtype=bool)
        self.dist = np.zeros((n, g, g), dtype=np.int64)
        self.pos = np.ones((n, 2), dtype=np.int64)
        self.heading = np.zeros(n, dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)
        self.objects = np.zeros((n, k, 2), dtype=np.int64)
        self.colours = np.zeros((n, k, 3), dtype=np.uint8)
        self.sizes = np.zeros((n, k))
        self.sound = np.zeros(n, dtype=np.int64)
        self.walks = np.zeros((n, self.task.max_steps + 1, 2), dtype=np.int64)
        self.path = np.zeros(n, dtype=np.int64)
        self.shortest = np.zeros(n, dtype=np.int64)
        self.start_distance = np.zeros(n, dtype=np.int64)
        self.phase = np.zeros(n, dtype=np.int64)
        self.start = np.ones((n, 2), dtype=np.int64)
        self.steps_goal = np.zeros(n, dtype=np.int64)

    def load(self, slot: int, episode: Episode) -> None:
        """Start ``episode`` in slot ``slot``."""
        if episode.walls.shape != self.walls.shape[1:]:
            raise ValueError(
                f"episode room {episode.walls.shape} differs from the task's {self.walls.shape[1:]}"
            )
        self.walls[slot] = episode.walls
        x, y, h = episode.start
        self.pos[slot], self.heading[slot], self.steps[slot], self.path[slot] = (x, y), h, 0, 0
        self.start[slot], self.steps_goal[slot] = (x, y), 0
        for j, obj in enumerate(episode.objects):
            self.objects[slot, j] = (obj.x, obj.y)
            self.colours[slot, j] = CLASSES[obj.cls].rgb
            self.sizes[slot, j] = 0.35 if CLASSES[obj.cls].size == "large" else 0.22
        self.sound[slot] = CLASS_NAMES.index(episode.objects[0].cls)
        walk = episode.walk
        self.walks[slot] = walk[np.minimum(np.arange(self.walks.shape[1]), len(walk) - 1)]
        self.dist[slot] = geodesic_distances(episode.walls, *self.walks[slot, 0].tolist())
        self.start_distance[slot] = self.shortest[slot] = self.dist[slot, y, x]
        self.phase[slot] = (episode.index * 7919) % _LOOP

    @property
    def goal(self) -> np.ndarray:
        """The goal's cell of every slot at the current step, ``int64 [B, 2]``."""
        k = np.minimum(self.steps_goal, self.walks.shape[1] - 1)
        return self.walks[np.arange(self.num_envs), k]

    def distance(self) -> np.ndarray:
        """Geodesic distance in cells from every agent to its goal, ``int64 [B]``."""
        return self.dist[np.arange(self.num_envs), self.pos[:, 1], self.pos[:, 0]]

    def observe(self) -> dict[str, np.ndarray]:
        """The observations of every slot: ``rgb uint8 [B, H, W, 3]`` and ``audio float32 [B, 2, N]``."""
        objects = self.objects.copy()
        objects[:, 0] = self.goal
        rgb = render_views(self.walls, self.pos, self.heading, objects, self.colours, self.sizes)
        _, level, azimuth = arrival(self.walls, self.dist, self.pos, self.heading, self.goal)
        n = AUDIO_SAMPLES
        start = (self.phase + self.steps * n) % _LOOP
        index = (start[:, None] - _HISTORY + np.arange(n + _HISTORY)[None, :]) % _LOOP
        dry = _sound_bank()[self.sound[:, None], index]
        noise = _noise_bank()[:, (start[:, None] + np.arange(n)[None, :]) % _LOOP].transpose(1, 0, 2)
        limit = self.task.sound_steps
        sounding = np.ones(self.num_envs, bool) if limit is None else self.steps < limit
        audio = binaural(dry, level, azimuth, sounding, noise, _SAMPLE_RATE)
        if self.control == "deaf":
            audio = np.zeros_like(audio)
        if self.control == "blind":
            rgb = np.zeros_like(rgb)
        return {"rgb": rgb, "audio": audio}

    def oracle(self) -> np.ndarray:
        """The oracle's next action of every slot (privileged)."""
        radius = np.full(self.num_envs, self.task.success_radius)
        return oracle_actions(self.dist, self.pos, self.heading, radius)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Apply one action per slot; returns ``(reward [B], terminated [B], truncated [B])``.

        ``terminated`` is a ``stop``; ``truncated`` is reaching ``max_steps`` without one. The reward is
        SoundSpaces': the decrease of the geodesic distance, -0.01 per step and +10 for a successful stop.
        """
        actions = np.asarray(actions, dtype=np.int64)
        if actions.shape != (self.num_envs,) or ((actions < 0) | (actions > 3)).any():
            raise ValueError(f"actions must be {self.num_envs} integers in 0..3, got {actions.tolist()}")
        before = self.distance()
        b = np.arange(self.num_envs)
        ahead = self.pos + HEADINGS[self.heading]
        moves = (actions == 1) & ~self.walls[b, ahead[:, 1], ahead[:, 0]]
        self.pos = np.where(moves[:, None], ahead, self.pos)
        self.path += moves
        self.heading = np.where(actions == 2, (self.heading + 1) % 4, self.heading)
        self.heading = np.where(actions == 3, (self.heading + 3) % 4, self.heading)
        self.steps += 1
        after = self.distance()
        terminated = actions == 0
        success = terminated & (after <= self.task.success_radius)
        truncated = ~terminated & (self.steps >= self.task.max_steps)
        reward = (before - after) - 0.01 + 10.0 * success
        self._move_goals(~terminated)
        return reward.astype(np.float64), terminated, truncated

    def _move_goals(self, going: np.ndarray) -> None:
        """Move the goals of the episodes still going (a stop is judged where the goal was)."""
        if not self.task.move_every:
            return
        self.steps_goal = np.where(going, self.steps, self.steps_goal)
        k = np.minimum(self.steps_goal, self.walks.shape[1] - 1)
        b = np.arange(self.num_envs)
        moved = going & (self.walks[b, k] != self.walks[b, np.maximum(k - 1, 0)]).any(1)
        for slot in np.flatnonzero(moved):
            x, y = self.walks[slot, k[slot]].tolist()
            self.dist[slot] = geodesic_distances(self.walls[slot], x, y)

    def outcome(self, slot: int, stopped: bool) -> dict[str, float]:
        """The raw measures of the episode in ``slot`` as it stands (call at its end), for the metrics.

        For a moving goal, the shortest path is measured from the start to where the goal was at the end
        (the path the agent would have needed to catch it there).
        """
        final = int(self.distance()[slot])
        shortest = int(self.shortest[slot])
        if self.task.move_every:
            x, y = self.goal[slot].tolist()
            shortest = int(geodesic_distances(self.walls[slot], *self.start[slot].tolist())[y, x])
        return {
            "stopped": float(stopped),
            "final_distance": float(final),
            "start_distance": float(self.start_distance[slot]),
            "shortest": float(shortest),
            "path": float(self.path[slot]),
            "steps": float(self.steps[slot]),
            "success": float(stopped and final <= self.task.success_radius),
        }
