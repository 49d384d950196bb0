"""What the per-sample viewer draws for agent and embodied runs: each episode's steps, outcome and media.

An episode is a sample of a viewer cell (``"view": "episodes"``) with ``steps`` (one record per step:
``index``, ``start``/``end`` on the clip's time axis or ``None``, ``observation``, ``action``,
``arguments``, ``result``, ``ok``, ``reward``, ``note``) and an ``outcome`` (``success``, ``return``,
``termination``, ``summary``); episodes are listed worst first by the run's primary measure.

- Agent runs (:func:`avikit.eval.agent.benchmark.run_agent_benchmark`): one cell per planner and trial;
  a step is a tool call with its arguments and the result (or error) it returned; the media is the
  episode's input clip (an answer in seconds is drawn against the true onset on its time axis) and, for an
  answer that is a clip, the answered clip (``answer_media``, from the run's ``answers/``).
- Embodied runs (:func:`avikit.eval.embodied.run_embodied`): one cell per policy and control; the recorded
  actions are replayed in the simulator (checked against the recorded outcome) to recover what the agent
  saw and heard at each step and the reward it got; the media is that view and binaural sound, one step
  every 1/16 s, so the step axis is the clip's time axis.

Example:
    >>> trace = {"steps": [{"tool": "band_levels", "arguments": {"clip": "input"},
    ...                     "result": {"ok": False, "error": {"type": "tool_error", "message": "no clip"}},
    ...                     "seconds": 0.01, "reflection": ""}]}
    >>> step = agent_steps(trace)[0]
    >>> step["action"], step["ok"], step["result"]
    ('band_levels', False, 'tool_error: no clip')
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from avikit.envs import get_nav_task
from avikit.envs.gym import AVNavEnv
from avikit.envs.tasks import AUDIO_SAMPLES, STEPS_PER_SECOND
from avikit.errors import DataError
from avikit.media import AVClip, load
from avikit.metrics.navigation import compute_navigation_statistics
from avikit.tasks.agent import get_agent_task, load_episode_clip

__all__ = ["ACTION_NAMES", "agent_cells", "agent_steps", "embodied_cells", "replay_episode"]

ACTION_NAMES = ("stop", "forward", "turn left", "turn right")
"""The embodied tasks' actions by index."""
_HEADINGS = ("east", "north", "west", "south")
_UPSCALE = 4  # the 32 x 24 view, shown at 128 x 96


