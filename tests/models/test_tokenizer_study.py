"""The tokenizer study end to end at a tiny setting: files, rows, rates and the CLI function."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from avikit.models.tokenizer_study import StudyConfig, run_tokenizer_study

TINY = StudyConfig(
    num_train=4,
    num_test=3,
    duration=1,
    strides=((4, 4, 16),),
    codebook_sizes=(16,),
    num_codebooks=2,
    steps=2,
    visual_steps=2,
    batch_size=2,
    crop_samples=2048,
)


def test_tiny_study_writes_table_json_and_plot(tmp_path):
    result = run_tokenizer_study(TINY, tmp_path)
    rows = result["audio"]
    assert [row["num_codebooks"] for row in rows] == [1, 2]
    assert rows[0]["frame_rate"] == 62.5 and rows[1]["bitrate"] == 2 * rows[0]["bitrate"] == 2 * 62.5 * 4
    assert all(0 <= row["av_retrieval_r1"] <= 1 and 0 < row["usage"] <= 1 for row in rows)
    assert result["visual"]["ssim"] <= 1
    assert json.loads((tmp_path / "tokenizer_study.json").read_text())["audio"] == rows
    assert (tmp_path / "tokenizer_study.md").read_text().count("\n| 62 |") == 2
    assert (tmp_path / "tokenizer_study.svg").read_text().startswith("<svg")


def test_study_command_runs(tmp_path, monkeypatch):
    import typer

    from avikit.cli import tokenizers

    monkeypatch.setattr(tokenizers, "StudyConfig", lambda **kwargs: TINY)
    app = typer.Typer()
    app.command()(tokenizers.study_cmd)
    outcome = CliRunner().invoke(app, ["--out", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    assert "SI-SDR" in outcome.output
