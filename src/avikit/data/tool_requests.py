"""Requests to avikit's generators in words, and the structured calls that fulfil them (LLM+Generator data).

A request asks for a generation about a clip ("Make the sound for this silent clip, quieter at the end.");
its call is a JSON object that matches :data:`CALL_SCHEMA` (a JSON Schema, draft 2020-12 subset):
``{"tool": "v2a" | "a2v" | "joint" | "codec", "gain_db": [start, end], "caption": "..."}`` where ``gain_db``
is a linear ramp (in dB) applied to the generated sound (v2a, joint) and ``caption`` describes the clip
for ``joint``. :func:`check_call` validates a call against the schema (the errors it lists are the schema's
rules) and :func:`parse_call` reads the first JSON object of a model's text.

Example:
    >>> rows = build_tool_requests("A bee buzzes on the left.", "test_000001", "test")
    >>> rows[1].request, rows[1].call
    ('Make the sound for this silent clip, quieter at the end.', {'tool': 'v2a', 'gain_db': [0, -12]})
    >>> check_call({"tool": "v2a", "gain_db": [0]})
    ["'gain_db' must be a list of two numbers"]
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "CALL_SCHEMA",
    "ENVELOPES",
    "TOOLS",
    "ToolRequest",
    "build_tool_requests",
    "check_call",
    "parse_call",
]

TOOLS = {
    "v2a": "generate the sound of a silent video (video-to-audio)",
    "a2v": "generate the video of a sound (audio-to-video)",
    "joint": "generate a clip's sound and video from a description",
    "codec": "encode a clip's sound to tokens and decode it back",
}
CALL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tool": {"enum": list(TOOLS)},
        "gain_db": {
            "type": "array",
            "items": {"type": "number", "minimum": -40, "maximum": 12},
            "minItems": 2,
            "maxItems": 2,
        },
        "caption": {"type": "string", "minLength": 1},
    },
    "required": ["tool"],
    "additionalProperties": False,
}
"""The JSON Schema every call must match (``caption`` is required for ``joint``)."""
ENVELOPES = {
    "": (0, 0),
    ", quieter at the end": (0, -12),
    ", louder at the end": (-12, 0),
    ", quieter at the start": (-12, 0),
    ", quiet throughout": (-12, -12),
}
"""Request suffix -> the gain ramp (dB at the start, at the end) it asks for."""


@dataclass(frozen=True)
class ToolRequest:
    """One request about one clip and the call that fulfils it."""

    id: str
    clip: str
    split: str
    request: str
    call: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form."""
        return asdict(self)


def build_tool_requests(caption: str, clip: str, split: str) -> list[ToolRequest]:
    """Every request of one clip: the sound (five loudness ramps), the video, the whole clip, the codec."""
    rows: list[tuple[str, dict[str, Any]]] = [
        (f"Make the sound for this silent clip{suffix}.", {"tool": "v2a", "gain_db": list(gain)})
        for suffix, gain in ENVELOPES.items()
    ]
    description = caption.rstrip(".")
    description = description[0].lower() + description[1:]
    rows += [
        ("Make the video for this sound.", {"tool": "a2v"}),
        (f"Make a clip where {description}.", {"tool": "joint", "gain_db": [0, 0], "caption": description}),
        ("Compress this sound and play it back.", {"tool": "codec"}),
    ]
    return [ToolRequest(f"{clip}/tool/{k}", clip, split, text, call) for k, (text, call) in enumerate(rows)]


def check_call(call: Any) -> list[str]:
    """The schema violations of a call (empty when it is valid)."""
    if not isinstance(call, dict):
        return ["a call must be a JSON object"]
    errors = [f"unknown field {key!r}" for key in call if key not in CALL_SCHEMA["properties"]]
    if call.get("tool") not in TOOLS:
        errors.append(f"'tool' must be one of {', '.join(TOOLS)}")
    if "gain_db" in call:
        gain = call["gain_db"]
        if not (
            isinstance(gain, list)
            and len(gain) == 2
            and all(isinstance(g, int | float) and not isinstance(g, bool) for g in gain)
        ):
            errors.append("'gain_db' must be a list of two numbers")
        elif not all(-40 <= g <= 12 for g in gain):
            errors.append("'gain_db' values must lie in [-40, 12] dB")
    if "caption" in call and not (isinstance(call["caption"], str) and call["caption"]):
        errors.append("'caption' must be a non-empty string")
    if call.get("tool") == "joint" and "caption" not in call:
        errors.append("'joint' needs a 'caption'")
    return errors


def parse_call(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (``None`` when there is none or it does not parse)."""
    found = re.search(r"\{.*\}", text, flags=re.DOTALL)
    if found is None:
        return None
    try:
        value = json.loads(found.group(0))
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
