"""The tools served over MCP (Model Context Protocol), stdio transport, with the ``mcp`` package.

``tools/list`` gives every tool of the tool box with its ``inputSchema`` (the same JSON Schema as the
OpenAI form) and annotations; ``tools/call`` runs :meth:`~avikit.eval.agent.toolbox.ToolBox.call` and
returns its envelope as JSON text and as ``structuredContent``; a failed call is a result with
``isError: true`` (MCP's tool-execution errors), never a protocol error. Clips that tools make stay in the
server's workspace for later calls (``save`` writes one to a file). Run it with ``avikit agent serve`` or
``python -m avikit.eval.agent.mcp_server``.

Example:
    >>> from avikit.eval.agent.media_tools import media_tools
    >>> failed = {"ok": False, "error": {"type": "tool_error", "message": "no"}, "seconds": 0}
    >>> result = envelope_result(failed)
    >>> result.is_error
    True
    >>> len(mcp_tool_list(media_tools()))
    11
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

from avikit.errors import UsageError
from avikit.eval.agent.toolbox import Tool, ToolBox

__all__ = ["build_server", "envelope_result", "mcp_tool_list", "serve_stdio"]


def mcp_tool_list(tools: Sequence[Tool]) -> list[Any]:
    """The tools as MCP ``Tool`` records."""
    import mcp_types as types

    return [
        types.Tool(
            name=t.name,
            description=t.description,
            input_schema=dict(t.parameters),
            annotations=_annotations(t.annotations),
        )
        for t in tools
    ]


def _annotations(hints: Mapping[str, bool]) -> Any:
    """MCP ``ToolAnnotations`` from hints such as ``{"readOnlyHint": True}`` (``None`` without hints)."""
    import mcp_types as types

    if not hints:
        return None
    return types.ToolAnnotations.model_validate({_camel(k): v for k, v in hints.items()})


def _camel(key: str) -> str:
    """``readOnlyHint`` -> ``read_only_hint`` (the pydantic field names of the MCP types)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def envelope_result(envelope: dict[str, Any]) -> Any:
    """A tool-call envelope as an MCP ``CallToolResult`` (``isError`` for a failed call)."""
    import mcp_types as types

    text = json.dumps(envelope, default=float)
    structured = envelope.get("result") if envelope["ok"] else {"error": envelope["error"]}
    return types.CallToolResult(
        content=[types.TextContent(text=text)], structured_content=structured, is_error=not envelope["ok"]
    )


def build_server(toolbox: ToolBox, name: str = "avikit") -> Any:
    """An MCP low-level server that lists and runs the tool box's tools."""
    import mcp_types as types
    from mcp.server.lowlevel import Server

    listed = mcp_tool_list(list(toolbox.tools.values()))

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: Any, params: Any) -> Any:
        envelope = await asyncio.to_thread(toolbox.call, params.name, params.arguments or {})
        return envelope_result(envelope)

    return Server(name, on_list_tools=list_tools, on_call_tool=call_tool)


def serve_stdio(tools: Sequence[Tool] | None = None) -> None:
    """Serve the tools (default: every avikit tool) over stdio until the client closes the connection.

    Raises:
        UsageError: if the ``mcp`` package is not installed.
    """
    try:
        from mcp.server.stdio import stdio_server
    except ImportError as error:
        raise UsageError(
            f"the MCP server needs the mcp package ({error}): pip install 'avikit[agents]'"
        ) from None

    if tools is None:
        from avikit.eval.agent.benchmark import default_tools

        tools = default_tools()
    server = build_server(ToolBox(tools))

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    asyncio.run(main())


if __name__ == "__main__":
    serve_stdio()
