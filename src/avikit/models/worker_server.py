r"""The worker side: host any model in its own process, speaking :mod:`avikit.models.worker_protocol`.

Run ``python -m avikit.models.worker_server NAME`` (a registered name, ``package.module:factory`` or an
``avikit.models`` entry point), or call :func:`serve` from a script with a model object. The harness starts
it (``--models worker:NAME`` or :class:`avikit.models.worker.WorkerModel`); nothing else talks to it.

The server's own code needs only the standard library and numpy. It hands the hosted model the same
:class:`~avikit.tasks.Task` and :class:`~avikit.models.protocol.Item` objects as an in-process run: the task
is rebuilt from its name, split and dataset profile and must have the harness's protocol hash. The process's
stdout carries only protocol messages: anything the model prints goes to stderr.

Example:
    >>> import io
    >>> from avikit.models.baselines import ConstantModel
    >>> asked = io.StringIO('{"type": "hello", "protocol": 1}\n{"type": "shutdown"}\n')
    >>> answers = io.StringIO()
    >>> serve(ConstantModel(), asked, answers)
    0
    >>> [line[:40] for line in answers.getvalue().splitlines()]
    ['{"type":"ready","protocol":1,"id":"const', '{"type":"bye"}']
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import IO, Any

from avikit.models.worker_protocol import (
    PROTOCOL_VERSION,
    ProtocolError,
    load_media,
    parse_message,
    write_message,
)

__all__ = ["main", "serve"]


def _describe(error: BaseException) -> str:
    last = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    where = f" ({os.path.basename(last[0].filename)}:{last[0].lineno})" if last else ""
    return f"{type(error).__name__}: {error}{where}"


class _Tasks:
    """Tasks rebuilt from the harness's description, once each, checked against its protocol hash."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def get(self, described: dict[str, Any]) -> Any:
        from avikit.data.profile import DatasetProfile
        from avikit.tasks import get_task

        key = repr(sorted(described.items()))
        if key not in self._built:
            task = get_task(str(described["name"]))
            if described.get("profile") is not None:
                task = task.for_dataset(DatasetProfile.from_dict(described["profile"]), described["split"])
            if task.spec.protocol_hash != described.get("protocol_hash"):
                raise ProtocolError(
                    f"task {task.name}: this worker's avikit builds protocol hash {task.spec.protocol_hash}, "
                    f"the harness {described.get('protocol_hash')}; install the harness's avikit version"
                )
            self._built[key] = task
        return self._built[key]


def _item(described: dict[str, Any]) -> Any:
    from avikit.models.protocol import Item
    from avikit.tasks import TaskInputs

    given = described["inputs"]
    inputs = TaskInputs(
        str(given["sample_id"]),
        tuple(given["frames"]),
        (int(given["audio"][0]), int(given["audio"][1])),
        (int(given["frame_size"][0]), int(given["frame_size"][1])),
        tuple(tuple(s) for s in given["segments"]),
        tuple(given["text"]),
    )
    frames = load_media(described.get("frames"), "uint8", 4)
    waveform = load_media(described.get("waveform"), "float32", 2)
    return Item(str(described["id"]), inputs, (frames, waveform), described.get("output_dir"))


def _predict(model: Any, tasks: _Tasks, message: dict[str, Any]) -> dict[str, Any]:
    call = message.get("call")
    try:
        task = tasks.get(message["task"])
        batch = [_item(described) for described in message["items"]]
        predictions = model.predict(task, batch)
        if not isinstance(predictions, list) or len(predictions) != len(batch):
            count = len(predictions) if isinstance(predictions, list) else type(predictions).__name__
            raise TypeError(f"model {model.id} returned {count} predictions for {len(batch)} items")
        results = [{"prediction": p} for p in predictions]
        json.dumps(results)  # a prediction that is not JSON (an array, say) fails here, not in the channel
        return {"type": "predictions", "call": call, "results": results}
    except Exception as error:  # the harness retries item by item and records what still fails
        return {"type": "error", "call": call, "message": _describe(error)}


