"""Streaming models: ``step(chunk) -> events`` over audio and video as they arrive.

:data:`STREAM_MODELS` maps a name to ``module:factory``; :func:`get_stream_model` builds one.

Example:
    >>> get_stream_model("bands").id
    'stream-bands(sim=0.5)'
"""

from __future__ import annotations

import importlib

from avikit._registry import lookup
from avikit.models.streaming.protocol import Chunk, Question, StreamEvent, StreamModel

__all__ = ["STREAM_MODELS", "Chunk", "Question", "StreamEvent", "StreamModel", "get_stream_model"]

STREAM_MODELS: dict[str, str] = {
    "bands": "avikit.models.streaming.bands:BandOnsetModel",
    "window-avvp": "avikit.models.streaming.window:WindowEventModel",
    "window-sync": "avikit.models.streaming.window:WindowSyncModel",
    "silent": "avikit.models.streaming.silent:SilentModel",
}
"""Streaming model name -> ``module:factory`` (imported when built)."""


def get_stream_model(name: str) -> StreamModel:
    """Build a streaming model by name.

    Raises:
        UnknownNameError: for an unknown name; the message lists the known ones.
    """
    module, _, attribute = lookup(STREAM_MODELS, name, "streaming model").partition(":")
    model: StreamModel = getattr(importlib.import_module(module), attribute)()
    return model
