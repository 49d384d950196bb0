"""The agent benchmark: planners on an agent task's episodes, ``k`` seeded trials each, traces kept.

For every episode and trial the loop runs with a fresh workspace holding the input clip; the final answer
(or clip) is checked against the scene's exact truth (:meth:`avikit.tasks.agent.AgentTask.check`). Scores
(:data:`avikit.tasks.agent.AGENT_METRICS`): success (first trial), the m&m's plan scores against the task's
reference plans, steps, tool seconds, step validity (calls without error), termination (ended with a valid
answer) and pass^k over the ``k`` trials; intervals are bootstraps over episodes. ``results.json``,
``traces.jsonl`` (every call, its arguments, result and time, per episode and trial) and ``leaderboard.md``
go to ``out``.

Example:
    >>> from avikit.eval.agent.planners import PriorPlanner
    >>> rows = run_agent_task("agent-speech-sync", lambda seed: PriorPlanner("agent-speech-sync"), n=2)
    >>> len(rows), rows[0]["trace"]["termination"]
    (2, 'answer')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.manifest import atomic_writer
from avikit.eval.agent.loop import Planner, run_agent
from avikit.eval.agent.planners import get_planner
from avikit.eval.agent.toolbox import Tool, ToolBox, Workspace
from avikit.eval.interaction_table import format_table, score_row, write_json
from avikit.media import save
from avikit.metrics.agent import compute_pass_hat_k, compute_plan_statistics, evaluate_plans
from avikit.tasks.agent import AGENT_METRICS, get_agent_task, load_episode_clip

__all__ = [
    "default_tools",
    "rescore_agent_run",
    "run_agent_benchmark",
    "run_agent_task",
    "write_agent_results",
]


def default_tools() -> list[Tool]:
    """Media tools, avikit model tools and the pretrained components, in that order."""
    from avikit.eval.agent.media_tools import media_tools
    from avikit.eval.agent.model_tools import model_tools
    from avikit.eval.agent.pretrained_tools import pretrained_tools

    return [*media_tools(), *model_tools(), *pretrained_tools()]


def run_agent_task(
    task: str,
    make_planner: Callable[[int], Planner],
    n: int = 20,
    k: int = 1,
    seed: int = 0,
    tools: Sequence[Tool] | None = None,
) -> list[dict[str, Any]]:
    """``k`` trials on each of ``n`` episodes (planner seed ``trial * 100003 + episode``): one row each.

    A row holds the episode, trial, truth, check and trace; when the answer names a clip of the workspace,
    ``answer_clip`` holds that clip (an :class:`~avikit.media.AVClip`, written beside the traces by
    :func:`run_agent_benchmark`).
    """
    agent_task = get_agent_task(task)
    tool_list = list(tools) if tools is not None else default_tools()
    budget = int(agent_task.spec.protocol.params["step_budget"])
    rows = []
    for index, episode in enumerate(agent_task.episodes(n, seed)):
        clip = load_episode_clip(episode)
        for trial in range(k):
            box = ToolBox(tool_list, Workspace())
            box.workspace.put(clip, "input")
            planner = make_planner(trial * 100_003 + index)  # one seed per trial and episode
            trace = run_agent(planner, box, episode.prompt, agent_task.answer_schema, budget)
            verdict = agent_task.check(episode, trace.answer, box.workspace.get)
            row = {
                "episode": episode.id,
                "trial": trial,
                "truth": dict(episode.truth),
                "check": verdict,
                "trace": trace.to_dict(),
            }
            answered = (trace.answer or {}).get("clip")
            if isinstance(answered, str) and answered in box.workspace.names():
                row["answer_clip"] = box.workspace.get(answered)
            rows.append(row)
    return rows


def _scores(task: str, rows: Sequence[dict[str, Any]], k: int) -> dict[str, np.ndarray]:
    agent_task = get_agent_task(task)
    first = [r for r in rows if r["trial"] == 0]
    plans = [[(c.tool, dict(c.arguments)) for c in plan] for plan in agent_task.plans]
    calls = [[(s["tool"], s["arguments"]) for s in r["trace"]["steps"]] for r in first]
    per_episode = [evaluate_plans([c], [plans]) for c in calls]
    statistics = compute_plan_statistics(calls, [plans] * len(calls))
    trials: dict[str, list[float]] = {}
    for r in rows:
        trials.setdefault(r["episode"], []).append(r["check"]["success"])
    steps = [r["trace"]["steps"] for r in first]
    return {
        "success": np.array([r["check"]["success"] for r in first]),
        **{key: np.array([p[key] for p in per_episode]) for key in per_episode[0] if key != "tool_macro_f1"},
        "tool_macro_f1": np.array([evaluate_plans(calls, [plans] * len(calls))["tool_macro_f1"]]),
        "steps": np.array([len(s) for s in steps], float),
        "tool_seconds": np.array([sum(x["seconds"] for x in s) for s in steps]),
        "step_validity": np.array([np.mean([x["result"]["ok"] for x in s]) if s else np.nan for s in steps]),
        "termination": np.array([r["trace"]["termination"] == "answer" for r in first], float),
        "pass_k": np.array([compute_pass_hat_k([t], k) for t in trials.values()]),
        "_tool_counts": np.array([len(statistics["tools"])]),
    }


def _planner(name: str, task: str, trial: int) -> Planner:
    planner: Planner = get_planner(name, task, seed=trial)
    return planner


def run_agent_benchmark(
    task: str, planners: Sequence[str], out: str | Path, n: int = 20, k: int = 3, seed: int = 0
) -> dict[str, Any]:
    """Every planner on ``n`` episodes with ``k`` trials; writes results, traces and the leaderboard."""
    tools = default_tools()
    runs = {name: run_agent_task(task, partial(_planner, name, task), n, k, seed, tools) for name in planners}
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in runs.items():
        for r in rows:
            _write_answer_clip(r, folder, name)
    with atomic_writer(folder / "traces.jsonl") as f:
        f.writelines(
            json.dumps({"planner": name, **r}, default=float) + "\n"
            for name, rows in runs.items()
            for r in rows
        )
    return write_agent_results(task, runs, folder, n, k, seed)


def _write_answer_clip(row: dict[str, Any], folder: Path, planner: str) -> None:
    """Write a row's answered clip to ``answers/`` (mp4, or WAV without frames); the row keeps its path."""
    clip = row.pop("answer_clip", None)
    if clip is None:
        return
    suffix = ".mp4" if clip.frames is not None else ".wav"
    name = f"{planner}_{row['episode'].replace('/', '_')}_t{row['trial']}{suffix}"
    (folder / "answers").mkdir(exist_ok=True)
    row["answer_file"] = save(clip, folder / "answers" / name).relative_to(folder).as_posix()


