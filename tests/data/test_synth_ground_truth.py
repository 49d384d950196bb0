from __future__ import annotations

from collections import Counter
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from avikit.data.synth import TEMPLATES, answer, generate, localization_maps
from avikit.data.synth.ground_truth import BACKGROUND


def _samples(n: int = 40, split: str = "test"):
    return [generate(split, i)[0] for i in range(n)]


def test_events_are_consistent_across_modalities():
    for sample in _samples(30):
        events = sample.target("events")
        for e in events["audio_visual"]:
            assert any(
                a["object"] == e["object"] and a["onset"] <= e["onset"] and e["offset"] <= a["offset"]
                for a in events["audio"]
            )
            assert any(
                v["object"] == e["object"] and v["onset"] <= e["onset"] and e["offset"] <= v["offset"]
                for v in events["visual"]
            )
        objects = sample.target("objects")
        assert all(objects[e["object"]]["on_screen"] for e in events["visual"])


def test_avel_labels_follow_audio_visual_events():
    for sample in _samples(30):
        events = sample.target("events")["audio_visual"]
        for k, label in enumerate(sample.target("avel")):
            covered = {e["label"]: 0.0 for e in events}
            for e in events:
                covered[e["label"]] += max(0.0, min(e["offset"], k + 1) - max(e["onset"], k))
            best = max(covered.values(), default=0.0)
            assert (label == BACKGROUND) == (best < 0.5)
            if label != BACKGROUND:
                assert covered[label] == best


def test_hard_cases_occur():
    samples = _samples(60)
    silent = sum(any(o["on_screen"] and not o["sounding"] for o in s.target("objects")) for s in samples)
    offscreen = sum(any(not o["on_screen"] for o in s.target("objects")) for s in samples)
    overlap = 0
    for s in samples:
        ev = s.target("events")["audio"]
        overlap += any(
            a["object"] != b["object"] and a["onset"] < b["offset"] and b["onset"] < a["offset"]
            for a in ev
            for b in ev
        )
    assert silent >= 5 and offscreen >= 5 and overlap >= 5


def test_questions_cover_every_music_avqa_type_and_answers_follow():
    kinds = Counter()
    for sample in _samples(60):
        targets = {k: sample.target(k) for k in ("objects", "events")}
        for q in sample.target("qa"):
            kinds[tuple(q["type"])] += 1
            assert answer(targets, q["template"], q["templ_values"])[0] == q["answer"]
            ev = q["evidence"]
            assert (0 <= ev["start"] <= ev["end"] <= 10 and ev["objects"]) or q["answer"] in ("no", "zero")
    expected = {
        ("Audio", "Counting"),
        ("Audio", "Comparative"),
        ("Visual", "Counting"),
        ("Visual", "Location"),
        ("Audio-Visual", "Existential"),
        ("Audio-Visual", "Counting"),
        ("Audio-Visual", "Location"),
        ("Audio-Visual", "Comparative"),
        ("Audio-Visual", "Temporal"),
    }
    assert set(kinds) == expected
    assert len(TEMPLATES) >= 9


def test_captions_and_retrieval_keys():
    for sample in _samples(10):
        caption = sample.target("caption")
        for cls in sample.target("sounding_classes"):
            assert cls in caption
        assert sample.target("retrieval")["text"] == caption


def test_localization_maps_peak_on_sounding_objects():
    sample, clip = generate("test", 0)
    targets = {k: sample.target(k) for k in ("objects", "events")}
    maps = localization_maps(targets, clip.num_frames, 128, 8)
    e = targets["events"]["audio_visual"][0]
    k = int(np.ceil(e["onset"] * 8))
    tr = targets["objects"][e["object"]]["track"]
    y, x = np.unravel_index(np.argmax(maps[k]), maps[k].shape)
    j = k - tr["first_frame"]
    assert abs(x + 0.5 - tr["x"][j] * 128) <= 1 and abs(y + 0.5 - tr["y"][j] * 128) <= 1


@settings(max_examples=25, deadline=None)
@given(index=st.integers(0, 10_000), split=st.sampled_from(["train", "val", "test", "open_test"]))
def test_event_times_lie_exactly_on_the_frame_and_sample_grids(index, split):
    from avikit.data.synth import sample_scene
    from avikit.data.synth.ground_truth import build_targets

    targets = build_targets(sample_scene(split, index))
    for rows in targets["events"].values():
        for e in rows:
            for t in (e["onset"], e["offset"]):
                assert Fraction(t) * 8 == int(Fraction(t) * 8)
                assert Fraction(t) * 16000 == int(Fraction(t) * 16000)
