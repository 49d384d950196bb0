"""Referring expressions from scene records: who is referred to, ambiguity, null expressions, determinism."""

from __future__ import annotations

import pytest

from avikit.data.synth import generate
from avikit.data.synth.classes import COLOURS, get_class
from avikit.data.synth.expressions import EXPRESSION_KINDS, build_expressions
from avikit.data.synth.scene import split_classes
from avikit.errors import DataError

CLASSES = ("bell", "dog", "snake", "engine")


def _obj(oid: int, cls: str, on_screen: bool = True, place: str | None = "on the left") -> dict:
    return {"id": oid, "class": cls, "on_screen": on_screen, "place": place if on_screen else None}


def _targets(objects: list[dict], heard: list[int]) -> dict:
    by_id = {o["id"]: o for o in objects}
    audio = [{"label": by_id[i]["class"], "onset": 0, "offset": 1, "object": i} for i in heard]
    return {"objects": objects, "events": {"audio": audio}}


def _texts(targets: dict) -> dict[str, list[int]]:
    return {e["text"]: e["objects"] for e in build_expressions(targets, CLASSES, "k")}


def test_each_kind_refers_to_the_one_object_it_describes():
    objects = [_obj(0, "bell", place="on the left"), _obj(1, "dog", place="on the right")]
    texts = _texts(_targets(objects, heard=[0]))
    bell, dog = get_class("bell").colour, get_class("dog").colour
    assert texts["the object making the bell sound"] == [0]
    assert texts["the sounding object"] == [0] and texts["the silent object"] == [1]
    assert texts[f"the {bell} object"] == [0] and texts[f"the {dog} object"] == [1]
    assert texts["the object on the left"] == [0] and texts["the object on the right"] == [1]


def test_ambiguous_expressions_are_not_made():
    same_place = [_obj(0, "bell", place="in the middle"), _obj(1, "dog", place="in the middle")]
    texts = _texts(_targets(same_place, heard=[0, 1]))
    assert "the object in the middle" not in texts  # two objects there
    assert "the sounding object" not in texts and "the silent object" not in texts  # both sound
    twins = [_obj(0, "bell", place="on the left"), _obj(1, "bell", place="on the right")]
    texts = _texts(_targets(twins, heard=[0, 1]))
    assert "the object making the bell sound" not in texts  # two bells
    assert f"the {get_class('bell').colour} object" not in texts


def test_null_expressions_refer_to_nothing_in_view():
    objects = [_obj(0, "bell"), _obj(1, "snake", on_screen=False)]
    expressions = build_expressions(_targets(objects, heard=[0, 1]), CLASSES, "k")
    by_text = {e["text"]: e for e in expressions}
    offscreen = by_text["the object making the snake sound"]
    assert offscreen["objects"] == [] and offscreen["null"] and offscreen["kind"] == "sound"
    nulls = [e for e in expressions if e["kind"] == "null"]
    assert len(nulls) == 2 and all(e["objects"] == [] and e["null"] for e in nulls)
    absent_class = nulls[0]["text"].split()[-2]
    assert absent_class in {"dog", "engine"}  # of the split's classes, none in the scene
    absent_colour = nulls[1]["text"].split()[1]
    assert absent_colour in COLOURS and absent_colour != get_class("bell").colour
    assert [e["kind"] for e in expressions] == sorted(
        (e["kind"] for e in expressions), key=EXPRESSION_KINDS.index
    )


def test_expressions_are_a_function_of_the_record_and_follow_the_split_classes():
    for split in ("test", "open_test"):
        for index in range(4):
            sample = generate(split, index)[0]
            targets = sample.to_dict()["targets"]
            first = build_expressions(targets, split_classes(split), sample.id)
            assert first == build_expressions(targets, split_classes(split), sample.id)
            named = {
                e["text"].split()[-2]
                for e in first
                if e["kind"] in ("sound", "null") and "sound" in e["text"]
            }
            assert named <= set(split_classes(split))
            for e in first:
                assert e["null"] == (not e["objects"])


def test_a_record_without_events_is_a_data_error():
    with pytest.raises(DataError, match="clip 'k': targets need 'objects' and 'events.audio'"):
        build_expressions({"objects": []}, CLASSES, "k")
