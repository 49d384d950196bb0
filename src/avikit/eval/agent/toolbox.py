"""Tools with JSON schemas, the workspace of clips they act on, and the call envelope an agent sees.

A :class:`Tool` is a name, a description, a JSON Schema of its arguments (the OpenAI function-calling
``parameters``) and a function ``run(workspace, **arguments) -> dict``. :meth:`ToolBox.call` validates the
arguments against the schema (``jsonschema``), runs the tool, times it and always returns an envelope:
``{"ok": True, "result": {...}, "seconds": s}`` or
``{"ok": False, "error": {"type", "message"}, "seconds": s}``;
a bad argument, a missing optional package or a failing model is an error the agent reads, never a crash.

Clips are named in a :class:`Workspace` (``"input"`` is the task's clip; tools that make media add
``clip_1``, ``clip_2``, ...). A ``clip`` argument is such a name or the path of a media file (loaded at the
rates the tool needs), so the same tools serve an agent on AVSynth and an MCP client on real files.

Example:
    >>> import numpy as np
    >>> from avikit.media import AVClip
    >>> box = ToolBox([Tool("duration", "Clip length in seconds.",
    ...     {"type": "object", "properties": {"clip": CLIP}, "required": ["clip"]},
    ...     lambda ws, clip: {"seconds": float(ws.get(clip).duration)})])
    >>> box.workspace.put(AVClip(waveform=np.zeros((1, 8000), np.float32), sample_rate=16000), "input")
    'input'
    >>> box.call("duration", {"clip": "input"})["result"]
    {'seconds': 0.5}
    >>> box.call("duration", {"clip": 3})["error"]["type"]
    'invalid_arguments'
    >>> box.openai_schemas()[0]["function"]["name"]
    'duration'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from avikit.errors import AvikitError, UsageError
from avikit.media import AVClip, load

__all__ = ["CLIP", "SECONDS", "Tool", "ToolBox", "ToolError", "Workspace"]

logger = logging.getLogger(__name__)

CLIP: dict[str, Any] = {"type": "string", "description": "a clip name in the workspace or a media file path"}
SECONDS: dict[str, Any] = {"type": "number", "minimum": 0, "description": "seconds from the clip's start"}


class ToolError(AvikitError):
    """A tool could not do what was asked; the message says why and what to do."""


class Workspace:
    """Named clips the tools read and write (``input`` is the task's clip)."""

    def __init__(self) -> None:
        self._clips: dict[str, AVClip] = {}
        self._made = 0

    def put(self, clip: AVClip, name: str | None = None) -> str:
        """Store ``clip`` under ``name`` (default: the next ``clip_<k>``) and return the name."""
        if name is None:
            self._made += 1
            name = f"clip_{self._made}"
        self._clips[name] = clip
        return name

    def get(
        self, ref: str, fps: int | None = None, sample_rate: int | None = None, size: int | None = None
    ) -> AVClip:
        """The clip named ``ref``, or the media file at path ``ref`` (loaded at the given rates and size)."""
        if ref in self._clips:
            return self._clips[ref]
        path = Path(ref)
        if path.is_file():
            return load(path, fps=fps, sample_rate=sample_rate, size=size)
        raise ToolError(f"no clip {ref!r}: name one of {sorted(self._clips)} or give an existing media file")

    def names(self) -> list[str]:
        """The stored clip names."""
        return sorted(self._clips)


@dataclass(frozen=True)
class Tool:
    """A callable tool: name, description, JSON Schema of its arguments and its function.

    Attributes:
        name: the tool's name (``[a-z_]+``).
        description: one or two sentences for the planner and the MCP client.
        parameters: JSON Schema (``type: object``) of the arguments.
        run: ``run(workspace, **arguments) -> JSON-able dict``.
        annotations: MCP hints, e.g. ``{"readOnlyHint": True}``.
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    run: Callable[..., dict[str, Any]]
    annotations: Mapping[str, bool] = field(default_factory=dict)

    def openai_schema(self) -> dict[str, Any]:
        """The OpenAI function-calling form ``{"type": "function", "function": {...}}``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


class ToolBox:
    """Tools by name over one workspace; :meth:`call` is the only way an agent uses them."""

    def __init__(self, tools: Iterable[Tool], workspace: Workspace | None = None) -> None:
        self.tools: dict[str, Tool] = {}
        for tool in tools:
            jsonschema.Draft202012Validator.check_schema(dict(tool.parameters))
            if tool.name in self.tools:
                raise UsageError(f"two tools are called {tool.name!r}")
            self.tools[tool.name] = tool
        self.workspace = workspace or Workspace()

    def openai_schemas(self) -> list[dict[str, Any]]:
        """Every tool in the OpenAI function-calling shape."""
        return [tool.openai_schema() for tool in self.tools.values()]

    def call(self, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Validate, run and time one call; always an envelope (``ok`` with ``result`` or ``error``)."""
        begin = time.perf_counter()
        try:
            if name not in self.tools:
                raise _Failure("unknown_tool", f"no tool {name!r}; tools are {', '.join(self.tools)}")
            tool = self.tools[name]
            errors = sorted(
                jsonschema.Draft202012Validator(dict(tool.parameters)).iter_errors(dict(arguments)),
                key=lambda e: list(e.path),
            )
            if errors:
                where = ".".join(map(str, errors[0].path)) or "arguments"
                raise _Failure("invalid_arguments", f"{name}: {where}: {errors[0].message}")
            result = tool.run(self.workspace, **arguments)
        except _Failure as failure:
            return _error(failure.kind, str(failure), begin)
        except ImportError as error:
            return _error("missing_dependency", f"{name}: {error}; pip install 'avikit[agents]'", begin)
        except (AvikitError, ValueError, KeyError, RuntimeError) as error:
            logger.debug("tool %s failed", name, exc_info=True)
            return _error("tool_error", f"{name}: {error}", begin)
        return {"ok": True, "result": result, "seconds": time.perf_counter() - begin}


class _Failure(Exception):  # noqa: N818  (internal control flow, never raised out of call)
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _error(kind: str, message: str, begin: float) -> dict[str, Any]:
    return {"ok": False, "error": {"type": kind, "message": message}, "seconds": time.perf_counter() - begin}
