"""The tokenizer study end to end at a tiny setting: files, rows, rates, retrieval, learning and the CLI."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from avikit.studies.tokenizer_study import CodecSpec, StudyConfig, run_tokenizer_study

TINY = StudyConfig(
    num_train=8,
    num_test=6,
    num_reconstruct=3,
    duration=1,
    codecs=(
        CodecSpec((4, 4, 16), 16),
        CodecSpec((4, 4, 16), 16, semantic=True),
        CodecSpec((500,), 16, mel=True),
    ),
    num_codebooks=2,
    steps=40,
    visual_steps=2,
    batch_size=4,
    crop_samples=4096,
    probe_steps=20,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    return out, run_tokenizer_study(TINY, out)


def test_tiny_study_writes_table_json_and_plot(tiny):
    out, result = tiny
    rows = result["audio"]
    assert [(row["codec"], row["num_codebooks"]) for row in rows] == [
        ("acoustic", 1),
        ("acoustic", 2),
        ("semantic", 1),
        ("semantic", 2),
        ("mel", 1),
        ("mel", 2),
    ]
    assert rows[-1]["frame_rate"] == 32.0 and rows[-1]["bitrate"] == 32 * 2 * 4
    assert rows[0]["frame_rate"] == 62.5 and rows[1]["bitrate"] == 2 * rows[0]["bitrate"] == 2 * 62.5 * 4
    for row in [*rows, *result["references"].values()]:
        assert 0 <= row["av_r1_low"] <= row["av_r1"] <= row["av_r1_high"] <= 1
        assert row["av_chance_r1"] == 1 / 6 and row["av_num_clips"] == 6
    assert all(0 < row["usage"] <= 1 for row in rows)
    assert set(result["references"]) == {"log-mel", "encoder audio tokens", "encoder zero-shot"}
    assert result["visual"]["ssim"] <= 1
    assert json.loads((out / "tokenizer_study.json").read_text())["audio"] == rows
    table = (out / "tokenizer_study.md").read_text()
    assert table.count("\n| acoustic | 62 |") == 2 and table.count("\n| semantic | 62 |") == 2
    assert table.count("\n| mel | 32 |") == 2
    assert "\n| silence |" in table and "\n| chance | 0.167 |" in table
    svg = (out / "tokenizer_study.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 6 and "mean rank" in svg


def test_tiny_study_learns(tiny):
    _, result = tiny
    best = result["audio"][-1]
    assert best["loss_last"] < 0.8 * best["loss_first"]
    baselines = result["baselines"]
    assert best["mel_distance"] < 0.5 * baselines["silence"]["mel_distance"]
    assert best["mel_distance"] < baselines["noise"]["mel_distance"]


def test_study_command_runs(tmp_path, monkeypatch):
    import typer

    from avikit.cli import tokenizers

    quick = dataclasses.replace(TINY, steps=2)
    from avikit.studies import tokenizer_study

    monkeypatch.setattr(
        tokenizer_study, "StudyConfig", lambda **kwargs: quick
    )  # the command imports it lazily
    app = typer.Typer()
    app.command()(tokenizers.study_cmd)
    outcome = CliRunner().invoke(app, ["--out", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    assert "SI-SDR" in outcome.output and "A→V R@5" in outcome.output


def test_mel_codec_steps_must_be_whole_mel_frames():
    with pytest.raises(ValueError, match="multiple of 250"):
        CodecSpec((4, 4, 16), 16, mel=True)
    assert CodecSpec((1000,), 16, mel=True).name == "mel"


def test_bad_config_is_refused(tmp_path):
    with pytest.raises(ValueError, match="num_reconstruct"):
        run_tokenizer_study(dataclasses.replace(TINY, num_reconstruct=7), tmp_path)
