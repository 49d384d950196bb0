"""report.html and results.md of a real run: energy per model, AV gain or its absence, gains over chance."""

from __future__ import annotations

import json
from pathlib import Path

from avikit.eval.energy import summarize_energy
from avikit.eval.report import build_report
from avikit.eval.runner import RunConfig, run_evaluation


def test_report_shows_energy_per_model_and_says_why_there_is_no_av_gain(tmp_path: Path) -> None:
    run_evaluation(RunConfig(tasks=("avel",), models=("oracle", "chance"), num_samples=4), tmp_path / "run")
    records = [{"model": "oracle", "energy_kwh": 2e-6, "emissions_kg": 1e-6, "seconds": 1.5},
               {"model": "oracle", "energy_kwh": 1e-6, "emissions_kg": 5e-7, "seconds": 0.5},
               {"model": "chance-seed0", "energy_kwh": 4e-7, "emissions_kg": None, "seconds": 0.2}]  # fmt: skip
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    results["energy"] = summarize_energy(records)
    (tmp_path / "run" / "results.json").write_text(json.dumps(results))
    markdown, html = build_report([tmp_path / "run"], tmp_path / "out", viewer=False)
    text = markdown.read_text()
    assert (
        "| run | oracle | 0.0030 | 0.0015 | 2.0 | - |" in text
    )  # 3e-6 kWh = 0.0030 Wh; 1.5e-6 kg = 0.0015 g
    assert "| run | chance-seed0 | 0.0004 | - | 0.2 | - |" in text  # an unknown CO2 stays unknown
    page = html.read_text()
    assert "Energy per model" in page and "No model ran under both controls" in page
    assert "viewer.html" not in page and not (tmp_path / "out" / "viewer.html").exists()
    assert "vs chance-seed0" in text and "| avel | run | chance-seed0 | baseline |" in text


def test_the_viewer_names_a_missing_dataset_and_the_way_out(tmp_path: Path) -> None:
    import pytest

    from avikit.errors import InputFileError

    run_evaluation(RunConfig(tasks=("avel",), models=("oracle",), num_samples=2), tmp_path / "run")
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    results["run"]["config"]["dataset"] = str(tmp_path / "moved-away")
    (tmp_path / "run" / "results.json").write_text(json.dumps(results))
    with pytest.raises(InputFileError, match="moved-away.*--no-viewer"):
        build_report([tmp_path / "run"], tmp_path / "out")
