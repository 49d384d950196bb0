"""The embodied harness: policies x modality controls on an embodied task, episodes seeded, traces kept.

:func:`run_episodes` plays ``episodes`` test episodes of a task with one policy under one control (none,
deaf, blind) through the gymnasium vector environment and returns each episode's measures and its action
trace. :func:`run_embodied` crosses policies and controls, scores them with SoundSpaces' measures
(:mod:`avikit.metrics.navigation`, 95% bootstrap intervals over episodes), measures the simulator's own
steps per second, and writes ``results.json``, ``traces.jsonl`` and ``leaderboard.md`` in ``out``.

Example:
    >>> from avikit.models.policies import OraclePolicy
    >>> outcomes, traces = run_episodes("audiogoal", OraclePolicy(), episodes=2, num_envs=2)
    >>> [o["success"] for o in outcomes]
    [1.0, 1.0]
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.manifest import atomic_writer
from avikit.envs import NAV_METRICS, get_nav_task
from avikit.envs.gym import AVNavVectorEnv
from avikit.eval.interaction_table import format_table, score_row, write_json
from avikit.metrics import compute_bootstrap_ci
from avikit.metrics.navigation import compute_navigation_statistics
from avikit.models.policies import Policy, get_policy

__all__ = ["compare_policies", "measure_steps_per_second", "run_embodied", "run_episodes"]


def run_episodes(
    task: str,
    policy: Policy,
    episodes: int = 50,
    seed: int = 0,
    control: str = "none",
    split: str = "test",
    num_envs: int = 16,
) -> tuple[list[dict[str, float]], list[dict[str, Any]]]:
    """Play episodes ``0 .. episodes - 1`` of ``split``; returns their outcomes and traces, in index order."""
    env = AVNavVectorEnv(task, min(num_envs, episodes), split, seed, control)
    obs, info = env.reset(seed=seed, options={"index": 0})
    first = np.ones(env.num_envs, dtype=bool)
    ended = np.zeros(env.num_envs, dtype=bool)
    actions: list[list[int]] = [[] for _ in range(env.num_envs)]
    outcomes: dict[int, dict[str, float]] = {}
    traces: dict[int, dict[str, Any]] = {}
    while len(outcomes) < episodes:
        action = policy.act(obs, info, first)
        for slot in range(env.num_envs):
            actions[slot] = [] if first[slot] else actions[slot]
            actions[slot].append(int(action[slot]))
        obs, _, terminated, truncated, info = env.step(action)
        first, ended = ended, terminated | truncated  # next-step autoreset: ended slots restart now
        for slot in np.flatnonzero(terminated | truncated).tolist():
            index = int(info["episode"][slot])
            if index < episodes:
                outcomes[index] = info["outcome"][slot]
                traces[index] = {"episode": index, "actions": list(actions[slot]), **info["outcome"][slot]}
    return [outcomes[i] for i in range(episodes)], [traces[i] for i in range(episodes)]


def measure_steps_per_second(task: str, num_envs: int = 64, steps: int = 200, seed: int = 0) -> float:
    """Simulator steps per second (observations included, oracle actions), ``num_envs`` rooms at once."""
    env = AVNavVectorEnv(task, num_envs, "train", seed)
    _, info = env.reset(seed=seed)
    begin = time.perf_counter()
    for _ in range(steps):
        _, _, _, _, info = env.step(info["oracle_action"])
    return num_envs * steps / (time.perf_counter() - begin)


def run_embodied(
    task: str,
    policies: Sequence[str],
    out: str | Path,
    episodes: int = 50,
    seed: int = 0,
    controls: Sequence[str] = ("none", "deaf", "blind"),
    speed_steps: int = 200,
) -> dict[str, Any]:
    """Every policy under every control on ``episodes`` test episodes; writes the results in ``out``."""
    folder = Path(out)
    nav = get_nav_task(task)
    rows, trace_lines = [], []
    for name in policies:
        for control in controls:
            policy = get_policy(name)
            begin = time.perf_counter()
            outcomes, traces = run_episodes(task, policy, episodes, seed, control)
            seconds = time.perf_counter() - begin
            stats = compute_navigation_statistics(outcomes, nav.room.cell_m)
            extra = {"control": control, "policy_id": policy.id, "weights_hash": policy.weights_hash}
            rows.append({**score_row(name, stats, seed, extra), "seconds": round(seconds, 3)})
            trace_lines += [{"policy": name, "control": control, **t} for t in traces]
    result = {
        "task": task,
        "task_version": nav.spec.version,
        "protocol_hash": nav.spec.protocol_hash,
        "episodes": episodes,
        "seed": seed,
        "rows": rows,
        "simulator_steps_per_second": round(measure_steps_per_second(task, steps=speed_steps, seed=seed), 1),
    }
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "results.json", result)
    with atomic_writer(folder / "traces.jsonl") as f:
        f.writelines(json.dumps(line) + "\n" for line in trace_lines)
    table = format_table(rows, NAV_METRICS, label="policy")
    (folder / "leaderboard.md").write_text(
        f"# {task} v{nav.spec.version} ({nav.spec.protocol_hash})\n\n{table}\n"
    )
    return result


def compare_policies(
    folder: str | Path, a: str, b: str, metric: str = "spl", control: str = "none", seed: int = 0
) -> dict[str, Any]:
    """Paired difference ``a - b`` of a per-episode measure over the same episodes of a finished run.

    Reads ``traces.jsonl`` of :func:`run_embodied`; returns the mean difference and its 95% bootstrap interval
    over episodes.
    """
    rows = [json.loads(line) for line in (Path(folder) / "traces.jsonl").read_text().splitlines()]
    cell_m = get_nav_task(json.loads((Path(folder) / "results.json").read_text())["task"]).room.cell_m

    def values(policy: str) -> np.ndarray:
        mine = sorted(
            (r for r in rows if r["policy"] == policy and r["control"] == control), key=lambda r: r["episode"]
        )
        return compute_navigation_statistics(mine, cell_m)[metric]

    diff = values(a) - values(b)
    return {
        "metric": metric,
        "control": control,
        "a": a,
        "b": b,
        "mean": float(diff.mean()),
        "ci": list(compute_bootstrap_ci(diff, seed=seed)),
        "episodes": len(diff),
    }
