"""Instruction, preference and tool-request data from AVSynth ground truth."""

from __future__ import annotations

import re

import pytest

from avikit.data.instructions import KINDS, Instruction, build_instructions
from avikit.data.preferences import PreferencePair, build_preference_pairs
from avikit.data.synth import OPEN_VOCAB_CLASSES, answer, generate
from avikit.data.tool_requests import CALL_SCHEMA, build_tool_requests, check_call, parse_call
from avikit.errors import DataError


def records_of(split, index, **kwargs):
    sample = generate(split, index, **kwargs)[0]
    targets = sample.to_dict()["targets"]
    return targets, build_instructions(targets, sample.id, split)


def test_answers_follow_from_the_ground_truth():
    for index in range(6):
        targets, records = records_of("test", index)
        for r in records:
            if r.kind == "qa":
                q = next(q for q in targets["qa"] if q["template"] == r.meta["template"])
                assert r.answer == answer(targets, q["template"], q["templ_values"])[0]
            if r.kind == "grounding":
                (event,) = [e for e in targets["events"]["audio"] if e["label"] == r.meta["class"]]
                assert (r.evidence["start"], r.evidence["end"]) == (event["onset"], event["offset"])
            if r.kind == "refusal":
                assert r.meta["class"] not in {o["class"] for o in targets["objects"]}
            if r.kind == "probe" and r.modality == "audio":
                heard = {e["label"] for e in targets["events"]["audio"]}
                assert (r.meta["class"] in heard) == (r.answer == "yes")


def test_open_test_classes_never_appear_in_train_records():
    words = set()
    for index in range(12):
        _, records = records_of("train", index)
        for r in records:
            words |= set(
                re.findall(r"[a-z]+", (r.question + " " + r.answer + " " + " ".join(r.options)).lower())
            )
    assert not words & set(OPEN_VOCAB_CLASSES)


def test_sync_records_only_for_shifted_clips_and_round_trip():
    _, records = records_of("train", 0, conditions={"av_offset_ms": -2000})
    (sync,) = [r for r in records if r.kind == "sync"]
    assert sync.answer == "The sound is early." and sync.conditions == {"av_offset_ms": -2000.0}
    assert not [r for r in records_of("train", 0)[1] if r.kind == "sync"]
    assert all(Instruction.from_dict(r.to_dict()) == r for r in records)
    with pytest.raises(DataError, match="valid kinds"):
        build_instructions({}, "x", "train", ["poetry"])
    assert set(KINDS) >= {r.kind for r in records}


def test_each_pair_corrupts_one_modality_once():
    for index in range(4):
        targets, records = records_of("test", index)
        pairs = build_preference_pairs(records, targets)
        assert pairs
        for pair in pairs:
            assert pair.rejected != pair.chosen and pair.chosen == pair.instruction.answer
            assert pair.modality in ("audio", "visual")
            assert PreferencePair.from_dict(pair.to_dict()) == pair
            if pair.corruption == "invent":  # an invented class is absent from the clip
                added = set(re.findall(r"[a-z]+", pair.rejected.lower())) - set(
                    re.findall(r"[a-z]+", pair.chosen.lower())
                )
                assert added and not added & {o["class"] for o in targets["objects"]}
            if pair.corruption == "modality":
                assert ("heard" in pair.chosen) != ("heard" in pair.rejected)


def test_tool_requests_and_the_call_schema():
    requests = build_tool_requests("A bee buzzes on the left.", "test_000001", "test")
    assert all(check_call(r.call) == [] for r in requests)
    assert {r.call["tool"] for r in requests} == set(CALL_SCHEMA["properties"]["tool"]["enum"])
    assert check_call({"tool": "paint"}) == ["'tool' must be one of v2a, a2v, joint, codec"]
    assert check_call({"tool": "joint"}) == ["'joint' needs a 'caption'"]
    assert check_call({"tool": "v2a", "gain_db": [0, 99]}) == ["'gain_db' values must lie in [-40, 12] dB"]
    assert check_call({"tool": "v2a", "speed": 2}) == ["unknown field 'speed'"]
    assert parse_call('Sure: {"tool": "a2v"} done') == {"tool": "a2v"}
    assert parse_call("{tool: a2v}") is None and parse_call("no call") is None
