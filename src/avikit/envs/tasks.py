"""The embodied audio-visual tasks: AudioGoal, semantic AudioGoal and following a moving source.

Each task is a versioned :class:`~avikit.tasks.TaskSpec` (pillar ``interaction``) plus the few numbers
that make it: how long the goal sounds, whether it moves, how close counts as reached. Metrics follow
SoundSpaces (success, SPL, SoftSPL, distance to goal); an episode succeeds only when the agent calls
``stop`` within ``success_radius`` cells of the goal, before ``max_steps``.

Example:
    >>> get_nav_task("semantic").sound_steps
    5
    >>> len(get_nav_task("audiogoal").spec.protocol_hash)
    16
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from avikit._registry import lookup
from avikit.envs.world import RoomConfig
from avikit.tasks.base import Protocol, TaskSpec

__all__ = ["AUDIO_SAMPLES", "NAV_METRICS", "NAV_TASKS", "STEPS_PER_SECOND", "NavTask", "get_nav_task"]

AUDIO_SAMPLES = 1000
"""Audio samples per step and ear (at 16 kHz: 62.5 ms, 16 steps per second)."""
STEPS_PER_SECOND = 16
NAV_METRICS = ("success", "spl", "soft_spl", "distance_to_goal", "normalized_distance_to_goal", "steps")


@dataclass(frozen=True)
class NavTask:
    """An embodied task: its spec and the parameters the environment reads.

    Attributes:
        spec: the versioned record (its protocol params repeat the fields below).
        sound_steps: the goal sounds during the first ``sound_steps`` steps (``None``: always).
        move_every: the goal moves one cell every ``move_every`` steps (0: never).
        success_radius: geodesic cells from the goal within which ``stop`` succeeds.
        max_steps: the step cap.
        room: the room's knobs.
    """

    spec: TaskSpec
    sound_steps: int | None
    move_every: int
    success_radius: int
    max_steps: int
    room: RoomConfig


def _task(
    name: str, benchmark: str, description: str, sound_steps: int | None, move_every: int, radius: int
) -> NavTask:
    room, max_steps = RoomConfig(), 100
    params = {
        "room": asdict(room),
        "max_steps": max_steps,
        "sound_steps": sound_steps,
        "move_every": move_every,
        "success_radius": radius,
        "audio_samples": AUDIO_SAMPLES,
        "view": [24, 32],
        "fov_degrees": 90,
        "actions": ["stop", "forward", "left", "right"],
        "episodes_seed": 0,
    }
    spec = TaskSpec(
        name=name,
        pillar="interaction",
        family="embodied navigation",
        version=1,
        benchmark=benchmark,
        description=description,
        inputs=("audio", "video"),
        protocol=Protocol(split="test", fps=STEPS_PER_SECOND, sample_rate=16000, params=params),
        target_schema={"goal": "the goal cell (x, y) at every step; the geodesic distance field"},
        prediction_schema=(),
        metrics=NAV_METRICS,
        primary_metric="spl",
        unit="fraction",
        lower_is_better=("distance_to_goal", "normalized_distance_to_goal", "steps"),
        metric_units={"distance_to_goal": "m", "steps": "steps"},
    )
    return NavTask(spec, sound_steps, move_every, radius, max_steps, room)


NAV_TASKS: dict[str, NavTask] = {
    "audiogoal": _task(
        "audiogoal",
        "SoundSpaces AudioGoal",
        "Go to the sounding object, heard binaurally and seen egocentrically; stop on its cell.",
        None,
        0,
        0,
    ),
    "semantic": _task(
        "semantic",
        "SoundSpaces semantic AudioGoal",
        "The goal sounds for the first 5 steps only, among silent objects of other colours; go to the "
        "object that made the sound and stop on its cell.",
        5,
        0,
        0,
    ),
    "follow": _task(
        "follow",
        "moving-source AudioGoal",
        "The sounding object walks one cell every 4 steps; catch it: stop within one cell of it.",
        None,
        4,
        1,
    ),
}
"""Embodied task name -> task."""


def get_nav_task(name: str) -> NavTask:
    """Return an embodied task by name.

    Raises:
        UnknownNameError: for an unknown name; the message lists the known ones.
    """
    return lookup(NAV_TASKS, name, "embodied task")