def _short(value: Any, limit: int = 240) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def agent_steps(trace: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A recorded agent trace's tool calls as viewer steps (no time axis: ``start`` and ``end`` are None)."""
    out = []
    for k, step in enumerate(trace["steps"]):
        envelope = step["result"]
        ok = bool(envelope.get("ok"))
        error = envelope.get("error") or {}
        result = _short(envelope.get("result")) if ok else f"{error.get('type')}: {error.get('message')}"
        out.append(
            {
                "index": k,
                "start": None,
                "end": None,
                "observation": "",
                "action": step["tool"],
                "arguments": _short(step["arguments"]),
                "result": result,
                "ok": ok,
                "reward": None,
                "seconds": round(float(step["seconds"]), 4),
                "note": step.get("reflection", ""),
            }
        )
    return out


def _agent_sample(line: Mapping[str, Any], media_key: str) -> dict[str, Any]:
    trace, truth, check = line["trace"], line["truth"], line["check"]
    steps = agent_steps(trace)
    answer = trace.get("answer")
    lanes = []
    if answer is not None and "seconds" in answer and "onset" in truth:
        lanes = [
            {
                "name": "true onset",
                "kind": "truth",
                "segments": [[truth["onset"], truth["onset"], truth.get("label", "")]],
            },
            {
                "name": "answer",
                "kind": "pred",
                "segments": [[answer["seconds"], answer["seconds"], "answer"]],
            },
        ]
    notes = [f"prompt: {trace['prompt']}", f"plan: {', '.join(trace.get('plan') or []) or '-'}"]
    notes += [
        f"rejected before step {r['step']}: {_short(r.get('error'))}" for r in trace.get("rejected", [])
    ]
    success = float(check["success"])
    summary = f"answer {_short(answer)}; truth {_short(truth)}"
    if trace.get("failure"):
        summary += f" ({_short(trace['failure'])})"
    numbers = {k: float(v) for k, v in check.items() if isinstance(v, int | float)}
    scores: dict[str, float | None] = {k: v if math.isfinite(v) else None for k, v in numbers.items()}
    scores |= {"steps": float(len(steps)), "tool_seconds": round(sum(s["seconds"] for s in steps), 4)}
    return {
        "id": line["episode"],
        "score": success,
        "scores": scores,
        "media": media_key,
        "steps": steps,
        "lanes": lanes,
        "notes": notes,
        "outcome": {
            "success": success >= 1,
            "return": None,
            "termination": trace["termination"],
            "summary": summary,
        },
    }


def agent_cells(folder: Path, clips: dict[str, Callable[[], AVClip]]) -> list[dict[str, Any]]:
    """One cell per planner and trial of the agent run in ``folder``; ``clips`` gets the input clips."""
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    task = get_agent_task(results["task"])
    episodes = {e.id: e for e in task.episodes(int(results["n"]), int(results["seed"]))}
    cells: dict[tuple[str, int], dict[str, Any]] = {}
    for text in (folder / "traces.jsonl").read_text(encoding="utf-8").splitlines():
        line = json.loads(text)
        if line["episode"] not in episodes:
            raise DataError(
                f"{folder / 'traces.jsonl'}: episode {line['episode']} is not among the task's "
                f"first {len(episodes)}; was it written by another avikit version?"
            )
        key = f"{folder.name}_{line['episode'].replace('/', '_')}"
        clips.setdefault(key, partial(load_episode_clip, episodes[line["episode"]]))
        cell = cells.setdefault(
            (line["planner"], int(line["trial"])),
            {
                "run": folder.name,
                "task": task.name,
                "model": line["planner"],
                "condition": f"trial {line['trial']}",
                "metric": "success",
                "unit": "fraction",
                "lower_is_better": False,
                "view": "episodes",
                "samples": [],
            },
        )
        sample = _agent_sample(line, key)
        if line.get("answer_file"):
            answer = f"{key}_{line['planner']}_t{line['trial']}_answer"
            clips.setdefault(answer, partial(load, folder / line["answer_file"]))
            sample["answer_media"] = answer
        cell["samples"].append(sample)
    for cell in cells.values():
        cell["samples"].sort(key=lambda s: (s["score"], -len(s["steps"])))
    return list(cells.values())


def _loudness(audio: np.ndarray) -> str:
    rms = np.sqrt(np.mean(np.square(audio, dtype=np.float64), axis=-1))
    if not rms.any():
        return "silent"
    left, right = (20 * np.log10(np.maximum(rms, 1e-9))).tolist()
    return f"sound L {left:.0f} dB, R {right:.0f} dB"


def replay_episode(
    task: str, index: int, actions: list[int], seed: int = 0, control: str = "none", split: str = "test"
) -> tuple[list[dict[str, Any]], AVClip, dict[str, float]]:
    """Replay the recorded ``actions`` of episode ``index``: its steps, what the agent saw and heard, outcome.

    The clip holds the view (upscaled) and the binaural sound the agent got before each action, at
    :data:`~avikit.envs.tasks.STEPS_PER_SECOND` steps per second; step ``k`` spans ``[k, k + 1] / 16`` s.
    """
    env = AVNavEnv(task, split, seed, control)
    obs, info = env.reset(seed=seed, options={"index": index})
    steps, frames, audio, outcome = [], [], [], None
    for k, action in enumerate(actions):
        frames.append(obs["rgb"])
        audio.append(obs["audio"])
        here = f"{info['distance']} cells from the goal, facing {_HEADINGS[int(env.sim.heading[0])]}"
        obs, reward, terminated, truncated, info = env.step(int(action))
        steps.append(
            {
                "index": k,
                "start": k / STEPS_PER_SECOND,
                "end": (k + 1) / STEPS_PER_SECOND,
                "observation": f"{here}; {_loudness(audio[-1])}",
                "action": ACTION_NAMES[int(action)],
                "arguments": "",
                "result": f"{info['distance']} cells from the goal",
                "ok": True,
                "reward": round(float(reward), 4),
                "seconds": None,
                "note": "",
            }
        )
        if terminated or truncated:
            outcome = info["outcome"]
            if k != len(actions) - 1:
                raise DataError(f"episode {index}: the replay ended after {k + 1} of {len(actions)} actions")
    if outcome is None:
        raise DataError(f"episode {index}: {len(actions)} actions replayed without the episode ending")
    view = np.repeat(np.repeat(np.stack(frames), _UPSCALE, axis=1), _UPSCALE, axis=2)
    clip = AVClip(view, np.concatenate(audio, axis=1), STEPS_PER_SECOND, AUDIO_SAMPLES * STEPS_PER_SECOND)
    return steps, clip, outcome


def _embodied_sample(
    results: Mapping[str, Any], line: Mapping[str, Any], clips: dict[str, Callable[[], AVClip]]
) -> dict:
    task = results["task"]
    steps, clip, outcome = replay_episode(
        task, int(line["episode"]), line["actions"], int(results["seed"]), line["control"]
    )
    recorded = {k: float(line[k]) for k in outcome}
    if {k: float(v) for k, v in outcome.items()} != recorded:
        raise DataError(
            f"episode {line['episode']} of {line['policy']} ({line['control']}) replays to "
            f"{outcome}, not the recorded {recorded}; was it written by another avikit version?"
        )
    key = f"{results['_run']}_{task}_{line['policy']}_{line['control']}_{int(line['episode']):04d}"
    clips[key] = lambda: clip
    stats = compute_navigation_statistics([outcome], get_nav_task(task).room.cell_m)
    scores = {k: round(float(v[0]), 4) for k, v in stats.items()}
    total = round(sum(s["reward"] for s in steps), 4)
    scores["return"] = total
    verdict = "stopped" if outcome["stopped"] else "ran out of steps"
    summary = (
        f"{verdict} {outcome['final_distance']:g} cells from the goal after {outcome['steps']:g} steps "
        f"(shortest path {outcome['shortest']:g}, walked {outcome['path']:g})"
    )
    return {
        "id": f"episode {int(line['episode']):04d}",
        "scores": scores,
        "media": key,
        "steps": steps,
        "lanes": [],
        "notes": [],
        "outcome": {
            "success": bool(outcome["success"]),
            "return": total,
            "termination": "stop" if outcome["stopped"] else "max_steps",
            "summary": summary,
        },
    }


def embodied_cells(folder: Path, clips: dict[str, Callable[[], AVClip]]) -> list[dict[str, Any]]:
    """One cell per policy and control of the embodied run in ``folder``; ``clips`` gets their replays."""
    results = {**json.loads((folder / "results.json").read_text(encoding="utf-8")), "_run": folder.name}
    spec = get_nav_task(results["task"]).spec
    metric, lower = spec.primary_metric, spec.primary_metric in spec.lower_is_better
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for text in (folder / "traces.jsonl").read_text(encoding="utf-8").splitlines():
        line = json.loads(text)
        sample = _embodied_sample(results, line, clips)
        sample["score"] = sample["scores"][metric]
        cell = cells.setdefault(
            (line["policy"], line["control"]),
            {
                "run": folder.name,
                "task": results["task"],
                "model": line["policy"],
                "condition": line["control"],
                "metric": metric,
                "unit": spec.metric_units.get(metric, spec.unit),
                "lower_is_better": lower,
                "view": "episodes",
                "samples": [],
            },
        )
        cell["samples"].append(sample)
    sign = -1 if lower else 1
    for cell in cells.values():
        cell["samples"].sort(key=lambda s: (sign * s["score"], s["outcome"]["return"]))
    return list(cells.values())