def write_agent_results(
    task: str, runs: Mapping[str, Sequence[dict[str, Any]]], folder: Path, n: int, k: int, seed: int
) -> dict[str, Any]:
    """Score every planner's rows; write ``results.json`` and ``leaderboard.md`` (also when rescoring)."""
    agent_task = get_agent_task(task)
    table = []
    for name, rows in runs.items():
        values = {key: v for key, v in _scores(task, rows, k).items() if not key.startswith("_")}
        table.append(score_row(name, values, seed, {"k": k}))
    result = {
        "task": task,
        "task_version": agent_task.spec.version,
        "protocol_hash": agent_task.spec.protocol_hash,
        "n": n,
        "k": k,
        "seed": seed,
        "rows": table,
        "note": "tool_macro_f1 is a set-level score (no interval); pass_k is over the k trials",
    }
    write_json(folder / "results.json", result)
    head = f"# {task} v{agent_task.spec.version} ({agent_task.spec.protocol_hash})\n\n"
    (folder / "leaderboard.md").write_text(head + format_table(table, AGENT_METRICS, label="planner") + "\n")
    return result


def rescore_agent_run(folder: str | Path) -> dict[str, Any]:
    """Score again the traces of a finished run (``traces.jsonl``), e.g. after a metric changed."""
    lines = [json.loads(line) for line in (Path(folder) / "traces.jsonl").read_text().splitlines()]
    task = lines[0]["episode"].split("/")[0]
    runs: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        runs.setdefault(line.pop("planner"), []).append(line)
    k = 1 + max(line["trial"] for line in lines)
    n = len({line["episode"] for line in lines})
    old = json.loads((Path(folder) / "results.json").read_text())
    return write_agent_results(task, runs, Path(folder), n, k, old.get("seed", 0))
