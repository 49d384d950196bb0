r"""The worker protocol: newline-delimited JSON between the harness and a model in its own process.

Both sides use this module: the harness (:mod:`avikit.models.worker`) and the worker
(:mod:`avikit.models.worker_server`). It needs only the standard library and numpy, and so does the
protocol itself: a worker in another environment or language speaks it with a JSON library and a reader
of ``.npy`` files. The full specification is in docs/models.md ("Run your model in its own process").

Each message is one JSON object on one line (UTF-8, ``\n``-terminated): the harness writes to the
worker's stdin, the worker answers on its stdout and logs to its stderr. The exchange is:

1. harness ``{"type": "hello", "protocol": 1}`` -> worker ``{"type": "ready", "protocol": 1, "id",
   "weights_hash", "tasks"}`` (or ``{"type": "error", "message"}``);
2. harness ``{"type": "predict", "call", "task", "items"}`` -> worker ``{"type": "predictions", "call",
   "results"}`` with one ``{"prediction": {...}}`` or ``{"error": "..."}`` per item, in order (or
   ``{"type": "error", "call", "message"}`` for the whole call);
3. harness ``{"type": "describe", "call", "task"}`` -> worker ``{"type": "description", "call",
   "input_resampling"}``: how the model brings the task's media to its own input geometry (``{}``: it
   does not), written into every record as the in-process model's ``input_resampling(task)`` is;
4. harness ``{"type": "watermark", "call", "name"}`` (only to a worker whose ``ready`` named a
   ``"watermarker"``, a generator's audio watermark, ``null`` when off) -> worker ``{"type":
   "watermarked", "call", "name", "weights_hash"}``: the watermark turned on (``name``) or off (``null``);
5. harness ``{"type": "shutdown"}`` -> worker ``{"type": "bye"}``, then it exits.

Media never travel inside JSON: the harness writes each item's frames ``[T, H, W, 3]`` uint8 and waveform
``[C, N]`` float32 as ``.npy`` files (read-only) into a fresh folder per call and sends their paths.

Example:
    >>> import io
    >>> stream = io.StringIO()
    >>> write_message(stream, {"type": "hello", "protocol": PROTOCOL_VERSION})
    >>> stream.getvalue()
    '{"type":"hello","protocol":1}\n'
    >>> parse_message(stream.getvalue())["type"]
    'hello'
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = [
    "PROTOCOL_VERSION",
    "ProtocolError",
    "load_media",
    "parse_message",
    "save_media",
    "write_message",
]

PROTOCOL_VERSION = 1
"""The version both sides state in the handshake; it goes up on any change to a message."""


class ProtocolError(ValueError):
    """A line that is not a protocol message (not JSON, not an object, or without a ``type``)."""


def write_message(stream: IO[str], message: dict[str, Any]) -> None:
    """Write ``message`` as one compact JSON line and flush."""
    stream.write(json.dumps(message, separators=(",", ":")) + "\n")
    stream.flush()


def parse_message(line: str) -> dict[str, Any]:
    """The message on one line.

    Raises:
        ProtocolError: if the line is not a JSON object with a string ``"type"``.
    """
    shown = line.strip()[:80]
    try:
        message = json.loads(line)
    except json.JSONDecodeError as error:
        raise ProtocolError(f"not JSON ({error.msg}): {shown!r}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError(f"not a message (a JSON object with a 'type'): {shown!r}")
    return message


def save_media(folder: Path, name: str, array: np.ndarray | None) -> str | None:
    """Write ``array`` as ``folder/name.npy``, read-only; return its path (``None`` for no array)."""
    if array is None:
        return None
    path = folder / f"{name}.npy"
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)
    os.chmod(path, 0o444)
    return str(path)


def load_media(path: str | None, dtype: str, ndim: int) -> np.ndarray | None:
    """Read a media file the harness wrote (``None`` stays ``None``), checking its dtype and rank.

    Raises:
        ProtocolError: if the file's array is not ``dtype`` with ``ndim`` dimensions.
    """
    if path is None:
        return None
    array = np.load(path, allow_pickle=False)
    if array.dtype != np.dtype(dtype) or array.ndim != ndim:
        raise ProtocolError(f"{path}: expected a {ndim}-d {dtype} array, got {array.ndim}-d {array.dtype}")
    return array
