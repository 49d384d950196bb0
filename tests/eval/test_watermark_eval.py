"""The watermark table on a handful of windows, and ``avikit detect`` on a watermarked file."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from avikit.cli.app import app
from avikit.data.synth.speech import render_speech
from avikit.eval.watermark import chance_levels, evaluate_watermarks, load_windows
from avikit.media import AVClip, save
from avikit.models.watermark import message_for, message_to_int
from avikit.models.watermark.spread_spectrum import SpreadSpectrumWatermarker


def test_windows_mix_avsynth_and_speech_and_are_audible():
    windows, kinds = load_windows("val", 6)
    assert windows.shape == (6, 32000) and kinds.count("speech") == 3
    assert (np.sqrt((windows.astype(np.float64) ** 2).mean(1)) > 1e-3).all()


def test_table_rows_and_their_bounds():
    table = evaluate_watermarks({"ss": SpreadSpectrumWatermarker()}, "val", num_null=20, num_marked=8,
                                num_localization=4, attacks=("none", "speed=1.1"), fprs=(0.1,))  # fmt: skip
    result = table["watermarkers"]["ss"]
    none, speed = result["rows"]
    assert none["tpr@fpr=0.1"] == 1.0 and none["bit_accuracy"] > 0.9 and none["auc"] == 1.0
    assert none["p_value"] <= 17 / 2**16 and none["localization_iou"] > 0.3  # median: at most 1 bit wrong
    assert speed["bit_accuracy"] < 0.9  # a speed change breaks the block length
    assert 20 < result["quality"]["si_snr"] < 27  # strength 0.0671 of the local RMS: about 23.5 dB
    assert table["chance"] == chance_levels((0.1,))


def test_cli_detect_names_the_generator(tmp_path):
    audio = render_speech(11, 3.0)
    marked = SpreadSpectrumWatermarker().embed(audio, message_for("avikit/v2a-flow"))
    path = save(AVClip(waveform=marked[None], sample_rate=16000), tmp_path / "out.wav")
    result = CliRunner().invoke(app, ["detect", str(path), "--method", "spread-spectrum", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)[0]
    assert report["detected"] == {"0.01": True, "0.001": True}
    assert report["generators"] == ["avikit/v2a-flow"]
    assert report["message"] == f"{message_to_int(message_for('avikit/v2a-flow')):04x}"
    assert report["segments"] and report["watermarked_share"] > 0.5
    result = CliRunner().invoke(app, ["detect", str(path), "--method", "nope"])
    assert result.exit_code != 0
