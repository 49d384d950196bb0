from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from avikit.cli.data import data_app
from avikit.data import read_card, read_manifest
from avikit.data.synth import generate, load_clip, prepare_avsynth
from avikit.data.validate import validate_dataset
from avikit.media import probe


def test_set_on_disk_has_real_media_manifest_and_card(synth_dir):
    samples = read_manifest(synth_dir / "manifest.jsonl")
    assert len(samples) == 13
    card = read_card(synth_dir / "card.json")
    assert dict(card.split_counts) == {"open_test": 2, "test": 6, "train": 3, "val": 2}
    assert card.licence == "CC0-1.0" and card.params["seed"] == 0
    assert sum(card.class_counts.values()) >= 13
    info = probe(synth_dir / samples[0].media.path)
    assert info.video.codec == "h264" and info.audio.codec == "aac"
    assert (info.video.width, info.video.num_frames, info.audio.sample_rate) == (128, 80, 16000)


def test_decoded_file_matches_the_generated_clip(synth_dir):
    sample = read_manifest(synth_dir / "test.jsonl")[1]
    disk = load_clip(sample, synth_dir)
    _, memory = generate("test", 1)
    psnr = 10 * np.log10(255**2 / np.mean((disk.frames.astype(float) - memory.frames) ** 2))
    assert psnr > 30
    a, b = disk.waveform[:, 4000:-4000], memory.waveform[:, 4000:-4000]
    corr = np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))
    assert corr > 0.95


def test_validate_accepts_a_good_set_and_catches_problems(synth_dir, tmp_path):
    report = validate_dataset(synth_dir)
    assert report.ok, report.problems
    assert report.checked == 13
    bad = tmp_path / "bad"
    prepare_avsynth(bad, {"test": 2})
    lines = (bad / "manifest.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    row["targets"]["qa"][0]["answer"] = "forty-two"
    row["targets"]["avel"][0] = "unicorn"
    lines[0] = json.dumps(row)
    (bad / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    (bad / "clips" / "test_000001.mp4").write_bytes(b"not a video")
    problems = "\n".join(validate_dataset(bad).problems)
    assert "forty-two" in problems and "AVEL" in problems and "test_000001" in problems


def test_prepare_is_idempotent_and_a_cut_short_run_leaves_no_card(tmp_path):
    out = tmp_path / "set"
    prepare_avsynth(out, {"test": 2})
    stamp = (out / "test.jsonl").stat().st_mtime_ns
    prepare_avsynth(out, {"test": 2})
    assert (out / "test.jsonl").stat().st_mtime_ns == stamp

    def stop(split, done):
        if done == 2:
            raise KeyboardInterrupt

    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        prepare_avsynth(cut, {"test": 3}, progress=stop)
    assert not (cut / "card.json").exists() and not (cut / "manifest.jsonl").exists()
    assert not list(cut.rglob("*.part"))
    with pytest.raises(ValueError, match="valid splits are"):
        prepare_avsynth(cut, {"dev": 1})


def test_cli_synth_validate_export(tmp_path):
    app = typer.Typer()
    app.add_typer(data_app, name="data")
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(
        app, ["data", "synth", "--out", str(out), "--n", "2", "--condition", "noise_snr=20"]
    )
    assert result.exit_code == 0, result.output
    assert read_manifest(out / "manifest.jsonl")[0].target("conditions")["applied"] == {"noise_snr": 20.0}
    assert runner.invoke(app, ["data", "validate", str(out)]).exit_code == 0
    result = runner.invoke(app, ["data", "export", "--format", "llp", str(out), str(tmp_path / "llp")])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(app, ["data", "synth", "--out", str(out), "--condition", "fog=1"])
    assert bad.exit_code != 0 and "valid conditions are" in str(bad.exception)
    bad = runner.invoke(app, ["data", "export", "--format", "ave2", str(out), str(tmp_path / "x")])
    assert "valid formats are" in str(bad.exception)
