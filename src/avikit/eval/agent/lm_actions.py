"""What a language-model planner reads and writes: a short prompt of tools, its observations, one JSON action.

The prompt is kept short for a small LM. :func:`render_tools` writes each tool of the OpenAI function-calling
schemas (as :meth:`avikit.eval.agent.toolbox.ToolBox.openai_schemas` gives them) on one line,
``name(arg: type, optional?: type): description``; :func:`system_prompt` adds the answer's schema and the
action format. An observation (:func:`render_observation`) is the call's envelope as compact JSON: numbers
rounded to 3 significant digits, lists longer than ``max_items`` cut to their first items plus a count, the
whole cut to ``max_chars``.

:func:`parse_action` reads one reply. The rules, in order:

1. the reply's first JSON value (from its first ``{`` or ``[``) is the action (``no_json`` if none parses);
   text after it is ignored (a small LM seldom stops right after the object); a one-element list holding
   an object is that object (the ``[{"name": ..., "arguments": ...}]`` form of tool-calling chat models);
2. ``{"answer": {...}}`` is the final answer; it must match the answer schema (``invalid_answer``);
3. ``{"tool": NAME, "arguments": {...}}`` (or ``"name"`` for ``"tool"``; ``arguments`` may be left out
   when empty) is a call; the name must be one of the tools (``unknown_tool``); the arguments are checked by
   the tool box when called (an ``invalid_arguments`` envelope, like any planner's call);
4. anything else is a ``bad_action``.

A violation raises :class:`ActionError` with its ``kind``; the planner decides what to do with it.

Example:
    >>> parse_action('{"tool": "probe", "arguments": {"clip": "input"}}', ["probe"], {})
    Action(tool='probe', arguments={'clip': 'input'}, answer=None, failure=None, rejected=())
    >>> parse_action('Sure! [{"name": "probe", "arguments": {"clip": "input"}}]', ["probe"], {}).tool
    'probe'
    >>> try:
    ...     parse_action('{"tool": "zoom"}', ["probe"], {})
    ... except ActionError as error:
    ...     print(error.kind)
    unknown_tool
    >>> render_tools([{"type": "function", "function": {"name": "cut", "description": "Cut a clip.",
    ...     "parameters": {"type": "object", "properties": {"clip": {"type": "string"},
    ...     "start": {"type": "number"}}, "required": ["clip"]}}}])
    '- cut(clip: string, start?: number): Cut a clip.'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema

from avikit.errors import AvikitError
from avikit.eval.agent.loop import Action

__all__ = [
    "ActionError",
    "compact",
    "parse_action",
    "render_observation",
    "render_schema",
    "render_tools",
    "system_prompt",
]


class ActionError(AvikitError):
    """A reply that is not a valid action.

    ``kind`` is ``no_json``, ``bad_action``, ``unknown_tool`` or ``invalid_answer``.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def to_dict(self) -> dict[str, str]:
        """``{"type": kind, "message": ...}``, the shape of a tool error."""
        return {"type": self.kind, "message": str(self)}


def render_schema(spec: Mapping[str, Any]) -> str:
    """One JSON Schema property as a short type: ``number``, ``one of a|b``, ``array of number``."""
    if "enum" in spec:
        return "one of " + "|".join(str(v) for v in spec["enum"])
    kind = spec.get("type", "any")
    if kind == "array":
        return "array of " + render_schema(spec.get("items", {}))
    return str(kind)


def render_tools(tools: Sequence[Mapping[str, Any]]) -> str:
    """One line per tool: ``- name(arg: type, optional?: type): description``."""
    lines = []
    for tool in tools:
        function = tool["function"]
        parameters = function.get("parameters", {})
        required = set(parameters.get("required", []))
        args = ", ".join(
            f"{name}{'' if name in required else '?'}: {render_schema(spec)}"
            for name, spec in parameters.get("properties", {}).items()
        )
        lines.append(f"- {function['name']}({args}): {function.get('description', '')}")
    return "\n".join(lines)


def system_prompt(tools: Sequence[Mapping[str, Any]], answer_schema: Mapping[str, Any]) -> str:
    """The system turn: the job, the action format, the answer's fields and the tools."""
    fields = ", ".join(
        f'"{name}": {render_schema(spec)}' for name, spec in answer_schema.get("properties", {}).items()
    )
    return (
        'You answer a request about a media clip named "input" by calling tools. Reply with one JSON object '
        'and nothing else: {"tool": NAME, "arguments": {...}} calls a tool; {"answer": {'
        + fields
        + "}} ends with the answer. A clip made by a tool is named in its result. Example call: "
        + '{"tool": "probe", "arguments": {"clip": "input"}}\nTools:\n'
        + render_tools(tools)
    )


def compact(value: Any, max_items: int = 12) -> Any:
    """``value`` with floats at 3 significant digits and lists cut to ``max_items`` (plus a count)."""
    if isinstance(value, float):
        return value if not math.isfinite(value) or value == 0 else float(f"{value:.3g}")
    if isinstance(value, Mapping):
        return {str(k): compact(v, max_items) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [compact(v, max_items) for v in value[:max_items]]
        return items + ([f"... {len(value) - max_items} more"] if len(value) > max_items else [])
    return value


def render_observation(envelope: Mapping[str, Any], calls_left: int | None, max_chars: int = 600) -> str:
    """The user turn after a call: its result (or error) as compact JSON, then the calls left (if known)."""
    body = envelope["result"] if envelope.get("ok") else {"error": envelope.get("error")}
    text = json.dumps(compact(body), separators=(",", ":"), default=str)
    if len(text) > max_chars:
        text = text[:max_chars] + " ...(cut)"
    if calls_left is None:
        return f"Result: {text}"
    tail = f"Calls left: {calls_left}." if calls_left > 0 else "No calls left: answer now."
    return f"Result: {text}\n{tail}"


def _first_json(text: str) -> Any:
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        raise ActionError("no_json", "the reply holds no JSON object")
    begin = min(starts)
    try:
        value, _ = json.JSONDecoder().raw_decode(text, begin)
    except json.JSONDecodeError as error:
        raise ActionError(
            "no_json", f"the JSON does not parse: {error.msg} at character {error.pos}"
        ) from None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, dict):
        raise ActionError("bad_action", "the action must be one JSON object")
    return value


def parse_action(text: str, tool_names: Sequence[str], answer_schema: Mapping[str, Any]) -> Action:
    """The action a reply states (rules in the module docstring); raises :class:`ActionError`."""
    value = _first_json(text)
    if "answer" in value:
        answer = value["answer"]
        if set(value) != {"answer"} or not isinstance(answer, dict):
            raise ActionError("bad_action", 'an answer is {"answer": {...}} alone')
        try:
            jsonschema.validate(answer, dict(answer_schema))
        except jsonschema.ValidationError as error:
            raise ActionError(
                "invalid_answer", f"the answer does not fit its schema: {error.message}"
            ) from None
        return Action(answer=answer)
    name = value.get("tool", value.get("name"))
    arguments = value.get("arguments", {})
    if not isinstance(name, str) or not isinstance(arguments, dict) or len(value) > 2:
        raise ActionError(
            "bad_action", 'a call is {"tool": NAME, "arguments": {...}}; an answer {"answer": {...}}'
        )
    if name not in tool_names:
        raise ActionError("unknown_tool", f"no tool {name!r}; tools are {', '.join(tool_names)}")
    return Action(tool=name, arguments=arguments)
