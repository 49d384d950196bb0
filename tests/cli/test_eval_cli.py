"""``avikit eval run|report`` and ``avikit score`` through the sub-app and the score function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from avikit.cli.evaluate import eval_app, score
from avikit.data.manifest import read_manifest
from avikit.data.synth import prepare_avsynth
from avikit.tasks import get_task

runner = CliRunner()
score_app = typer.Typer()
score_app.command()(score)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("avsynth")
    prepare_avsynth(root, {"test": 4}, seed=0)
    return root


def _oracle_lines(task_name: str, dataset: Path) -> list[str]:
    task = get_task(task_name)
    samples = [s for s in read_manifest(dataset / "test.jsonl") if task.includes(s)]
    return [
        json.dumps(task.oracle_prediction(task.build_target(s, dataset), task.build_inputs(s)))
        for s in samples
    ]


def test_score_a_prediction_file(dataset: Path, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(_oracle_lines("avs-binary", dataset)) + "\n")
    result = runner.invoke(
        score_app, ["--task", "avs-binary", "--dataset", str(dataset), "--predictions", str(path), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scores"] == {"miou": 1.0, "f_score": 1.0} and data["count"] == 4


def test_bad_lines_name_line_and_field(dataset: Path, tmp_path: Path) -> None:
    lines = _oracle_lines("avel", dataset)
    path = tmp_path / "p.jsonl"
    cases = [
        ([*lines[:1], "{not json"], f"{path}:2: not valid JSON"),
        (
            [*lines[:1], json.dumps({"id": "nope", "labels": []})],
            f"{path}:2: field 'id': expected one of the 4",
        ),
        (lines[:1] + lines[:1], f"{path}:2: field 'id': sample 'test_000000' is predicted twice"),
        (lines[:3], "1 sample(s) have no prediction"),
    ]
    for content, message in cases:
        path.write_text("\n".join(content) + "\n")
        result = runner.invoke(
            score_app, ["--task", "avel", "--dataset", str(dataset), "--predictions", str(path)]
        )
        assert result.exit_code != 0 and message in str(result.exception), (message, result.exception)


def test_eval_run_and_report(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", "--out", str(out), "--tasks", "avel sync", "--models", "oracle", "--dataset", str(dataset),
            "--conditions", "clean", "--conditions", "audio_muted"]  # fmt: skip
    result = runner.invoke(eval_app, args)
    assert result.exit_code == 0, result.output
    assert "avel" in result.output and (out / "results.json").is_file()
    report = runner.invoke(eval_app, ["report", str(out), "--out", str(tmp_path / "rep")])
    assert report.exit_code == 0, report.output
    assert (tmp_path / "rep" / "report.html").is_file() and (tmp_path / "rep" / "results.md").is_file()
    assert (tmp_path / "rep" / "viewer.html").is_file() and "viewer.html" in report.output
