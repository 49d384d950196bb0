"""Leaderboards of the interaction harnesses (agents, streams, embodied): means with bootstrap intervals.

One row per system (and condition); each score is the mean of per-unit values (clips, episodes, events)
with a seeded 95% percentile bootstrap interval over those units
(:func:`avikit.metrics.compute_bootstrap_ci`).

Example:
    >>> import numpy as np
    >>> row = score_row("random", {"success": np.array([0.0, 1.0, 1.0, 0.0])}, seed=0)
    >>> row["scores"]["success"], len(row["ci"]["success"])
    (0.5, 2)
    >>> print(format_table([row], ["success"]).splitlines()[0])
    | system | success |
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.manifest import atomic_writer
from avikit.metrics import compute_bootstrap_ci

__all__ = ["format_table", "score_row", "write_json"]


def score_row(
    system: str, values: Mapping[str, np.ndarray], seed: int = 0, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A leaderboard row: the mean and 95% bootstrap interval of each per-unit value array (NaNs dropped)."""
    scores: dict[str, float | None] = {}
    ci: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for key, array in values.items():
        finite = np.asarray(array, np.float64)
        finite = finite[np.isfinite(finite)]
        counts[key] = len(finite)
        scores[key] = float(finite.mean()) if len(finite) else None
        if len(finite):
            ci[key] = list(compute_bootstrap_ci(finite, seed=seed))
    return {"system": system, **(extra or {}), "scores": scores, "ci": ci, "counts": counts}


def _cell(row: Mapping[str, Any], key: str) -> str:
    value = row["scores"].get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    low, high = row["ci"].get(key, (value, value))
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def format_table(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str], label: str = "system") -> str:
    """A markdown table: one row per system, ``mean [low, high]`` per metric."""
    extra = [k for k in rows[0] if k not in ("system", "scores", "ci", "counts")] if rows else []
    head = [label, *extra, *metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [str(row["system"]), *(str(row[k]) for k in extra), *(_cell(row, m) for m in metrics)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(path: str | Path, data: Any) -> Path:
    """Write JSON atomically (indented) and return the path."""
    out = Path(path)
    with atomic_writer(out) as f:
        json.dump(data, f, indent=1, default=float)
    return out
