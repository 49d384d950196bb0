"""LLaMA-Factory / ms-swift export with real media files, and an import that counts every media error."""

from __future__ import annotations

import json

import pytest

from avikit.data.export.sharegpt import export_sharegpt, import_sharegpt
from avikit.data.instructions import build_instructions
from avikit.data.preferences import build_preference_pairs
from avikit.data.synth import generate
from avikit.errors import DataError


@pytest.fixture(scope="module")
def clip_set():
    sample, clip = generate("test", 1)[:2]
    targets = sample.to_dict()["targets"]
    records = build_instructions(targets, sample.id, "test", ("qa", "caption"))
    return {sample.id: clip}, records, build_preference_pairs(records, targets)


@pytest.mark.parametrize("format", ["llamafactory", "ms-swift"])
def test_export_then_import_round_trips(tmp_path, clip_set, format):
    clips, records, pairs = clip_set
    path = export_sharegpt(tmp_path / "sft", format, clips, records=records)
    report = import_sharegpt(path, format, strict=True)
    assert [(r.question, r.answer) for r in report.records] == [(r.question, r.answer) for r in records]
    assert [r.id for r in report.records] == [r.id for r in records] and not report.errors
    pref = import_sharegpt(export_sharegpt(tmp_path / "dpo", format, clips, pairs=pairs), format, strict=True)
    assert [r.rejected for r in pref.records] == [p.rejected for p in pairs]
    if format == "llamafactory":
        info = json.loads((tmp_path / "dpo" / "dataset_info.json").read_text())["avsynth"]
        assert info["ranking"] is True and info["columns"]["rejected"] == "rejected"
        assert "use_audio_in_video: true" in (tmp_path / "sft" / "train.yaml").read_text()


def test_missing_or_broken_audio_is_counted_never_dropped(tmp_path, clip_set):
    clips, records, _ = clip_set
    path = export_sharegpt(tmp_path, "llamafactory", clips, records=records[:3])
    rows = json.loads(path.read_text())
    (tmp_path / "audio" / "broken.wav").write_bytes(b"RIFF....not audio")
    rows[0]["audios"] = ["audio/missing.wav"]
    rows[1]["audios"] = ["audio/broken.wav"]
    rows[2]["messages"][0]["content"] = rows[2]["messages"][0]["content"].replace("<audio>", "")
    path.write_text(json.dumps(rows))
    report = import_sharegpt(path, "llamafactory")
    assert report.records == [] and [n for n, _ in report.errors] == [1, 2, 3]
    assert "no audio" in report.errors[2][1]
    assert report.summary().startswith("0 records read, 3 with errors")
    with pytest.raises(DataError, match="3 with errors"):
        import_sharegpt(path, "llamafactory", strict=True)


def test_an_ms_swift_video_without_sound_is_an_error(tmp_path, clip_set):
    from avikit.media import AVClip, save

    clips, records, _ = clip_set
    path = export_sharegpt(tmp_path, "ms-swift", clips, records=records[:1])
    clip = next(iter(clips.values()))
    silent = tmp_path / "clips" / "silent.mp4"
    save(AVClip(frames=clip.require_frames(), fps=clip.fps), silent)
    row = json.loads(path.read_text().splitlines()[0])
    row["videos"] = ["clips/silent.mp4"]
    path.write_text(json.dumps(row) + "\n")
    report = import_sharegpt(path, "ms-swift")
    assert not report.records and "MissingStream" in report.errors[0][1]
