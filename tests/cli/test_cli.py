"""The command line: version, info (table and JSON), demo, and clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from avikit import __version__
from avikit.cli import app
from avikit.media import AVClip, save

runner = CliRunner()


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clip = AVClip(
        frames=np.full((25, 32, 48, 3), 80, np.uint8),
        waveform=np.zeros((2, 16000), np.float32),
        fps=25,
        sample_rate=16000,
    )
    return save(clip, tmp_path_factory.mktemp("cli") / "c.mp4")


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_info_json_has_the_documented_keys(clip_file: Path) -> None:
    result = runner.invoke(app, ["info", str(clip_file), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["duration"] == pytest.approx(1.0, abs=0.07)
    assert {"codec", "fps", "width", "height", "num_frames", "start"} <= set(data["video"])
    assert {"codec", "sample_rate", "channels", "num_samples", "start"} <= set(data["audio"])
    assert data["video"]["num_frames"] == 25 and data["audio"]["channels"] == 2


def test_info_absent_stream_is_null(tmp_path: Path) -> None:
    path = save(AVClip(waveform=np.zeros((1, 8000), np.float32), sample_rate=8000), tmp_path / "a.wav")
    data = json.loads(runner.invoke(app, ["info", str(path), "--json"]).output)
    assert data["video"] is None and data["audio"]["sample_rate"] == 8000
    table = runner.invoke(app, ["info", str(path)])
    assert table.exit_code == 0 and "absent" in table.output


def test_info_on_a_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["info", str(tmp_path / "missing.mp4")])
    assert result.exit_code != 0
    assert "missing.mp4" in str(result.exception)


def test_demo_measures_sync(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "demo.json").read_text())
    assert report["visual_onsets"] == report["audio_onsets"] == [1.32, 2.12, 2.92]
    assert report["max_sync_error"] <= 0.04  # within one frame at 25 fps
