"""docs/models.md's "Evaluate your own model": the model class runs from Python and from the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

MODELS_DOC = Path(__file__).resolve().parents[1] / "docs" / "models.md"


def _section() -> str:
    text = MODELS_DOC.read_text()
    return text[text.index("## Evaluate your own model") :]


def test_own_model_runs_from_python_and_from_the_command_line(tmp_path: Path, monkeypatch) -> None:
    blocks = re.findall(r"```(python|bash)\n(.*?)```", _section(), flags=re.S)
    python = [code for kind, code in blocks if kind == "python"]
    bash = [code for kind, code in blocks if kind == "bash"]
    module, example = python[0], python[1]
    assert module.startswith("# my_models.py")
    (tmp_path / "my_models.py").write_text(module)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "doc"}
    exec(compile(module + "\n" + example, str(MODELS_DOC), "exec"), namespace)
    results = namespace["results"]
    scores = {c["model_id"]: c["scores"]["accuracy"] for c in results["cells"]}
    assert (
        set(scores) == {"me/loudness-avel", "chance-seed0"}
        and scores["me/loudness-avel"] > scores["chance-seed0"]
    )
    (command,) = [line for line in bash[0].splitlines() if line.startswith("avikit ")]
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    argv = [sys.executable, "-m", "avikit", *command.split()[1:]]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "me/loudness-avel" in done.stdout and (tmp_path / "runs/mine/results.json").is_file()


@pytest.mark.parametrize("line", ["--models my_models:missing", "--models no_module_xyz:build"])
def test_a_bad_import_path_is_one_line_and_exit_2(tmp_path: Path, line: str) -> None:
    (tmp_path / "my_models.py").write_text("def build():\n    return None\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    argv = [
        sys.executable,
        "-m",
        "avikit",
        "eval",
        "run",
        "--tasks",
        "avel",
        *line.split(),
        "--n",
        "2",
        "--out",
        "r",
    ]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and line.split()[1] in done.stderr


def _worker_section() -> str:
    text = MODELS_DOC.read_text()
    start = text.index("### Run your model in its own process")
    return text[start : text.index("\n### ", start + 1)]


def test_own_model_runs_in_a_worker_from_the_command_line_and_from_a_script(tmp_path: Path) -> None:
    from avikit.eval import RunConfig, run_evaluation
    from avikit.models.worker import WorkerModel

    blocks = re.findall(r"```(python|bash)\n(.*?)```", _worker_section(), flags=re.S)
    (command,) = [line for kind, code in blocks if kind == "bash" for line in code.splitlines()]
    (serve_script,) = [code for kind, code in blocks if kind == "python"]
    module = re.findall(r"```python\n(# my_models.py.*?)```", _section(), flags=re.S)[0]
    (tmp_path / "my_models.py").write_text(module)
    given = [str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    path = os.pathsep.join([str(tmp_path), *given])
    argv = [sys.executable, "-m", "avikit", *command.split()[1:]]
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (cell,) = json.loads((tmp_path / "runs/mine-worker/results.json").read_text())["cells"]

    (tmp_path / "serve_mine.py").write_text(serve_script)
    worker = WorkerModel([sys.executable, str(tmp_path / "serve_mine.py")], env={"PYTHONPATH": path})
    config = RunConfig(tasks=("avel",), models=("mine",), num_samples=8)
    try:
        (served,) = run_evaluation(config, tmp_path / "served", models={"mine": worker})["cells"]
    finally:
        worker.close()
    assert cell["model_id"] == served["model_id"] == "me/loudness-avel" and cell["complete"]
    assert cell["scores"] == served["scores"]
