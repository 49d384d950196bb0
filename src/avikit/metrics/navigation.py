"""Embodied navigation measures as SoundSpaces reports them: success, SPL, SoftSPL, distance to goal.

Definitions (Anderson et al. 2018, "On Evaluation of Embodied Navigation Agents", arXiv:1807.06757, and
habitat-lab's ``habitat/tasks/nav/nav.py`` ``SPL``/``SoftSPL``/``DistanceToGoal`` measures, which
SoundSpaces reuses):

- success ``S_i``: the agent called stop within the success distance of the goal;
- SPL ``= S_i * l_i / max(p_i, l_i)`` with ``l_i`` the shortest-path (geodesic) length from start to goal and
  ``p_i`` the length of the path the agent took;
- SoftSPL ``= max(0, 1 - d_i / d0_i) * l_i / max(p_i, l_i)`` with ``d_i`` the final and ``d0_i`` the start
  geodesic distance to the goal;
- distance to goal ``d_i`` (metres), its normalized form ``d_i / d0_i``, and the number of actions.

Edge cases habitat leaves as 0/0: ``l_i = p_i = 0`` gives a path ratio of 1, and ``d0_i = 0`` gives a
normalized distance of 0 and a soft success of 1.

Example:
    >>> outcome = {"success": 1.0, "shortest": 4.0, "path": 5.0, "final_distance": 0.0,
    ...            "start_distance": 4.0, "steps": 9.0}
    >>> evaluate_navigation([outcome], cell_m=0.5)["spl"]
    0.8
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["compute_navigation_scores", "compute_navigation_statistics", "evaluate_navigation"]

_FIELDS = ("success", "shortest", "path", "final_distance", "start_distance", "steps")


def compute_navigation_statistics(
    outcomes: Sequence[Mapping[str, float]], cell_m: float = 1.0
) -> dict[str, np.ndarray]:
    """Per-episode values ``[N]``: success, spl, soft_spl, distance_to_goal (m), normalized distance, steps.

    Args:
        outcomes: one mapping per episode with ``success`` (0/1), ``shortest`` and ``path`` (cells),
            ``final_distance`` and ``start_distance`` (geodesic cells) and ``steps``.
        cell_m: metres per cell (distances are reported in metres).

    Raises:
        ValueError: for a missing field or negative lengths.
    """
    for i, o in enumerate(outcomes):
        missing = [f for f in _FIELDS if f not in o]
        if missing:
            raise ValueError(f"outcome {i} lacks {missing}; each needs {list(_FIELDS)}")
    v = {f: np.array([float(o[f]) for o in outcomes]) for f in _FIELDS}
    if any((v[f] < 0).any() for f in _FIELDS):
        raise ValueError("navigation outcomes need non-negative lengths, distances and steps")
    longest = np.maximum(v["path"], v["shortest"])
    ratio = np.divide(v["shortest"], longest, out=np.ones_like(longest), where=longest > 0)
    normalized = np.divide(
        v["final_distance"], v["start_distance"], out=np.zeros_like(longest), where=v["start_distance"] > 0
    )
    return {
        "success": v["success"],
        "spl": v["success"] * ratio,
        "soft_spl": np.maximum(0.0, 1.0 - normalized) * ratio,
        "distance_to_goal": v["final_distance"] * cell_m,
        "normalized_distance_to_goal": normalized,
        "steps": v["steps"],
    }


def compute_navigation_scores(statistics: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Means over episodes of the per-episode values (success, SPL, SoftSPL in ``[0, 1]``, higher better)."""
    return {key: float(np.mean(values)) for key, values in statistics.items()}


def evaluate_navigation(outcomes: Sequence[Mapping[str, float]], cell_m: float = 1.0) -> dict[str, float]:
    """Success, SPL, SoftSPL, distance to goal (m), normalized distance to goal and steps over episodes."""
    return compute_navigation_scores(compute_navigation_statistics(outcomes, cell_m))
