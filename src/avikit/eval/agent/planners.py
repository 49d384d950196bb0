"""Planners without a language model: the scripted baseline, a no-tool prior and random tool use.

- :class:`ScriptedPlanner`: one hand-written strategy per agent task, written as a generator that yields
  tool calls, receives each call's envelope, and returns the answer; it reflects on errors (a failed call is
  noted and the script takes its fallback).
- :class:`PriorPlanner`: answers at once, without a tool, with the most common answer of the task's ``val``
  episodes (the strongest trivial baseline; the original clip for clip answers).
- :class:`RandomPlanner`: a seeded random number of random tool calls on the input clip, then a random
  answer of the right shape (chance).

A language-model planner implements the same three methods (:class:`avikit.eval.agent.loop.Planner`):
``lm`` in :data:`PLANNERS` is :func:`avikit.eval.agent.lm_planner.lm_planner` (SmolLM2, loaded on first use).

Example:
    >>> planner = ScriptedPlanner("agent-speech-sync")
    >>> planner.start("Is the speech in sync with the lips?", [], {})
    ['check_sync']
    >>> planner.act([]).tool
    'check_sync'
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Generator, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from avikit.eval.agent.loop import Action, Step
from avikit.tasks.agent import get_agent_task

__all__ = ["PLANNERS", "PriorPlanner", "RandomPlanner", "ScriptedPlanner", "get_planner"]

Script = Generator[Action, Mapping[str, Any], Mapping[str, Any]]


def _first_rise(result: Mapping[str, Any], rise_db: float = 12.0) -> float | None:
    """The first of two hops in a row at least ``rise_db`` above the band's floor (its 20th percentile)."""
    levels, times = np.asarray(result["level_db"]), result["times"]
    loud = levels >= np.percentile(levels, 20) + rise_db
    hits = np.flatnonzero(loud[:-1] & loud[1:])
    return float(times[hits[0]]) if len(hits) else None


def _band_of(label: str) -> Script:
    """Look the class's band up, then its level over time in that band; returns the band_levels result."""
    info = yield Action("class_info", {"label": label})
    if not info["ok"]:
        return {}
    low, high = info["result"]["band_hz"]
    levels = yield Action("band_levels", {"clip": "input", "low_hz": low, "high_hz": high})
    return levels["result"] if levels["ok"] else {}


def _when(prompt: str) -> Script:
    found = re.search(r"when the (\w+) sounds", prompt)
    name = found.group(1) if found else ""
    levels = yield from _band_of(name)
    onset = _first_rise(levels) if levels else None
    if onset is not None:
        return {"seconds": onset}
    parsed = yield Action("parse_events", {"clip": "input"})
    hits = [e["start"] for e in parsed["result"]["audio"] if e["label"] == name] if parsed["ok"] else []
    return {"seconds": float(min(hits)) if hits else 0.0}


def _loudest(prompt: str) -> Script:
    parsed = yield Action("parse_events", {"clip": "input"})
    if not parsed["ok"]:
        return {"label": "dog"}
    seen = sorted({e["label"] for e in parsed["result"]["visual"]})
    best, best_db = None, -np.inf
    for label in seen[:3]:
        levels = yield from _band_of(label)
        if levels and np.percentile(levels["level_db"], 95) > best_db:
            best, best_db = label, float(np.percentile(levels["level_db"], 95))
    return {"label": best or (seen[0] if seen else "dog")}


def _silent(prompt: str) -> Script:
    made = yield Action("generate_audio", {"clip": "input"})
    if not made["ok"]:
        return {"clip": "input"}
    clip = made["result"]["clip"]
    sync = yield Action("check_sync", {"clip": clip})
    if sync["ok"] and not sync["result"]["in_sync"]:
        shifted = yield Action(
            "shift_audio", {"clip": clip, "offset_ms": -1000 * sync["result"]["offset_seconds"]}
        )
        clip = shifted["result"]["clip"] if shifted["ok"] else clip
    return {"clip": clip}


def _offscreen(prompt: str) -> Script:
    parsed = yield Action("parse_events", {"clip": "input"})
    if not parsed["ok"]:
        return {"clip": "input"}
    seen = {e["label"] for e in parsed["result"]["visual"]}
    unseen = [e for e in parsed["result"]["audio"] if e["label"] not in seen]
    clip = "input"
    for label in sorted({e["label"] for e in unseen})[:2]:
        info = yield Action("class_info", {"label": label})
        if not info["ok"]:
            continue
        low, high = info["result"]["band_hz"]
        for event in [e for e in unseen if e["label"] == label][:2]:
            args = {
                "clip": clip,
                "low_hz": low,
                "high_hz": high,
                "start": event["start"],
                "end": event["end"],
            }
            done = yield Action("band_stop", args)
            clip = done["result"]["clip"] if done["ok"] else clip
    return {"clip": clip}


def _speech(prompt: str) -> Script:
    sync = yield Action("check_sync", {"clip": "input"})
    return {"in_sync": bool(sync["result"]["in_sync"]) if sync["ok"] else True}


SCRIPTS: dict[str, tuple[Callable[[str], Script], list[str]]] = {
    "agent-when-sounds": (_when, ["class_info", "band_levels"]),
    "agent-loudest": (_loudest, ["parse_events", "class_info", "band_levels"]),
    "agent-sound-silent": (_silent, ["generate_audio", "check_sync"]),
    "agent-remove-offscreen": (_offscreen, ["parse_events", "class_info", "band_stop"]),
    "agent-speech-sync": (_speech, ["check_sync"]),
}


