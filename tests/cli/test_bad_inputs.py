"""Everyday mistakes: one line naming the file or argument and the fix; exit 2 for usage, 1 for bad data.

The command line runs in-process through :func:`avikit.cli.main`, exactly as the ``avikit`` script does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from avikit.cli import main
from avikit.data.synth import prepare_avsynth

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "datasets"


def _run(capsys, argv: list[str]) -> tuple[int, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as stopped:
        code = int(stopped.code or 0)
    return code, capsys.readouterr().err.strip()


@pytest.fixture(scope="module")
def avsynth(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("avsynth")
    prepare_avsynth(out, {"test": 2})
    return out


def _one_line(code: int, err: str, expected_code: int, *fragments: str) -> None:
    assert code == expected_code, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_score_missing_predictions_file(capsys, avsynth, tmp_path):
    code, err = _run(
        capsys,
        ["score", "--task", "avel", "--dataset", str(avsynth), "--predictions", str(tmp_path / "p.jsonl")],
    )
    _one_line(code, err, 2, "p.jsonl", "no such prediction file")


def test_score_predictions_that_are_a_folder(capsys, avsynth, tmp_path):
    code, err = _run(
        capsys, ["score", "--task", "avel", "--dataset", str(avsynth), "--predictions", str(tmp_path)]
    )
    _one_line(code, err, 2, "is a folder")


def test_score_missing_dataset_folder(capsys, tmp_path):
    code, err = _run(
        capsys, ["score", "--task", "avel", "--dataset", str(tmp_path / "nope"), "--predictions", "p"]
    )
    _one_line(code, err, 2, "no such dataset folder")


def test_unknown_task_model_split_condition(capsys, avsynth, tmp_path):
    code, err = _run(capsys, ["score", "--task", "nope", "--dataset", str(avsynth), "--predictions", "p"])
    _one_line(code, err, 2, "unknown task 'nope'", "avel")
    base = ["eval", "run", "--tasks", "avel", "--n", "2", "--out", str(tmp_path / "r")]
    code, err = _run(capsys, [*base, "--models", "nope"])
    _one_line(code, err, 2, "unknown model 'nope'", "package.module:factory")
    code, err = _run(capsys, [*base, "--models", "oracle", "--conditions", "foggy"])
    _one_line(code, err, 2, "unknown condition 'foggy'")
    code, err = _run(
        capsys, ["data", "synth", "--out", str(tmp_path / "s"), "--split", "test,nope", "--n", "1"]
    )
    _one_line(code, err, 2, "unknown AVSynth split 'nope'")


def test_out_of_range_values(capsys, tmp_path):
    code, err = _run(capsys, ["eval", "run", "--tasks", "avel", "--n", "0", "--out", str(tmp_path)])
    assert code == 2 and "--n" in err and "Traceback" not in err
    code, err = _run(
        capsys, ["eval", "run", "--tasks", "avel", "--n", "2", "--shard", "3/2", "--out", str(tmp_path)]
    )
    assert code == 2 and "--shard" in err


def test_binary_garbage_and_wrong_types_in_predictions(capsys, avsynth, tmp_path):
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"\x00\x9f\x92\x96\xff" * 20)
    code, err = _run(
        capsys, ["score", "--task", "sync", "--dataset", str(avsynth), "--predictions", str(garbage)]
    )
    _one_line(code, err, 1, "garbage.jsonl:1")
    ids = [json.loads(line)["id"] for line in (avsynth / "test.jsonl").read_text().splitlines()]
    for bad in ("1.0", "true"):
        preds = tmp_path / f"bad_{bad}.jsonl"
        rows = [{"id": i, "logits": [0.0] * 21} for i in ids]
        rows[0]["logits"][3] = bad if bad == "1.0" else True
        preds.write_text("".join(json.dumps(r) + "\n" for r in rows))
        code, err = _run(
            capsys, ["score", "--task", "sync", "--dataset", str(avsynth), "--predictions", str(preds)]
        )
        _one_line(code, err, 1, f"bad_{bad}.jsonl:1", "logits")


def test_malformed_annotation_line(capsys, tmp_path):
    root = tmp_path / "ave"
    shutil.copytree(FIXTURES / "ave", root)
    annotations = next(root.rglob("Annotations.txt"))
    annotations.write_text(annotations.read_text() + "Church bell&only-two-fields\n")
    code, err = _run(capsys, ["data", "prepare", "ave", "--root", str(root), "--out", str(tmp_path / "out")])
    _one_line(code, err, 1, "Annotations.txt")


def test_synth_refuses_a_non_empty_folder_and_resume_with_other_data_arguments(capsys, tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "notes.txt").write_text("mine")
    code, err = _run(capsys, ["data", "synth", "--out", str(tmp_path / "s"), "--n", "1"])
    _one_line(code, err, 2, "is not empty", "--overwrite")
    assert (tmp_path / "s" / "notes.txt").read_text() == "mine"  # nothing lost
    base = ["eval", "run", "--tasks", "avel", "--models", "oracle", "--out", str(tmp_path / "r")]
    assert _run(capsys, [*base, "--n", "2"])[0] == 0
    code, err = _run(capsys, [*base, "--n", "1"])
    _one_line(code, err, 2, "num_samples=2 (now 1)")


def test_debug_shows_the_traceback(capsys, avsynth, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such prediction file"):
        main(
            [
                "--debug",
                "score",
                "--task",
                "avel",
                "--dataset",
                str(avsynth),
                "--predictions",
                str(tmp_path / "p"),
            ]
        )


def test_real_format_dataset_mistakes(capsys, avsynth, tmp_path):
    """An unknown export format, an official layout not yet prepared, a task the dataset does not annotate,
    a recipe pointed at the wrong folder."""
    code, err = _run(capsys, ["data", "export", str(avsynth), str(tmp_path / "x"), "--format", "avee"])
    _one_line(code, err, 2, "unknown --format 'avee'", "ave, llp")
    assert not (tmp_path / "x").exists()
    official = tmp_path / "official"
    assert _run(capsys, ["data", "export", str(avsynth), str(official), "--format", "music-avqa"])[0] == 0
    run = ["eval", "run", "--tasks", "avqa", "--models", "oracle", "--out", str(tmp_path / "r")]
    code, err = _run(capsys, [*run, "--dataset", str(official)])
    _one_line(code, err, 2, f"{official} holds no test.jsonl", "avikit data prepare")
    prepared = tmp_path / "prepared"
    assert (
        _run(capsys, ["data", "prepare", "music-avqa", "--root", str(official), "--out", str(prepared)])[0]
        == 0
    )
    conditions = ["--conditions", "clean,noise_snr=0", "--out", str(tmp_path / "r0")]
    code, err = _run(capsys, [*run[:6], "--dataset", str(prepared), *conditions])
    _one_line(code, err, 2, "condition 'noise_snr=0' re-renders AVSynth clips", "audio_muted")
    code, err = _run(capsys, ["data", "export", str(prepared), str(tmp_path / "y"), "--format", "ave"])
    _one_line(code, err, 2, "written by `avikit data prepare`, not an AVSynth set")
    code, err = _run(capsys, [*run[:2], "--tasks", "avel", *run[4:], "--dataset", str(prepared)])
    _one_line(
        code,
        err,
        2,
        "task avel cannot be scored on dataset 'music-avqa'",
        "no 'classes' vocabulary",
        "choose a task the dataset annotates",
    )
    code, err = _run(
        capsys, ["data", "prepare", "ave", "--root", str(official), "--out", str(tmp_path / "p")]
    )
    _one_line(code, err, 2, "Annotations.txt not found", "--root")
    audioset = tmp_path / "audioset"  # splits balanced_train and eval, no media fetched
    root = str(FIXTURES / "audioset")
    assert _run(capsys, ["data", "prepare", "audioset", "--root", root, "--out", str(audioset)])[0] == 0
    run = [
        "eval",
        "run",
        "--tasks",
        "classification-multilabel",
        "--models",
        "oracle",
        "--dataset",
        str(audioset),
    ]
    code, err = _run(capsys, [*run, "--out", str(tmp_path / "r1")])
    _one_line(code, err, 2, "has no split 'test'; its splits are balanced_train, eval", "--split")
    code, err = _run(capsys, [*run, "--split", "eval", "--out", str(tmp_path / "r2")])
    _one_line(code, err, 2, "none of the 2 'eval' samples has its media", "--include-missing-media")


def test_view_of_a_folder_without_a_run(capsys, tmp_path):
    code, err = _run(capsys, ["eval", "view", str(tmp_path), "--out", str(tmp_path / "view")])
    _one_line(code, err, 2, str(tmp_path), "no results.json", "stream run")


def test_report_of_a_streaming_run_points_to_the_viewer(capsys, tmp_path):
    run = tmp_path / "stream-events"
    run.mkdir()
    (run / "results.json").write_text('{"task": "stream-events", "rows": []}')
    code, err = _run(capsys, ["eval", "report", str(run), "--out", str(tmp_path / "out")])
    _one_line(code, err, 2, "results.json is not an evaluation run", f"avikit eval view {run}")
