"""Media tools on real signals: exact shifts and cuts, filters measured, levels in closed form, files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avikit.eval.agent.media_tools import media_tools
from avikit.eval.agent.toolbox import ToolBox
from avikit.media import AVClip, probe

RATE = 16000


def tone(freq: float, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def box() -> ToolBox:
    b = ToolBox(media_tools())
    frames = np.zeros((16, 32, 32, 3), np.uint8)
    b.workspace.put(AVClip(frames, np.stack([tone(440, 2), tone(2000, 2)]), 8, RATE), "input")
    return b


def result(box: ToolBox, name: str, **args):
    out = box.call(name, args)
    assert out["ok"], out
    return out["result"]


def test_shift_audio_moves_samples_exactly_and_back(box: ToolBox) -> None:
    later = result(box, "shift_audio", clip="input", offset_ms=125)["clip"]
    back = result(box, "shift_audio", clip=later, offset_ms=-125)["clip"]
    original = box.workspace.get("input").waveform
    shifted = box.workspace.get(later).waveform
    np.testing.assert_array_equal(shifted[:, 2000:], original[:, :-2000])
    assert not shifted[:, :2000].any()
    np.testing.assert_array_equal(box.workspace.get(back).waveform[:, :-2000], original[:, :-2000])


def test_audio_level_of_a_sine_is_its_rms(box: ToolBox) -> None:
    level = result(box, "audio_level", clip="input", start=0.5, end=1.5)
    # a sine of amplitude a has RMS a / sqrt(2): 20 log10(0.5 / sqrt 2) = -9.03 dB
    assert level["channels_db"] == pytest.approx([-9.031, -9.031], abs=0.01)
    assert (level["start"], level["end"]) == (0.5, 1.5)


def test_band_stop_removes_its_band_over_its_span_only(box: ToolBox) -> None:
    out = result(box, "band_stop", clip="input", low_hz=350, high_hz=550, start=0.5, end=1.5)["clip"]
    inside = result(box, "audio_level", clip=out, start=0.75, end=1.25)["channels_db"]
    outside = result(box, "audio_level", clip=out, start=1.6, end=2.0)["channels_db"]
    assert inside[0] < -9.03 - 30  # the 440 Hz channel loses over 30 dB inside the span
    assert inside[1] == pytest.approx(-9.03, abs=0.1)  # 2 kHz is outside the band
    assert outside[0] == pytest.approx(-9.03, abs=0.01)  # untouched after the span


def test_band_levels_follow_a_tone_that_starts_midway(box: ToolBox) -> None:
    wave = np.zeros((1, 2 * RATE), np.float32)
    wave[0, RATE:] = tone(440, 1.0)
    box.workspace.put(AVClip(waveform=wave, sample_rate=RATE), "late")
    out = result(box, "band_levels", clip="late", low_hz=400, high_hz=480, hop_s=0.25)
    assert out["times"] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    levels = np.array(out["level_db"])
    assert (levels[:4] < -100).all()
    # Parseval with a Hann window: a sine of amplitude a over n samples carries a^2 * 3/32 of hop^2 power
    np.testing.assert_allclose(levels[4:], 10 * np.log10(0.25 * 3 / 32), atol=0.5)
    off_band = result(box, "band_levels", clip="late", low_hz=1000, high_hz=2000, hop_s=0.25)["level_db"]
    assert max(off_band) < levels[4] - 40


def test_mute_cut_mix_and_resample(box: ToolBox) -> None:
    muted = result(box, "mute", clip="input", start=0.25, end=0.5)
    assert muted["muted"] == [0.25, 0.5]
    assert not box.workspace.get(muted["clip"]).waveform[:, 4000:8000].any()
    cut = result(box, "cut", clip="input", start=0.5, duration=1.0)
    part = box.workspace.get(cut["clip"])
    assert part.num_frames == 8 and part.num_samples == RATE
    mixed = box.workspace.get(result(box, "mix", clip="input", other="input", gain_db=0)["clip"]).waveform
    np.testing.assert_allclose(mixed, 2 * box.workspace.get("input").waveform, atol=1e-6)
    low = box.workspace.get(result(box, "resample", clip="input", sample_rate=8000)["clip"])
    assert low.sample_rate == 8000 and low.num_samples == RATE


def test_save_writes_a_file_that_probes_back(box: ToolBox, tmp_path: Path) -> None:
    path = result(box, "save", clip="input", path=str(tmp_path / "x.mp4"))["path"]
    info = probe(path)
    assert info.video.num_frames == 16 and info.audio.sample_rate == RATE
    assert result(box, "probe", clip=path)["num_frames"] == 16  # a file path works as a clip


def test_errors_are_reported_not_raised(box: ToolBox) -> None:
    out = box.call("band_stop", {"clip": "input", "low_hz": 500, "high_hz": 9000})
    assert out["error"]["type"] == "tool_error" and "Nyquist" in out["error"]["message"]
    assert box.call("class_info", {"label": "unicorn"})["error"]["type"] == "invalid_arguments"
    assert result(box, "class_info", label="bell")["attributes"]["sound"] == "ring"
