"""Referring expressions (Ref-AVS style) from one AVSynth scene record, each with the objects it refers to.

Every expression is a function of the ground-truth targets (objects and events) and names either exactly
one on-screen object or none (a *null* expression, Ref-AVS's null set: its mask is empty in every frame).
An expression that would be ambiguous (two objects fit it) is not made. The kinds, in this order:

- ``sound``: "the object making the <class> sound", for a class heard from exactly one object; null when
  that object is off screen (heard, never seen);
- ``sounding`` / ``silent``: "the sounding object" / "the silent object", when exactly one on-screen object
  makes (or never makes) a sound and another on-screen object does the opposite (only the audio tells);
- ``colour``: "the <colour> object", for a colour worn by exactly one on-screen object;
- ``place``: "the object <on the left | in the middle | on the right>", for a place held by exactly one
  on-screen object;
- ``null``: "the object making the <class> sound" for a class of the split that is nowhere in the scene,
  and "the <colour> object" for a colour no on-screen object wears (each chosen by a hash of ``key``).

Example:
    >>> targets = {
    ...     "objects": [{"id": 0, "class": "bell", "on_screen": True, "place": "on the left"},
    ...                 {"id": 1, "class": "dog", "on_screen": True, "place": "on the right"}],
    ...     "events": {"audio": [{"label": "bell", "onset": 0, "offset": 2, "object": 0}]},
    ... }
    >>> [(e["text"], e["objects"]) for e in build_expressions(targets, ("bell", "dog", "cat"), "x")][:3]
    [('the object making the bell sound', [0]), ('the sounding object', [0]), ('the silent object', [1])]
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from avikit.data.synth.classes import COLOURS, get_class
from avikit.errors import DataError

__all__ = ["EXPRESSION_KINDS", "build_expressions"]

EXPRESSION_KINDS = ("sound", "sounding", "silent", "colour", "place", "null")
"""The kinds of referring expression, in the order they are made."""

Expression = dict[str, Any]


def _make(text: str, kind: str, objects: list[int]) -> Expression:
    return {"text": text, "kind": kind, "objects": objects, "null": not objects}


def _sound(objects: list[dict[str, Any]], heard: dict[int, str]) -> list[Expression]:
    out = []
    for cls in sorted(set(heard.values())):
        sources = [o for o in objects if o["class"] == cls]
        if len(sources) != 1:
            continue  # two objects of the class: "the object making the <class> sound" is ambiguous
        obj = sources[0]
        out.append(
            _make(f"the object making the {cls} sound", "sound", [obj["id"]] if obj["on_screen"] else [])
        )
    return out


def _sounding(visible: list[dict[str, Any]], heard: dict[int, str]) -> list[Expression]:
    sounding = [o["id"] for o in visible if o["id"] in heard]
    silent = [o["id"] for o in visible if o["id"] not in heard]
    out = []
    if len(sounding) == 1 and silent:
        out.append(_make("the sounding object", "sounding", sounding))
    if len(silent) == 1 and sounding:
        out.append(_make("the silent object", "silent", silent))
    return out


def _unique(visible: list[dict[str, Any]], word: str, kind: str, template: str) -> list[Expression]:
    values = [o[word] for o in visible]
    return [
        _make(template.format(value), kind, [o["id"]])
        for o, value in zip(visible, values, strict=True)
        if value is not None and values.count(value) == 1
    ]


def _pick(options: Sequence[str], key: str, salt: str) -> str | None:
    return options[zlib.crc32(f"{salt}:{key}".encode()) % len(options)] if options else None


def build_expressions(targets: dict[str, Any], classes: Sequence[str], key: str) -> list[Expression]:
    """Every unambiguous referring expression of one scene, with the ids of the objects it refers to.

    Args:
        targets: the scene's targets (``objects`` with ``id``, ``class``, ``on_screen``, ``place``; ``events``
            with the ``audio`` events and their ``object``).
        classes: the classes of the clip's split (null expressions name one of them absent from the scene,
            so an ``open_test`` clip never names a seen class and a ``test`` clip never an unseen one).
        key: a stable name of the clip (its sample id), which picks the null expressions' class and colour.

    Returns:
        ``[{"text", "kind", "objects": [ids], "null": bool}, ...]`` in the order of :data:`EXPRESSION_KINDS`.

    Raises:
        DataError: if the targets lack objects or audio events.
    """
    try:
        objects = list(targets["objects"])
        heard = {int(e["object"]): e["label"] for e in targets["events"]["audio"]}
    except (KeyError, TypeError) as error:
        raise DataError(f"clip {key!r}: targets need 'objects' and 'events.audio' ({error})") from error
    visible = [{**o, "colour": get_class(o["class"]).colour} for o in objects if o["on_screen"]]
    out = _sound(objects, heard) + _sounding(visible, heard)
    out += _unique(visible, "colour", "colour", "the {} object")
    out += _unique(visible, "place", "place", "the object {}")
    present = {o["class"] for o in objects}
    absent_class = _pick([c for c in classes if c not in present], key, "class")
    if absent_class is not None:
        out.append(_make(f"the object making the {absent_class} sound", "null", []))
    worn = {o["colour"] for o in visible}
    absent_colour = _pick([c for c in COLOURS if c not in worn], key, "colour")
    if absent_colour is not None:
        out.append(_make(f"the {absent_colour} object", "null", []))
    return out
