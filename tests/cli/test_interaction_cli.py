"""``avikit agent|stream|embodied``: each prints a leaderboard with intervals and writes its files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from avikit.cli import app

runner = CliRunner()


def test_agent_run_prints_the_planner_and_the_prior_baseline(tmp_path: Path) -> None:
    args = [
        "agent",
        "run",
        "--task",
        "agent-speech-sync",
        "--planner",
        "scripted",
        "--n",
        "2",
        "--k",
        "1",
        "--out",
        str(tmp_path),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "| scripted |" in result.output and "| prior |" in result.output
    assert (tmp_path / "agent-speech-sync" / "traces.jsonl").is_file()


def test_agent_tools_lists_openai_schemas() -> None:
    result = runner.invoke(app, ["agent", "tools"])
    assert result.exit_code == 0
    names = {t["function"]["name"] for t in json.loads(result.output)}
    assert {"probe", "parse_events", "transcribe", "detect_faces"} <= names


def test_embodied_run_prints_controls_and_steps_per_second(tmp_path: Path) -> None:
    args = [
        "embodied",
        "run",
        "--task",
        "audiogoal",
        "--policy",
        "heuristic",
        "--episodes",
        "3",
        "--out",
        str(tmp_path),
        "--speed-steps",
        "2",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "| heuristic | none |" in result.output and "| random | blind |" in result.output
    assert "steps/s" in result.output
    view = runner.invoke(app, ["eval", "view", str(tmp_path / "audiogoal"), "--out", str(tmp_path / "view")])
    assert view.exit_code == 0, view.output
    page = (tmp_path / "view" / "viewer.html").read_text()
    assert page.count('"view":"episodes"') == 6  # heuristic and random, each under three controls


def test_stream_run_prints_the_leaderboard(tmp_path: Path) -> None:
    args = [
        "stream",
        "run",
        "--task",
        "stream-events",
        "--model",
        "bands",
        "--n",
        "1",
        "--out",
        str(tmp_path),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "| bands |" in result.output and "| silent |" in result.output and "offline" in result.output


def test_stream_file_reports_a_real_files_events(tmp_path: Path) -> None:
    from avikit.data.synth import generate
    from avikit.media import save

    _, clip = generate("test", 4)
    path = save(clip, tmp_path / "clip.mp4")
    result = runner.invoke(app, ["stream", "file", str(path), "--model", "bands"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["stream_seconds"] == 10.0 and report["events"]
    assert all(e["onset"] <= e["time"] <= 10.0 for e in report["events"] if e["kind"] == "onset")
