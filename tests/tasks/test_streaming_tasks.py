"""Streaming tasks: specs, streams, exact onsets and timed questions from the scene."""

from __future__ import annotations

from avikit.data.synth import build_targets, sample_scene
from avikit.tasks.streaming import STREAM_TASKS, get_stream_task, stream_onsets, stream_questions


def test_specs_are_versioned_and_hashed() -> None:
    hashes = {t.spec.protocol_hash for t in STREAM_TASKS.values()}
    assert len(hashes) == 3 and all(t.spec.pillar == "interaction" for t in STREAM_TASKS.values())


def test_onsets_are_the_scene_audio_events_merged_per_class() -> None:
    ref = get_stream_task("stream-events").streams(2)[1]
    onsets = stream_onsets(ref)
    events = build_targets(sample_scene("long", 1, 0))["events"]["audio"]
    assert {c for c, _ in onsets} == {e["label"] for e in events}
    assert all(any(e["label"] == c and e["onset"] == o for e in events) for c, o in onsets)
    assert onsets == sorted(onsets, key=lambda x: (x[1], x[0]))


def test_questions_alternate_and_their_truth_comes_from_before_the_question() -> None:
    ref = get_stream_task("stream-questions").streams(1)[0]
    questions = stream_questions(ref)
    assert [q["time"] for q in questions] == [float(t) for t in range(10, 111, 10)]
    events = build_targets(sample_scene("long", 0, 0))["events"]["audio"]
    for q in questions:
        if q["kind"] == "now":
            assert q["truth"] == sorted(
                {e["label"] for e in events if e["onset"] <= q["time"] - 0.25 < e["offset"]}
            )
        else:
            assert q["onset"] > q["time"] + 1.0 and q["text"].endswith(f"{q['label']} sounds.")


def test_sync_streams_drift_inside_the_declared_range() -> None:
    refs = get_stream_task("stream-sync").streams(20)
    assert all(30 <= r.drift_time <= 90 and r.drift_ms in (600.0, -800.0, 1000.0) for r in refs)
    assert len({r.drift_ms for r in refs}) == 3
