"""avikit models as tools on AVSynth clips: events in the clip's time, sync offsets, generated media."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.data.synth import generate
from avikit.eval.agent.model_tools import model_tools, runs_to_events
from avikit.eval.agent.toolbox import ToolBox


@pytest.fixture(scope="module")
def box() -> ToolBox:
    b = ToolBox(model_tools())
    _, clip = generate("test", 2)
    b.workspace.put(clip, "input")
    _, late = generate("test", 2, conditions={"av_offset_ms": 1000})
    b.workspace.put(late, "late")
    b.workspace.put(clip.with_waveform(None), "silent")
    return b


def test_runs_become_events() -> None:
    assert runs_to_events([[], ["a", "b"], ["a"], []], seconds=0.5) == [
        {"label": "a", "start": 0.5, "end": 1.5},
        {"label": "b", "start": 0.5, "end": 1.0},
    ]


def test_parse_events_gives_events_inside_the_clip(box: ToolBox) -> None:
    out = box.call("parse_events", {"clip": "input"})
    assert out["ok"]
    for row in out["result"]["audio"] + out["result"]["visual"]:
        assert 0 <= row["start"] < row["end"] <= 10


def test_check_sync_reads_the_sign_of_a_known_offset(box: ToolBox) -> None:
    clean = box.call("check_sync", {"clip": "input"})["result"]
    late = box.call("check_sync", {"clip": "late"})["result"]
    assert clean["in_sync"] and not late["in_sync"]
    assert late["offset_seconds"] == pytest.approx(1.0, abs=0.2)  # audio 1 s late, within one class (0.2 s)


def test_generate_audio_gives_a_silent_clip_a_soundtrack_of_its_length(box: ToolBox) -> None:
    out = box.call("generate_audio", {"clip": "silent"})
    assert out["ok"], out
    made = box.workspace.get(out["result"]["clip"])
    assert made.num_samples == 160000 and np.abs(made.waveform).max() > 0
    assert made.frames is box.workspace.get("silent").frames


def test_a_clip_without_video_is_an_error_not_a_crash(box: ToolBox) -> None:
    box.workspace.put(box.workspace.get("input").with_frames(None), "audio_only")
    out = box.call("classify", {"clip": "audio_only"})
    assert out["error"]["type"] == "tool_error" and "no video" in out["error"]["message"]


def test_a_media_file_of_other_rates_is_loaded_at_the_models_rates(box: ToolBox, tmp_path) -> None:
    from avikit.media import AVClip, save

    rng = np.random.default_rng(0)
    clip = AVClip(
        rng.integers(0, 255, (50, 72, 96, 3), dtype=np.uint8),
        rng.standard_normal((1, 44100 * 2)).astype(np.float32) * 0.1,
        25,
        44100,
    )
    path = save(clip, tmp_path / "other.mp4")
    out = box.call("classify", {"clip": str(path)})
    assert out["ok"], out
    assert len(out["result"]["labels"]) == 5
    box.workspace.put(clip, "raw")
    assert "resample its audio" in box.call("classify", {"clip": "raw"})["error"]["message"]


def test_every_other_model_tool_answers_in_the_clips_time(box: ToolBox) -> None:
    events = box.call("detect_events", {"clip": "input"})["result"]["events"]
    assert all(0 <= e["start"] < e["end"] <= 10 and 0 <= e["score"] <= 1 for e in events)
    labels = box.call("localize_event", {"clip": "input"})["result"]["events"]
    assert all(0 <= e["start"] < e["end"] <= 10 for e in labels)
    answer = box.call("answer_question", {"clip": "input", "question": "How many objects are in the video?"})
    assert answer["ok"] and answer["result"]["answer"] and 0 <= answer["result"]["evidence"]["start"] <= 10
    video = box.call("generate_video", {"clip": "input"})
    assert video["ok"], video
    made = box.workspace.get(video["result"]["clip"])
    assert made.frames.shape == box.workspace.get("input").frames.shape and made.waveform is not None