class ScriptedPlanner:
    """The hand-written strategy of one agent task (the baseline planner)."""

    id = "scripted"

    def __init__(self, task: str, seed: int = 0) -> None:
        if task not in SCRIPTS:
            raise KeyError(f"no script for agent task {task!r}; scripts exist for {', '.join(SCRIPTS)}")
        self.task = task
        self._script: Script | None = None

    def start(
        self, prompt: str, tools: Sequence[Mapping[str, Any]], answer_schema: Mapping[str, Any]
    ) -> list[str]:
        """Start the task's script on the request; the plan is the script's usual tool sequence."""
        function, plan = SCRIPTS[self.task]
        self._script = function(prompt)
        return list(plan)

    def act(self, history: Sequence[Step]) -> Action:
        """Send the last observation to the script; its next yield is the action, its return the answer."""
        assert self._script is not None, "call start() first"
        try:
            return next(self._script) if not history else self._script.send(history[-1].result)
        except StopIteration as stop:
            return Action(answer=stop.value)

    def reflect(self, history: Sequence[Step]) -> str:
        """A note when the last call failed (the script then takes its fallback)."""
        result = history[-1].result
        return "" if result["ok"] else f"{history[-1].tool} failed ({result['error']['type']}); falling back"


@lru_cache(maxsize=16)
def _val_truths(task: str, count: int) -> list[Mapping[str, Any]]:
    """The truths of the task's first ``count`` val episodes (world seed 0)."""
    return [e.truth for e in get_agent_task(task).episodes(count, 0, split="val")]


class PriorPlanner:
    """No tools: the most common answer of the task's ``val`` episodes (the clip itself for clip answers)."""

    id = "prior"

    def __init__(self, task: str, seed: int = 0, val_episodes: int = 30) -> None:
        truths = _val_truths(task, val_episodes)
        if "onset" in (truths[0] if truths else {}):
            self.answer: dict[str, Any] = {"seconds": float(statistics.median(t["onset"] for t in truths))}
        elif "label" in (truths[0] if truths else {}):
            self.answer = {"label": Counter(t["label"] for t in truths).most_common(1)[0][0]}
        elif "in_sync" in (truths[0] if truths else {}):
            self.answer = {"in_sync": Counter(t["in_sync"] for t in truths).most_common(1)[0][0]}
        else:
            self.answer = {"clip": "input"}

    def start(
        self, prompt: str, tools: Sequence[Mapping[str, Any]], answer_schema: Mapping[str, Any]
    ) -> list[str]:
        """No plan: no tools."""
        return []

    def act(self, history: Sequence[Step]) -> Action:
        """The prior answer."""
        return Action(answer=self.answer)

    def reflect(self, history: Sequence[Step]) -> str:
        """Nothing to reflect on."""
        return ""


class RandomPlanner:
    """Random calls of tools that take only a clip, on the input clip, then a random answer (seeded)."""

    def __init__(self, task: str, seed: int = 0) -> None:
        self.id = f"random-seed{seed}"
        self._rng = np.random.default_rng(seed)
        self._tools: list[str] = []
        self._schema: Mapping[str, Any] = {}
        self._calls = 0

    def start(
        self, prompt: str, tools: Sequence[Mapping[str, Any]], answer_schema: Mapping[str, Any]
    ) -> list[str]:
        """Pick how many calls (1 to 3) of which tools."""
        simple = [
            t["function"]["name"] for t in tools if t["function"]["parameters"].get("required") == ["clip"]
        ]
        count = int(self._rng.integers(1, 4))
        self._tools = [str(self._rng.choice(simple)) for _ in range(count)] if simple else []
        self._schema, self._calls = answer_schema, 0
        return list(self._tools)

    def act(self, history: Sequence[Step]) -> Action:
        """The next random call, then a random answer."""
        if self._calls < len(self._tools):
            self._calls += 1
            return Action(self._tools[self._calls - 1], {"clip": "input"})
        return Action(answer=self._random_answer())

    def _random_answer(self) -> dict[str, Any]:
        name, spec = next(iter(self._schema.get("properties", {"clip": {}}).items()))
        if "enum" in spec:
            return {name: str(self._rng.choice(spec["enum"]))}
        kind = spec.get("type")
        if kind == "number":
            return {name: float(self._rng.uniform(0, 10))}
        if kind == "boolean":
            return {name: bool(self._rng.integers(2))}
        return {name: "input"}

    def reflect(self, history: Sequence[Step]) -> str:
        """Nothing to reflect on."""
        return ""


def _lm_planner(task: str, seed: int = 0) -> Any:
    from avikit.eval.agent.lm_planner import lm_planner

    return lm_planner(task, seed=seed)


PLANNERS: dict[str, Callable[..., Any]] = {
    "scripted": ScriptedPlanner,
    "prior": PriorPlanner,
    "random": RandomPlanner,
    "lm": _lm_planner,
}
"""Planner name -> factory ``(task, seed)``."""


def get_planner(name: str, task: str, seed: int = 0) -> Any:
    """Build a planner by name for one agent task."""
    from avikit._registry import lookup

    return lookup(PLANNERS, name, "planner")(task, seed=seed)
