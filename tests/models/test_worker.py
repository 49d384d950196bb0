"""Models in worker processes: the same records as in-process, and every failure one line or an error record.

Every test runs real processes: avikit's worker server hosting a packaged model or a model of
``tests/models/worker_models.py``, or a few lines of Python that break the protocol on purpose.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from avikit.data.synth import generate, load_clip
from avikit.errors import UsageError, WorkerError
from avikit.eval.predict import ItemFactory, OpaqueIds, predict_records
from avikit.eval.runner import RunConfig, read_cell_records, run_evaluation
from avikit.models import get_model
from avikit.models.worker import WorkerModel, worker_command
from avikit.models.worker_channel import PASSED_ENVIRONMENT
from avikit.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]
TEST_PATH = {"PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}  # the worker imports tests.models

READY = """
    import json, os, sys
    sys.stdin.readline()
    def say(message):
        print(json.dumps(message), flush=True)
    say({"type": "ready", "protocol": 1, "id": "fake", "weights_hash": "none", "tasks": ["sync"]})
"""


def _script(after_handshake: str = "", handshake: str = READY) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(handshake) + textwrap.dedent(after_handshake)]


def _factory(task_name: str, count: int, control: str | None = None) -> tuple[Any, list[Any], ItemFactory]:
    task, samples = get_task(task_name), [generate("test", i)[0] for i in range(count)]
    return task, samples, ItemFactory(task, lambda s: load_clip(s, None), OpaqueIds(b"k"), control)


def _without_times(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "predict_seconds"} for r in records]


def test_a_packaged_model_gives_the_same_records_and_scores_in_a_worker(tmp_path: Path) -> None:
    task, samples, factory = _factory("avel", 4)
    with WorkerModel(worker_command("avel")) as worker:
        through_worker = predict_records(task, worker, samples, factory)
    in_process = predict_records(task, get_model("avel"), samples, factory)
    assert worker.id == "avikit/avel" and "error" not in through_worker[0]
    assert _without_times(through_worker) == _without_times(in_process)  # JSON numbers round-trip exactly

    config = RunConfig(tasks=("avel",), models=("avel",), num_samples=4)
    direct = run_evaluation(config, tmp_path / "direct")
    hosted = run_evaluation(
        RunConfig(tasks=("avel",), models=("worker:avel",), num_samples=4), tmp_path / "w"
    )
    assert [c["scores"] for c in hosted["cells"]] == [c["scores"] for c in direct["cells"]]
    records = [read_cell_records(tmp_path / run, "avel", "avikit/avel", "clean") for run in ("direct", "w")]
    direct_records, hosted_records = (_without_times(list(r.values())) for r in records)
    assert hosted_records == direct_records


def test_a_generator_in_a_worker_writes_the_same_files_into_the_run(tmp_path: Path) -> None:
    from tests.models.worker_models import LoudnessV2A

    task, samples, factory = _factory("v2a", 2)
    spec = "tests.models.worker_models:LoudnessV2A"
    with WorkerModel(worker_command(spec), env=TEST_PATH) as worker:
        hosted = predict_records(task, worker, samples, factory, output_dir=tmp_path / "w")
    direct = predict_records(task, LoudnessV2A(), samples, factory, output_dir=tmp_path / "d")
    for ours, theirs in zip(hosted, direct, strict=True):
        path, reference = Path(ours["prediction"]["audio"]), Path(theirs["prediction"]["audio"])
        assert path.parent == tmp_path / "w" and path.name == reference.name
        np.testing.assert_array_equal(np.load(path), np.load(reference))


def test_the_worker_starts_in_an_empty_folder_with_only_the_passed_variables(monkeypatch) -> None:
    monkeypatch.setenv("AVIKIT_RUN_FOLDER", "/somewhere/secret")
    shows = """
        import json, os, sys
        sys.stdin.readline()
        seen = {"cwd": os.getcwd(), "files": os.listdir("."), "env": sorted(os.environ)}
        print(json.dumps({"type": "ready", "protocol": 1, "id": json.dumps(seen), "weights_hash": "-",
                          "tasks": []}), flush=True)
    """
    with WorkerModel(_script(handshake=shows)) as worker:
        seen = json.loads(worker.id)
    assert seen["files"] == [] and Path(seen["cwd"]).resolve() != Path.cwd().resolve()
    assert set(seen["env"]) <= set(PASSED_ENVIRONMENT), set(seen["env"]) - set(PASSED_ENVIRONMENT)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (
            ["-c", "import sys; sys.stderr.write('no device here\\n'); sys.exit(3)"],
            "exited with status 3: no",
        ),
        (
            ["-c", 'import sys; sys.stdin.readline(); print(\'{"type": "ready", "protocol": 2}\')'],
            "protocol 1",
        ),
        (["-c", "import sys; sys.stdin.readline(); print('ready!', flush=True)"], "is not JSON"),
        (
            ["-m", "avikit.models.worker_server", "no_such_module_xyz:build"],
            "refused to start: cannot build the model: ",
        ),
    ],
    ids=["exits", "wrong-version", "not-json", "unknown-model"],
)
def test_a_worker_that_cannot_start_is_one_line(script: list[str], message: str) -> None:
    with pytest.raises(WorkerError) as error:
        WorkerModel([sys.executable, *script], start_timeout=60)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_missing_program_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="cannot start"):
        WorkerModel(["/no/such/program-xyz"])


@pytest.mark.parametrize(
    ("after_handshake", "message"),
    [
        ("sys.stdin.readline(); print('oops', flush=True); sys.stdin.read()", "is not JSON"),
        ("import time; sys.stdin.readline(); time.sleep(60)", "did not answer within 0.5 s"),
        ("sys.stdin.readline(); sys.exit(5)", "exited with status 5"),
        (
            "for n, _ in enumerate(sys.stdin, 1):\n say({'type': 'predictions', 'call': n, 'results': []})",
            "expected {'type': 'predictions'",
        ),
    ],
    ids=["bad-json", "timeout", "dies", "wrong-count"],
)
def test_a_failing_worker_leaves_one_line_error_records(after_handshake: str, message: str) -> None:
    task, samples, factory = _factory("sync", 2)
    # the sleeping worker must miss its deadline; the others answer at once, well within a loaded CI's 60 s
    model = WorkerModel(_script(after_handshake), timeout=0.5 if "sleep" in after_handshake else 60)
    try:
        records = predict_records(task, model, samples, factory)
    finally:
        model.close()
    assert [r["id"] for r in records] == [s.id for s in samples]
    for record in records:
        assert record["error"].startswith("WorkerError: worker fake ") and message in record["error"], record
        assert "\n" not in record["error"]


def test_errors_inside_the_worker_are_error_records_and_a_dead_worker_restarts() -> None:
    task, samples, _ = _factory("sync", 2)
    with WorkerModel(worker_command("tests.models.worker_models:Fragile"), env=TEST_PATH) as worker:
        muted = ItemFactory(task, lambda s: load_clip(s, None), OpaqueIds(b"k"), "audio_muted")
        raised = predict_records(task, worker, samples, muted)
        blanked = ItemFactory(task, lambda s: load_clip(s, None), OpaqueIds(b"k"), "video_blanked")
        died = predict_records(task, worker, samples, blanked, [0])
        clean = predict_records(
            task, worker, samples, ItemFactory(task, lambda s: load_clip(s, None), OpaqueIds(b"k"))
        )
    assert all("ValueError: silent audio" in r["error"] for r in raised)
    assert "exited with status 7" in died[0]["error"]
    assert all("error" not in r for r in clean)  # started again after the exit


def test_a_prediction_that_is_not_json_is_an_error_record_as_in_process() -> None:
    from tests.models.worker_models import ReturnsArrays

    task, samples, factory = _factory("sync", 1)
    with WorkerModel(worker_command("tests.models.worker_models:ReturnsArrays"), env=TEST_PATH) as worker:
        (hosted,) = predict_records(task, worker, samples, factory)
    (direct,) = predict_records(task, ReturnsArrays(), samples, factory)
    assert "not JSON serializable" in hosted["error"] and "not JSON serializable" in direct["error"]


def test_worker_prefix_in_the_registry() -> None:
    with pytest.raises(UsageError, match="worker:NAME"):
        get_model("worker:")


def test_the_server_refuses_another_protocol_version_and_another_protocol_hash() -> None:
    import io

    from avikit.models.baselines import ConstantModel
    from avikit.models.worker_server import serve

    answers = io.StringIO()
    assert serve(ConstantModel(), io.StringIO('{"type": "hello", "protocol": 2}\n'), answers) == 1
    (refusal,) = [json.loads(line) for line in answers.getvalue().splitlines()]
    assert refusal == {"type": "error", "message": "this worker speaks protocol 1, the harness 2"}

    task = {"name": "sync", "split": "test", "profile": None, "protocol_hash": "0" * 16}
    asked = json.dumps({"type": "predict", "call": 1, "task": task, "items": []})
    answers = io.StringIO()
    serve(ConstantModel(), io.StringIO(asked + "\n" + '{"type": "shutdown"}\n'), answers)
    error = json.loads(answers.getvalue().splitlines()[0])
    assert error["type"] == "error" and error["call"] == 1
    assert f"protocol hash {get_task('sync').spec.protocol_hash}, the harness {'0' * 16}" in error["message"]


def test_a_generator_s_watermark_is_set_in_its_worker_and_survives_a_restart(tmp_path: Path) -> None:
    from avikit.models.watermark import set_watermarking
    from tests.models.worker_models import MarkedV2A

    task, samples, factory = _factory("v2a", 1)

    def audio(model: Any, folder: str) -> np.ndarray:
        (record,) = predict_records(task, model, samples, factory, output_dir=tmp_path / folder)
        return np.load(record["prediction"]["audio"])

    direct = MarkedV2A()
    with WorkerModel(worker_command("tests.models.worker_models:MarkedV2A"), env=TEST_PATH) as worker:
        assert worker.weights_hash == direct.weights_hash and worker.watermarker is not None
        marked = audio(direct, "on-d")
        np.testing.assert_array_equal(audio(worker, "on-w"), marked)
        assert set_watermarking(worker, False) and set_watermarking(direct, False)
        assert worker.weights_hash == direct.weights_hash == "none"
        unmarked = audio(direct, "off-d")
        np.testing.assert_array_equal(audio(worker, "off-w"), unmarked)
        assert worker._channel is not None
        worker._channel.process.kill()  # the restarted worker gets the watermark off again
        worker._channel.process.wait()
        np.testing.assert_array_equal(audio(worker, "restarted"), unmarked)
    assert not np.array_equal(marked, unmarked)  # the watermark is there to be turned off
