"""The tool box: schema validation, structured errors (never a crash), the OpenAI shape."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.errors import UsageError
from avikit.eval.agent.toolbox import CLIP, Tool, ToolBox, ToolError
from avikit.media import AVClip

SCHEMA = {
    "type": "object",
    "properties": {"clip": CLIP, "n": {"type": "integer", "minimum": 1}},
    "required": ["clip"],
    "additionalProperties": False,
}


def boom(ws, clip, n=1):
    raise RuntimeError("model exploded")


def broken_dependency(ws, clip, n=1):
    raise ImportError("No module named 'silero_vad'")


def duration(ws, clip, n=1):
    return {"seconds": float(ws.get(clip).duration) * n}


@pytest.fixture
def box() -> ToolBox:
    b = ToolBox(
        [
            Tool("duration", "d", SCHEMA, duration),
            Tool("boom", "b", SCHEMA, boom),
            Tool("needs", "n", SCHEMA, broken_dependency),
        ]
    )
    b.workspace.put(AVClip(waveform=np.zeros((1, 16000), np.float32), sample_rate=16000), "input")
    return b


def test_a_valid_call_returns_the_result_and_its_time(box: ToolBox) -> None:
    out = box.call("duration", {"clip": "input", "n": 3})
    assert out["ok"] and out["result"] == {"seconds": 3.0} and out["seconds"] >= 0


@pytest.mark.parametrize(
    "name,args,kind,fragment",
    [
        ("duration", {"clip": "input", "n": 0}, "invalid_arguments", "n: 0 is less than the minimum of 1"),
        ("duration", {"n": 2}, "invalid_arguments", "'clip' is a required property"),
        ("duration", {"clip": "input", "extra": 1}, "invalid_arguments", "Additional properties"),
        ("nope", {}, "unknown_tool", "tools are duration, boom, needs"),
        ("boom", {"clip": "input"}, "tool_error", "model exploded"),
        ("needs", {"clip": "input"}, "missing_dependency", "avikit[agents]"),
        ("duration", {"clip": "missing"}, "tool_error", "no clip 'missing'"),
    ],
)
def test_every_failure_is_an_envelope_the_agent_reads(box: ToolBox, name, args, kind, fragment) -> None:
    out = box.call(name, args)
    assert not out["ok"] and out["error"]["type"] == kind and fragment in out["error"]["message"]


def test_openai_shape_and_schema_checks() -> None:
    tool = Tool("duration", "Clip length.", SCHEMA, duration)
    schema = tool.openai_schema()
    assert schema["type"] == "function" and schema["function"]["parameters"]["required"] == ["clip"]
    with pytest.raises(Exception, match="is not valid"):
        ToolBox([Tool("bad", "b", {"type": "object", "properties": {"x": {"type": "nonsense"}}}, duration)])
    with pytest.raises(UsageError, match="two tools"):
        ToolBox([tool, tool])
    assert issubclass(ToolError, Exception)
