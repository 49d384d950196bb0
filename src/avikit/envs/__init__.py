"""The ``envs`` layer: simulated audio-visual environments with the gymnasium API.

A procedural grid room with AVSynth objects (:mod:`avikit.envs.world`), an egocentric view
(:mod:`avikit.envs.render`), binaural sound from the agent's pose (:mod:`avikit.envs.acoustics`), the
embodied tasks (:mod:`avikit.envs.tasks`), a batched simulator (:mod:`avikit.envs.nav`) and gymnasium
environments over it (:mod:`avikit.envs.gym`).
"""

from avikit.envs.nav import CONTROLS, NavBatch, oracle_actions
from avikit.envs.tasks import NAV_METRICS, NAV_TASKS, NavTask, get_nav_task
from avikit.envs.world import (
    Episode,
    NavObject,
    RoomConfig,
    geodesic_distances,
    line_of_sight,
    sample_episode,
)

__all__ = [
    "CONTROLS",
    "NAV_METRICS",
    "NAV_TASKS",
    "Episode",
    "NavBatch",
    "NavObject",
    "NavTask",
    "RoomConfig",
    "geodesic_distances",
    "get_nav_task",
    "line_of_sight",
    "oracle_actions",
    "sample_episode",
]
