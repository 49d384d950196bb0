"""Round trips with real media: AVSynth -> `data export` to an official layout -> the real recipe's `prepare`
-> `eval run`, against the native run of the same clips on the AVSynth folder.

Each source set is made at the geometry the format's recipe declares (e.g. AVE: 16 fps, 224 px), and from
classes that all occur in the exported files (the official files state no class list, so the prepared
vocabulary is what they hold); the native run then sees the same inputs and the same vocabulary. The oracle
reaches the maximum of every score of every task the prepared folder carries; the reference model gives
the same predictions and the same scores as on the same clips natively. Two layouts change the media: AVSBench
stores the audio as 16-bit wav, and AVSS its frames as JPEG, so there the reference model's scores are
compared within a stated tolerance.
"""

from __future__ import annotations

import csv
import functools
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from avikit.cli.evaluate import eval_app, score
from avikit.data.datasets import DATASETS
from avikit.data.export import export_dataset
from avikit.data.profile import read_profile
from avikit.data.synth import SynthConfig, prepare_avsynth
from avikit.errors import UsageError
from avikit.eval.runner import RunConfig, read_cell_records, run_evaluation
from avikit.eval.source import load_eval_data
from avikit.models.registry import get_model
from avikit.tasks import get_task

THREE = ("bell", "whistle", "dog")
score_app = typer.Typer()
score_app.command()(score)


@functools.cache
def _model(name: str) -> Any:
    return get_model(name)


def _make(root: Path, config: SynthConfig, clips: int, fmt: str, **options: Any) -> tuple[Path, Path, Path]:
    """The AVSynth folder, the official layout written from it and the folder its recipe prepares."""
    synth, official, prepared = root / "synth", root / f"official-{fmt}", root / f"prepared-{fmt}"
    if not synth.exists():
        prepare_avsynth(synth, {"test": clips}, seed=0, config=config)
    export_dataset(synth, official, fmt)
    DATASETS[fmt].prepare(official, prepared, **options)
    return synth, official, prepared


def _run(dataset: Path, out: Path, tasks: tuple[str, ...], model: str) -> dict[str, Any]:
    config = RunConfig(tasks=tasks, models=("oracle", model), dataset=str(dataset))
    return run_evaluation(config, out, models={model: _model(model)})


def _at_maximum(results: dict[str, Any]) -> None:
    """Every score of every oracle cell at its maximum (NaN: a score the dataset cannot state)."""
    cells = [cell for cell in results["cells"] if cell["model_id"] == "oracle"]
    assert cells
    for cell in cells:
        spec = get_task(cell["task"]).spec
        best = 100.0 if spec.unit == "percent" else 1.0
        assert cell["complete"] and cell["count"] > 0, cell["task"]
        for key, value in cell["scores"].items():
            if isinstance(value, str):
                assert math.isnan(float(value)) and key == "evidence_iou", (cell["task"], key, value)
                continue
            expected = 1.0 if key in spec.lower_is_better else best
            assert value == pytest.approx(expected, abs=1e-6), (cell["task"], key)  # float32 metric sums


def _native_scores(synth: Path, native: Path, task_name: str, model: str, ids: list[str]) -> dict[str, float]:
    """The native run's scores on exactly the clips ``ids``, in that order."""
    data = load_eval_data(synth)
    task = get_task(task_name).for_dataset(data.profile)
    records = read_cell_records(native, task_name, model, "clean")
    by_id = {s.id: s for s in data.samples}
    samples = [by_id[i] for i in ids]
    predictions = [
        task.check_prediction(records[s.id]["prediction"], task.build_inputs(s), s.id) for s in samples
    ]
    return task.evaluate(predictions, [task.build_target(s, data.root) for s in samples]).scores


def _compare(
    root: Path, synth: Path, rt: dict[str, Any], task_name: str, model: str, back: Any, tolerance: float = 0.0
) -> dict[str, Any]:
    """The round trip's cell against the native run of the same clips; returns the round trip's cell."""
    cell = next(c for c in rt["cells"] if c["task"] == task_name and c["model_id"] == model)
    assert cell["complete"] and cell["resampled"]["frames"].endswith("(area average)")
    ours = read_cell_records(root / "rt", task_name, model, "clean")
    theirs = read_cell_records(root / "native", task_name, model, "clean")
    ids = [back(i) for i in ours]
    if tolerance == 0.0:
        for i, record in ours.items():
            assert record["prediction"] | {"id": ""} == theirs[back(i)]["prediction"] | {"id": ""}, i
    native = _native_scores(synth, root / "native", task_name, model, ids)
    for key, value in cell["scores"].items():
        assert value == pytest.approx(native[key], abs=tolerance or 1e-12), key
    return cell


