"""The MCP server over stdio, driven by the ``mcp`` package's real client session."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from avikit.media import AVClip, probe, save

mcp = pytest.importorskip("mcp")


async def session_run(calls: list[tuple[str, dict]]) -> tuple[list, list]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "avikit.eval.agent.mcp_server"])
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = (await session.list_tools()).tools
        results = [await session.call_tool(name, args) for name, args in calls]
    return tools, results


def test_a_client_lists_and_runs_the_tools(tmp_path: Path) -> None:
    t = np.arange(16000) / 16000
    clip = AVClip(
        np.full((8, 32, 32, 3), 90, np.uint8),
        np.stack([np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32) * 0.5,
        8,
        16000,
    )
    source = save(clip, tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    tools, results = asyncio.run(
        session_run(
            [
                ("probe", {"clip": str(source)}),
                ("shift_audio", {"clip": str(source), "offset_ms": 250}),
                ("save", {"clip": "clip_1", "path": str(out)}),
                ("probe", {"clip": 5}),
                ("no_such_tool", {}),
            ]
        )
    )
    names = {tool.name for tool in tools}
    assert {
        "probe",
        "shift_audio",
        "detect_events",
        "check_sync",
        "generate_audio",
        "detect_speech",
        "transcribe",
        "detect_faces",
    } <= names
    schema = next(tool for tool in tools if tool.name == "shift_audio").input_schema
    assert schema["required"] == ["clip", "offset_ms"]
    probed, shifted, saved, bad, unknown = results
    assert not probed.is_error and probed.structured_content["num_frames"] == 8
    assert json.loads(probed.content[0].text)["ok"]
    assert shifted.structured_content["offset_samples"] == 4000
    assert not saved.is_error and probe(out).duration == pytest.approx(1.0, abs=0.07)
    assert bad.is_error and bad.structured_content["error"]["type"] == "invalid_arguments"
    assert unknown.is_error and unknown.structured_content["error"]["type"] == "unknown_tool"
