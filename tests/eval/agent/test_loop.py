"""The agent loop and planners: budgets, answer validation, reflections, traces, and the benchmark files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from avikit.eval.agent.benchmark import run_agent_benchmark, run_agent_task
from avikit.eval.agent.loop import Action, run_agent
from avikit.eval.agent.media_tools import media_tools
from avikit.eval.agent.planners import PriorPlanner, RandomPlanner, ScriptedPlanner
from avikit.eval.agent.toolbox import ToolBox
from avikit.media import AVClip


class Looper:
    id = "looper"

    def start(self, prompt, tools, answer_schema):
        return ["probe"]

    def act(self, history):
        return Action("probe", {"clip": "input"})

    def reflect(self, history):
        return "again"


class BadAnswer(Looper):
    def act(self, history):
        return Action(answer={"seconds": "soon"})


def box() -> ToolBox:
    b = ToolBox(media_tools())
    b.workspace.put(AVClip(waveform=np.zeros((1, 8000), np.float32), sample_rate=16000), "input")
    return b


SCHEMA = {"type": "object", "properties": {"seconds": {"type": "number"}}, "required": ["seconds"]}


def test_the_budget_ends_a_run_that_never_answers() -> None:
    trace = run_agent(Looper(), box(), "?", SCHEMA, budget=3)
    assert trace.termination == "budget" and len(trace.steps) == 3 and trace.answer is None
    assert [s.reflection for s in trace.steps] == ["again"] * 3
    assert json.loads(json.dumps(trace.to_dict()))["steps"][0]["tool"] == "probe"


def test_an_answer_outside_the_schema_is_not_accepted() -> None:
    trace = run_agent(BadAnswer(), box(), "?", SCHEMA)
    assert trace.termination == "invalid_answer" and trace.answer is None


def test_scripted_planner_reflects_on_failures_and_falls_back() -> None:
    planner = ScriptedPlanner("agent-when-sounds")
    planner.start("Find when the dog sounds and report the second its first sound starts.", [], SCHEMA)
    first = planner.act([])
    assert (first.tool, first.arguments) == ("class_info", {"label": "dog"})
    trace = run_agent(ScriptedPlanner("agent-when-sounds"), ToolBox([]), "Find when the dog sounds.", SCHEMA)
    assert [s.tool for s in trace.steps] == ["class_info", "parse_events"]
    assert all("failed (unknown_tool)" in s.reflection for s in trace.steps)
    assert trace.answer == {"seconds": 0.0}


def test_prior_and_random_planners() -> None:
    prior = PriorPlanner("agent-speech-sync")
    assert set(prior.answer) == {"in_sync"} and prior.start("", [], {}) == []
    random = RandomPlanner("agent-loudest", seed=1)
    tools = box().openai_schemas()
    plan = random.start(
        "", tools, {"type": "object", "properties": {"label": {"type": "string", "enum": ["a", "b"]}}}
    )
    assert 1 <= len(plan) <= 3 and all(name in {"probe", "audio_level"} for name in plan)


def test_scripted_speech_sync_on_real_episodes_and_the_benchmark_files(tmp_path: Path) -> None:
    rows = run_agent_task("agent-speech-sync", lambda seed: ScriptedPlanner("agent-speech-sync"), n=4)
    assert all(r["trace"]["termination"] == "answer" for r in rows)
    assert np.mean([r["check"]["success"] for r in rows]) >= 0.5
    result = run_agent_benchmark("agent-speech-sync", ["prior"], tmp_path, n=3, k=2)
    row = result["rows"][0]
    assert row["scores"]["steps"] == 0 and row["scores"]["termination"] == 1.0
    assert row["scores"]["pass_k"] == row["scores"]["success"]  # a deterministic planner: pass^k = pass^1
    lines = (tmp_path / "traces.jsonl").read_text().splitlines()
    assert len(lines) == 6 and "| prior |" in (tmp_path / "leaderboard.md").read_text()


def test_rescoring_traces_gives_the_same_results(tmp_path: Path) -> None:
    from avikit.eval.agent.benchmark import rescore_agent_run

    first = run_agent_benchmark("agent-when-sounds", ["prior", "scripted"], tmp_path, n=2, k=2)
    again = rescore_agent_run(tmp_path)
    assert again["rows"] == json.loads(json.dumps(first["rows"]))