def _scored_from_a_file(prepared: Path, run: Path, cell: dict[str, Any], tmp_path: Path) -> None:
    """`avikit score` of the run's own predictions, written as a prediction file, gives the run's scores."""
    records = read_cell_records(run, cell["task"], cell["model_id"], "clean")
    path = tmp_path / f"{cell['task']}-{cell['model_id'].replace('/', '_')}.jsonl"
    path.write_text("".join(json.dumps({**r["prediction"], "id": i}) + "\n" for i, r in records.items()))
    result = CliRunner().invoke(score_app, ["--task", cell["task"], "--dataset", str(prepared),
                                            "--predictions", str(path), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)["scores"]
    assert scores == pytest.approx({k: float(v) for k, v in cell["scores"].items()}, nan_ok=True)


def test_ave_round_trip_through_the_cli(tmp_path: Path) -> None:
    config = SynthConfig(fps=16, size=224, classes=("bell", "whistle"))  # AVE: 16 fps, 224 px
    synth, _, prepared = _make(tmp_path, config, 4, "ave")
    assert set(read_profile(prepared).labels("classes")) == set(config.classes)
    model = "avikit/avel"
    args = ["run", "--dataset", str(prepared), "--tasks", "avel", "--models", f"{model},oracle",
            "--out", str(tmp_path / "rt")]  # fmt: skip
    result = CliRunner().invoke(eval_app, args)
    assert result.exit_code == 0, result.output
    rt = json.loads((tmp_path / "rt" / "results.json").read_text())
    tasks = ("avel", "avel-cross-modal", "dense-localization", "classification")
    _at_maximum(_run(prepared, tmp_path / "rt-oracle", tasks, "oracle"))
    _run(synth, tmp_path / "native", ("avel",), model)
    cell = _compare(tmp_path, synth, rt, "avel", model, lambda i: i)
    _scored_from_a_file(prepared, tmp_path / "rt", cell, tmp_path)
    assert cell["count"] == 3 and cell["resampled"] == {
        "frames": "16 fps at 224x224 px -> one frame per segment at 64x64 px (area average)"
    }


def test_llp_round_trip(tmp_path: Path) -> None:
    config = SynthConfig(fps=8, size=224, classes=("bell", "dog"))  # LLP: 8 fps, 224 px
    synth, official, prepared = _make(tmp_path, config, 4, "llp", check_classes=False)
    assert set(read_profile(prepared).labels("classes")) == set(config.classes)
    rows = csv.DictReader((official / "avsynth_ids.tsv").open(encoding="utf-8"), delimiter="\t")
    back = {row["filename"]: row["avsynth_id"] for row in rows}.__getitem__
    model = "avikit/avvp"
    rt = _run(prepared, tmp_path / "rt", ("avvp", "dense-localization", "classification-multilabel"), model)
    _at_maximum(rt)
    _run(synth, tmp_path / "native", ("avvp",), model)
    cell = _compare(tmp_path, synth, rt, "avvp", model, back)
    assert cell["count"] == 4
    _scored_from_a_file(prepared, tmp_path / "rt", cell, tmp_path)


@pytest.mark.parametrize(
    ("fmt", "tasks", "tolerance"),
    [
        ("avsbench-s4", ("avs-binary",), 2e-3),
        ("avsbench-ms3", ("avs-binary",), 2e-3),
        ("avsbench-avss", ("avs-binary", "avs-semantic"), 5e-3),
    ],
)
def test_avsbench_round_trips(tmp_path: Path, fmt: str, tasks: tuple[str, ...], tolerance: float) -> None:
    """Tolerance: the layouts keep the audio as 16-bit wav (a 2^-15 step) and AVSS its frames as JPEG; both
    move a few mask pixels of the reference model, by less than 1e-3 mIoU on these clips."""
    config = SynthConfig(fps=8, size=224, classes=THREE)  # AVSBench: 224 px frames, one a second
    synth, _, prepared = _make(tmp_path, config, 4, fmt)
    model = "avikit/avs"
    rt = _run(prepared, tmp_path / "rt", tasks, model)
    _at_maximum(rt)
    _run(synth, tmp_path / "native", tasks, model)
    for task_name in tasks:
        cell = _compare(tmp_path, synth, rt, task_name, model, lambda i: i, tolerance)
        _scored_from_a_file(prepared, tmp_path / "rt", cell, tmp_path)


def test_avsbench_ms3_round_trip_keeps_the_masks(tmp_path: Path) -> None:
    synth, _, prepared = _make(tmp_path, SynthConfig(fps=8, size=224, classes=THREE), 4, "avsbench-ms3")
    data = load_eval_data(prepared)
    task = get_task("avs-binary").for_dataset(data.profile)
    native = load_eval_data(synth)
    truth = {
        s.id: get_task("avs-binary").for_dataset(native.profile).build_target(s, synth)
        for s in native.samples
    }
    for sample in data.samples:  # the exported PNG masks are the native masks, pixel for pixel
        assert (task.build_target(sample, prepared)["masks"] == truth[sample.id]["masks"]).all()
    _at_maximum(_run(prepared, tmp_path / "rt", ("avs-binary",), "oracle"))


def test_unav100_round_trip(tmp_path: Path) -> None:
    config = SynthConfig(fps=25, size=224, duration=Fraction(4), classes=("bell", "dog"))  # 25 fps, 224 px
    synth, _, prepared = _make(tmp_path, config, 4, "unav100")
    assert set(read_profile(prepared).labels("classes")) == set(config.classes)
    model = "avikit/dense-localization"
    rt = _run(prepared, tmp_path / "rt", ("dense-localization",), model)
    _at_maximum(rt)
    _run(synth, tmp_path / "native", ("dense-localization",), model)
    cell = _compare(tmp_path, synth, rt, "dense-localization", model, lambda i: i)
    _scored_from_a_file(prepared, tmp_path / "rt", cell, tmp_path)


def test_music_avqa_round_trip(tmp_path: Path) -> None:
    config = SynthConfig(fps=1, size=224, classes=THREE)  # MUSIC-AVQA: 1 frame a second, 224 px
    synth, _, prepared = _make(tmp_path, config, 4, "music-avqa")
    model = "avikit/avqa"
    rt = _run(prepared, tmp_path / "rt", ("avqa",), model)
    _at_maximum(rt)  # no evidence spans in the official files: evidence_iou is NaN
    _run(synth, tmp_path / "native", ("avqa",), model)
    cell = next(c for c in rt["cells"] if c["model_id"] == model)
    _scored_from_a_file(prepared, tmp_path / "rt", cell, tmp_path)
    assert math.isnan(float(cell["scores"].pop("evidence_iou")))
    rt["cells"] = [cell]
    _compare(tmp_path, synth, rt, "avqa", model, lambda i: i)
    # The language tasks ask the same questions of the round trip as natively: a blind model answers the
    # same words and scores the same; the oracle reaches 100 in words and as choices.
    words = _run(prepared, tmp_path / "rt-words", ("avqa-words", "avqa-choice"), "text-prior")
    native_words = _run(synth, tmp_path / "native-words", ("avqa-words",), "text-prior")
    for cell in words["cells"]:
        assert cell["complete"] and cell["count"] == 4
        if cell["model_id"] == "oracle":
            assert cell["scores"]["overall"] == pytest.approx(100.0)
            assert cell["scores"].get("unparsed", 0.0) == 0.0
    (ours,) = [c for c in words["cells"] if c["task"] == "avqa-words" and c["model_id"] == "text-prior"]
    (theirs,) = [c for c in native_words["cells"] if c["model_id"] == "text-prior"]
    assert ours["scores"] == theirs["scores"] and theirs["count"] == 4
    for name in ("av-caption", "av-grounding", "av-hallucination", "av-faithfulness"):  # AVSynth's own truth
        with pytest.raises(UsageError, match=f"task {name} scores no sample of 'music-avqa'"):
            _run(prepared, tmp_path / name, (name,), "oracle")
