"""Question-answer pairs from templates, covering the MUSIC-AVQA question types, each with evidence.

Every answer is a function of the ground-truth targets (objects and events), so a checker can derive it
again from a manifest: :func:`answer` is that function. Questions that would be ambiguous (a class seen
twice, a tie) are not asked.

Example:
    >>> targets = {
    ...     "objects": [
    ...         {"id": 0, "class": "dog", "on_screen": True, "place": "on the left", "loudness_db": -10}
    ...     ],
    ...     "events": {"audio": [{"label": "dog", "onset": 1, "offset": 3, "object": 0}],
    ...                "visual": [{"label": "dog", "onset": 0, "offset": 10, "object": 0}],
    ...                "audio_visual": [{"label": "dog", "onset": 1, "offset": 3, "object": 0}]},
    ... }
    >>> [q["answer"] for q in build_questions(targets)][:3]
    ['one', 'one', 'left']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avikit.errors import DataError

__all__ = ["ANSWER_WORDS", "TEMPLATES", "answer", "build_questions"]

_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
ANSWER_WORDS: tuple[str, ...] = (*_NUMBERS, "yes", "no", "left", "middle", "right")
"""The answers of the templates that are not class names (the temporal question answers with a class)."""
Evidence = dict[str, Any]
Answer = tuple[str, Evidence] | None


def _span(events: list[dict[str, Any]], objects: list[int] | None = None) -> Evidence:
    rows = [e for e in events if objects is None or e["object"] in objects]
    if not rows:
        return {"start": 0, "end": 0, "objects": sorted(set(objects or []))}
    ids = sorted({e["object"] for e in rows} | set(objects or []))
    return {"start": min(e["onset"] for e in rows), "end": max(e["offset"] for e in rows), "objects": ids}


def _unique_on_screen(t: dict[str, Any], cls: str) -> dict[str, Any] | None:
    hits = [o for o in t["objects"] if o["on_screen"] and o["class"] == cls]
    return hits[0] if len(hits) == 1 else None


def _audio_count(t: dict[str, Any], _: list[str]) -> Answer:
    ids = sorted({e["object"] for e in t["events"]["audio"]})
    return _NUMBERS[min(len(ids), 10)], _span(t["events"]["audio"], ids)


def _audio_compare(t: dict[str, Any], v: list[str]) -> Answer:
    objs = [[o for o in t["objects"] if o["class"] == c and o.get("sounding", True)] for c in v]
    if len(v) != 2 or v[0] == v[1] or any(len(o) != 1 for o in objs):
        return None
    a, b = objs[0][0], objs[1][0]
    if abs(a["loudness_db"] - b["loudness_db"]) < 1.0:
        return None
    return ("yes" if a["loudness_db"] > b["loudness_db"] else "no"), _span(
        t["events"]["audio"], [a["id"], b["id"]]
    )


def _visual_count(t: dict[str, Any], _: list[str]) -> Answer:
    ids = [o["id"] for o in t["objects"] if o["on_screen"]]
    return _NUMBERS[min(len(ids), 10)], _span(t["events"]["visual"], ids)


def _visual_location(t: dict[str, Any], v: list[str]) -> Answer:
    o = _unique_on_screen(t, v[0])
    if o is None:
        return None
    return o["place"].split()[-1], _span(t["events"]["visual"], [o["id"]])


def _av_exists(t: dict[str, Any], v: list[str]) -> Answer:
    o = _unique_on_screen(t, v[0])
    if o is None:
        return None
    rows = [e for e in t["events"]["audio_visual"] if e["object"] == o["id"]]
    return ("yes" if rows else "no"), _span(rows or t["events"]["visual"], [o["id"]])


def _offscreen_exists(t: dict[str, Any], _: list[str]) -> Answer:
    ids = [o["id"] for o in t["objects"] if not o["on_screen"]]
    return ("yes" if ids else "no"), _span(t["events"]["audio"], ids)


def _av_count(t: dict[str, Any], _: list[str]) -> Answer:
    ids = sorted({e["object"] for e in t["events"]["audio_visual"]})
    return _NUMBERS[min(len(ids), 10)], _span(t["events"]["audio_visual"], ids)


def _loudest_place(t: dict[str, Any], _: list[str]) -> Answer:
    ids = {e["object"] for e in t["events"]["audio_visual"]}
    objs = sorted((o for o in t["objects"] if o["id"] in ids), key=lambda o: -o["loudness_db"])
    if not objs or (len(objs) > 1 and objs[0]["loudness_db"] - objs[1]["loudness_db"] < 1.0):
        return None
    return objs[0]["place"].split()[-1], _span(t["events"]["audio_visual"], [objs[0]["id"]])


def _av_longer(t: dict[str, Any], v: list[str]) -> Answer:
    objs = [_unique_on_screen(t, c) for c in v]
    if len(v) != 2 or v[0] == v[1] or any(o is None for o in objs):
        return None
    lengths = [
        sum(e["offset"] - e["onset"] for e in t["events"]["audio_visual"] if e["object"] == o["id"])
        for o in objs
        if o
    ]
    if min(lengths) == 0 or abs(lengths[0] - lengths[1]) < 0.5:
        return None
    return ("yes" if lengths[0] > lengths[1] else "no"), _span(
        t["events"]["audio_visual"], [o["id"] for o in objs if o]
    )


def _first_sounding(t: dict[str, Any], _: list[str]) -> Answer:
    rows = sorted(t["events"]["audio_visual"], key=lambda e: e["onset"])
    if not rows or (
        len(rows) > 1 and rows[1]["onset"] - rows[0]["onset"] < 0.5 and rows[1]["object"] != rows[0]["object"]
    ):
        return None
    return rows[0]["label"], _span(rows[:1])


TEMPLATES: dict[str, tuple[tuple[str, str], str, int, Callable[[dict[str, Any], list[str]], Answer]]] = {
    "audio_count": (
        ("Audio", "Counting"),
        "How many sound sources are heard throughout the video?",
        0,
        _audio_count,
    ),
    "audio_compare": (
        ("Audio", "Comparative"),
        "Is the <Object> louder than the <Object>?",
        2,
        _audio_compare,
    ),
    "visual_count": (("Visual", "Counting"), "How many objects are in the video?", 0, _visual_count),
    "visual_location": (("Visual", "Location"), "Where is the <Object>?", 1, _visual_location),
    "av_exists": (
        ("Audio-Visual", "Existential"),
        "Is the <Object> in the video making sound?",
        1,
        _av_exists,
    ),
    "offscreen_exists": (
        ("Audio-Visual", "Existential"),
        "Is there a sound from outside the picture?",
        0,
        _offscreen_exists,
    ),
    "av_count": (
        ("Audio-Visual", "Counting"),
        "How many objects in the video are making sound?",
        0,
        _av_count,
    ),
    "av_location": (("Audio-Visual", "Location"), "Where is the loudest sounding object?", 0, _loudest_place),
    "av_compare": (
        ("Audio-Visual", "Comparative"),
        "Does the <Object> sound longer than the <Object>?",
        2,
        _av_longer,
    ),
    "av_temporal": (("Audio-Visual", "Temporal"), "Which object makes sound first?", 0, _first_sounding),
}
"""Template name -> ((modality, question type), text with ``<Object>`` slots, slot count, answer function)."""


def answer(targets: dict[str, Any], template: str, values: list[str]) -> tuple[str, Evidence] | None:
    """Return ``(answer, evidence)`` of a template for given slot values, or ``None`` if it is ambiguous.

    Raises:
        ValueError: for an unknown template; the message lists the valid ones.
    """
    if template not in TEMPLATES:
        raise DataError(f"unknown question template {template!r}; valid templates are {', '.join(TEMPLATES)}")
    return TEMPLATES[template][3](targets, values)


def _fill(text: str, values: list[str]) -> str:
    for v in values:
        text = text.replace("<Object>", v, 1)
    return text


def build_questions(targets: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every unambiguous question about a clip, with its answer and evidence."""
    on_screen = [o["class"] for o in targets["objects"] if o["on_screen"]]
    sounding = [o["class"] for o in targets["objects"] if o.get("sounding", True)]
    out = []
    for name, (kind, text, slots, _) in TEMPLATES.items():
        pool = sounding if name == "audio_compare" else on_screen
        choices: list[list[str]] = (
            [[]] if slots == 0 else [[c] for c in pool[:1]] if slots == 1 else [pool[:2]]
        )
        for values in choices:
            result = answer(targets, name, values)
            if result is None:
                continue
            out.append(
                {
                    "template": name,
                    "type": list(kind),
                    "question": _fill(text, values),
                    "question_content": text,
                    "templ_values": values,
                    "answer": result[0],
                    "evidence": result[1],
                }
            )
    return out