def _describe_inputs(model: Any, tasks: _Tasks, message: dict[str, Any]) -> dict[str, Any]:
    call = message.get("call")
    try:
        resampling = getattr(model, "input_resampling", None)
        resampled = dict(resampling(tasks.get(message["task"]))) if callable(resampling) else {}
        return {"type": "description", "call": call, "input_resampling": resampled}
    except Exception as error:
        return {"type": "error", "call": call, "message": _describe(error)}


def _ready(model: Any) -> dict[str, Any]:
    ready = {
        "type": "ready",
        "protocol": PROTOCOL_VERSION,
        "id": str(model.id),
        "weights_hash": str(model.weights_hash),
        "tasks": [str(t) for t in model.tasks],
    }
    if hasattr(model, "watermarker"):  # a generator that watermarks its audio says which watermark is on
        ready["watermarker"] = getattr(model.watermarker, "name", None)
    return ready


def _set_watermark(model: Any, message: dict[str, Any]) -> dict[str, Any]:
    call = message.get("call")
    try:
        from avikit.models.watermark import DEFAULT_WATERMARKER, set_watermarking

        name = message.get("name")
        if not set_watermarking(model, name is not None, name or DEFAULT_WATERMARKER):
            raise TypeError(f"model {model.id} has no watermark to set")
        marker = getattr(model.watermarker, "name", None)
        return {"type": "watermarked", "call": call, "name": marker, "weights_hash": str(model.weights_hash)}
    except Exception as error:
        return {"type": "error", "call": call, "message": _describe(error)}


def _answer(model: Any, tasks: _Tasks, message: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to one message; ``None`` ends the session."""
    kind = message["type"]
    if kind == "hello":
        if message.get("protocol") != PROTOCOL_VERSION:
            return None
        return _ready(model)
    if kind == "predict":
        return _predict(model, tasks, message)
    if kind == "describe":
        return _describe_inputs(model, tasks, message)
    if kind == "watermark":
        return _set_watermark(model, message)
    if kind == "shutdown":
        return {"type": "bye"}
    return {"type": "error", "message": f"unknown message type {kind!r}"}


def serve(model: Any, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Answer the harness's messages on ``stdin`` with ``model`` until it shuts the worker down.

    Returns:
        The exit status: 0 after a shutdown, 1 if the harness spoke another protocol version or closed
        the stream without a shutdown.
    """
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    tasks = _Tasks()
    for line in stdin:
        try:
            message = parse_message(line)
        except ProtocolError as error:
            write_message(stdout, {"type": "error", "message": str(error)})
            continue
        answer = _answer(model, tasks, message)
        if answer is None:
            given = message.get("protocol")
            text = f"this worker speaks protocol {PROTOCOL_VERSION}, the harness {given}"
            write_message(stdout, {"type": "error", "message": text})
            return 1
        write_message(stdout, answer)
        if answer["type"] == "bye":
            return 0
    return 1


def _protocol_stdout() -> IO[str]:
    """Keep the real stdout for protocol messages; send everything else printed to stdout to stderr."""
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m avikit.models.worker_server NAME``: build model ``NAME`` and serve it on stdin/stdout."""
    args = list(sys.argv[1:] if argv is None else argv)
    channel = _protocol_stdout()
    if len(args) != 1:
        text = "usage: python -m avikit.models.worker_server NAME (a model name or package.module:factory)"
        write_message(channel, {"type": "error", "message": text})
        return 2
    try:
        from avikit.models.registry import get_model

        model = get_model(args[0])
    except Exception as error:
        write_message(channel, {"type": "error", "message": f"cannot build the model: {error}"})
        return 1
    return serve(model, sys.stdin, channel)


if __name__ == "__main__":
    raise SystemExit(main())
