"""A model that runs in its own process: the harness side of :mod:`avikit.models.worker_protocol`.

:class:`WorkerModel` is a :class:`~avikit.models.protocol.Model` whose ``predict`` sends the batch to a
worker process and returns its answers. Only what an :class:`~avikit.models.protocol.Item` carries crosses
the boundary, with a fresh random id per call in place of the run's opaque id (:func:`call_token`): the
task's inputs as JSON and the media as read-only ``.npy`` files in a fresh
folder per call. The worker starts in an empty temporary working folder with a whitelisted environment
(:data:`~avikit.models.worker_channel.PASSED_ENVIRONMENT`) and is never told the run folder, the data or a
sample id; a generator writes its files into a folder of its own, which the harness moves into the run.

A worker that exits, times out, speaks another protocol version or answers malformed raises
:class:`~avikit.errors.WorkerError` with one line; inside a run the predict loop turns it into error records
for the batch's samples, and the next call starts the worker again.

``get_model("worker:NAME")`` hosts model ``NAME`` (a registered name, ``package.module:factory`` or an
entry point) in ``python -m avikit.models.worker_server NAME`` with the harness's Python.

Example:
    >>> from avikit.data.synth import generate, load_clip
    >>> from avikit.eval.predict import ItemFactory, OpaqueIds
    >>> from avikit.tasks import get_task
    >>> task, sample = get_task("sync"), generate("test", 0)[0]
    >>> item = ItemFactory(task, lambda s: load_clip(s, None), OpaqueIds(b"k")).item([sample], 0)
    >>> with WorkerModel(worker_command("constant")) as model:
    ...     (prediction,) = model.predict(task, [item])
    >>> model.id, prediction["id"] == item.id
    ('constant', True)
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import shutil
import sys
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from avikit.errors import WorkerError
from avikit.models.protocol import Item
from avikit.models.watermark import load_watermarker
from avikit.models.worker_channel import WorkerChannel
from avikit.models.worker_protocol import PROTOCOL_VERSION, save_media
from avikit.tasks import Task

__all__ = ["WorkerModel", "worker_command"]


def worker_command(name: str) -> list[str]:
    """The command that hosts model ``name`` in avikit's worker server with this Python.

    Example:
        >>> worker_command("avel")[1:]
        ['-m', 'avikit.models.worker_server', 'avel']
    """
    return [sys.executable, "-m", "avikit.models.worker_server", name]


def _describe_task(task: Task) -> dict[str, Any]:
    return {
        "name": task.name,
        "split": task.spec.protocol.split,
        "profile": task.profile.to_dict() if task.bound else None,
        "protocol_hash": task.spec.protocol_hash,
    }


class WorkerModel:
    """A model in a worker process, started now and handshaken (its id, weights hash and tasks).

    Args:
        command: the worker's program and arguments (e.g. :func:`worker_command`, or another environment's
            ``python -m my_package.serve``).
        timeout: seconds the worker may take to answer one ``predict`` call.
        start_timeout: seconds it may take to start and load its model.
        env: variables to set in the worker's environment besides the passed ones.
        name: how errors name the worker until it names its model (default: the program and its last
            argument).

    Raises:
        UsageError: if the command's program does not exist.
        WorkerError: if the worker does not complete the handshake.
    """

    def __init__(
        self,
        command: Sequence[str],
        timeout: float = 600.0,
        start_timeout: float = 300.0,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> None:
        self.command, self.timeout, self.start_timeout = list(command), timeout, start_timeout
        self.env = dict(env or {})
        self._name = name or _short_name(self.command)
        self._calls = 0
        self._resampling: dict[str, dict[str, str]] = {}
        self._channel: WorkerChannel | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        ready = self._start()
        self.id: str = str(ready["id"])
        self.weights_hash: str = str(ready["weights_hash"])
        self.tasks: tuple[str, ...] = tuple(str(t) for t in ready["tasks"])
        self._name = self.id
        self._marker: str | None = ready.get("watermarker")
        if "watermarker" in ready:  # a generator's watermark, which set_watermarking turns on and off
            self.__dict__["watermarker"] = None if self._marker is None else load_watermarker(self._marker)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "watermarker" and "watermarker" in self.__dict__:
            self.weights_hash = self._send_watermark(getattr(value, "name", None))
            self._marker = getattr(value, "name", None)
        object.__setattr__(self, name, value)

    def _send_watermark(self, name: str | None) -> str:
        """Turn the worker's watermark on (``name``) or off (``None``); return its new weights hash."""
        answer = self._request({"type": "watermark", "name": name}, "watermarked")
        if answer.get("name") != name or not isinstance(answer.get("weights_hash"), str):
            raise WorkerError(f"worker {self._name} answered watermark {name!r} with {str(answer)[:120]}")
        return str(answer["weights_hash"])

    def _request(self, message: dict[str, Any], expected: str) -> dict[str, Any]:
        """Send one request and return the worker's answer of type ``expected`` to it.

        Raises:
            WorkerError: if the worker fails, reports an error for the call, or answers another type.
        """
        channel = self._running()
        self._calls += 1
        channel.send({**message, "call": self._calls})
        answer = channel.receive(self.timeout)
        if answer.get("type") == "error" and answer.get("call") == self._calls:
            raise WorkerError(f"worker {self._name}: {answer.get('message')}")
        if answer.get("type") != expected or answer.get("call") != self._calls:
            raise WorkerError(
                f"worker {self._name} answered {message['type']} call {self._calls} with "
                f"{str(answer)[:120]}; expected {{'type': '{expected}', 'call': {self._calls}, ...}} "
                "(docs/models.md)"
            )
        return answer

    def _start(self) -> dict[str, Any]:
        channel = WorkerChannel(self.command, self._name, self.env)
        self._channel, self._finalizer = channel, weakref.finalize(self, channel.close, 2)
        channel.send({"type": "hello", "protocol": PROTOCOL_VERSION})
        ready = channel.receive(self.start_timeout)
        if ready.get("type") == "error":
            channel.close(grace=1)
            raise WorkerError(f"worker {self._name} refused to start: {ready.get('message')}")
        fields_ok = isinstance(ready.get("tasks"), list) and all(
            isinstance(ready.get(k), str) for k in ("id", "weights_hash")
        )
        if ready.get("type") != "ready" or ready.get("protocol") != PROTOCOL_VERSION or not fields_ok:
            channel.close(grace=0)
            raise WorkerError(
                f"worker {self._name} answered the handshake of protocol {PROTOCOL_VERSION} with "
                f"{str(ready)[:120]}; it must answer {{'type': 'ready', 'protocol': {PROTOCOL_VERSION}, "
                "'id', 'weights_hash', 'tasks'} (docs/models.md)"
            )
        return ready

    def _running(self) -> WorkerChannel:
        """The channel, starting the worker again (the same model) after it stopped."""
        if self._channel is not None and self._channel.alive:
            return self._channel
        self.close()
        ready = self._start()
        weights_hash = ready["weights_hash"]
        if "watermarker" in self.__dict__ and ready.get("watermarker") != self._marker:
            weights_hash = self._send_watermark(self._marker)  # as it was set before the restart
        if (ready["id"], weights_hash) != (self.id, self.weights_hash):
            self.close()
            raise WorkerError(
                f"worker {self._name} restarted as {ready['id']} ({weights_hash}), not {self.id} "
                f"({self.weights_hash})"
            )
        assert self._channel is not None  # set by _start
        return self._channel

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """Send the batch to the worker; return its predictions, generated files moved to the items' folders.

        Raises:
            WorkerError: if the worker exits, times out, answers malformed or reports an error for the call
                or for any item.
        """
        folder = Path(tempfile.mkdtemp(dir=self._running().root))
        try:
            out = folder / "out"
            out.mkdir()
            tokens = [call_token() for _ in batch]
            items = [
                self._item_message(item, token, k, folder, out)
                for k, (item, token) in enumerate(zip(batch, tokens, strict=True))
            ]
            request = {"type": "predict", "task": _describe_task(task), "items": items}
            results = self._results(self._request(request, "predictions"), len(batch))
            return [
                _moved(_own_id(p, token, item.id), item, out, token)
                for p, item, token in zip(results, batch, tokens, strict=True)
            ]
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def input_resampling(self, task: Task) -> dict[str, str]:
        """How the hosted model brings ``task``'s media to its input geometry (asked once per task).

        Raises:
            WorkerError: if the worker fails or answers malformed.
        """
        described = _describe_task(task)
        key = described["protocol_hash"]
        if key not in self._resampling:
            answer = self._request({"type": "describe", "task": described}, "description")
            resampled = answer.get("input_resampling")
            if not isinstance(resampled, dict):
                raise WorkerError(
                    f"worker {self._name} answered describe with {str(answer)[:120]}; expected "
                    "{'type': 'description', 'call', 'input_resampling': {...}}"
                )
            self._resampling[key] = {str(k): str(v) for k, v in resampled.items()}
        return dict(self._resampling[key])

    @staticmethod
    def _item_message(item: Item, token: str, position: int, folder: Path, out: Path) -> dict[str, Any]:
        frames, waveform = item.media
        inputs = dataclasses.replace(item.inputs, sample_id=token)
        return {
            "id": token,
            "inputs": inputs.to_dict(),
            "frames": save_media(folder, f"{position}.frames", frames),
            "waveform": save_media(folder, f"{position}.waveform", waveform),
            "output_dir": None if item.output_dir is None else str(out),
        }

    def _results(self, answer: dict[str, Any], count: int) -> list[dict[str, Any]]:
        results = answer.get("results")
        if not isinstance(results, list) or len(results) != count:
            raise WorkerError(
                f"worker {self._name} answered call {self._calls} ({count} items) with {str(answer)[:120]}; "
                "expected {'type': 'predictions', 'call', 'results': [one per item]}"
            )
        assert isinstance(results, list)  # checked above
        for position, result in enumerate(results):
            if isinstance(result, dict) and isinstance(result.get("error"), str):
                raise WorkerError(f"worker {self._name}: item {position}: {result['error']}")
            if not isinstance(result, dict) or not isinstance(result.get("prediction"), dict):
                raise WorkerError(
                    f"worker {self._name}: item {position}: expected {{'prediction': {{...}}}} or "
                    f"{{'error': '...'}}, got {str(result)[:80]}"
                )
        return [result["prediction"] for result in results]

    def close(self) -> None:
        """Shut the worker down (it may finish cleanly for a few seconds) and remove its folder."""
        channel, self._channel = self._channel, None
        if self._finalizer is not None:
            self._finalizer.detach()
        if channel is not None and channel.alive:
            with contextlib.suppress(WorkerError):  # it exited meanwhile: nothing to shut down
                channel.send({"type": "shutdown"})
        if channel is not None:
            channel.close()

    def __enter__(self) -> WorkerModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def call_token() -> str:
    """A fresh random item id for one call, kept only in the harness's memory.

    The worker sees this in place of the run's opaque id, so nothing it can read on disk (the run's
    secret included) maps its items to samples, and one sample's items in two calls are unrelated.

    Example:
        >>> a, b = call_token(), call_token()
        >>> a.startswith("item-"), len(a), a != b
        (True, 25, True)
    """
    return "item-" + secrets.token_hex(10)


def _own_id(prediction: dict[str, Any], token: str, item_id: str) -> dict[str, Any]:
    """The prediction with the call's token, wherever it is a whole value, back to the item's own id."""
    return {key: item_id if value == token else value for key, value in prediction.items()}


def _short_name(command: Sequence[str]) -> str:
    """How errors name a worker before it names its model: the program and a short last argument."""
    program = Path(command[0]).name if command else "?"
    last = command[-1] if len(command) > 1 else ""
    return f"{program} {last}" if last and len(last) <= 60 and "\n" not in last else program


def _moved(prediction: dict[str, Any], item: Item, out: Path, token: str) -> dict[str, Any]:
    """The prediction with the files the worker wrote in ``out`` moved into ``item.output_dir``.

    A file named after the call's ``token`` is named after the item's own id in the run.

    Raises:
        WorkerError: if a field names a file outside the worker's output folder.
    """
    if item.output_dir is None:
        return prediction
    moved = dict(prediction)
    for key, value in prediction.items():
        if not isinstance(value, str) or not Path(value).is_absolute():
            continue
        path = Path(value).resolve()
        if not path.is_relative_to(out.resolve()) or not path.is_file():
            raise WorkerError(
                f"item {item.id}: field {key!r} names {value}, not a file the worker wrote in its output "
                "folder"
            )
        item.output_dir.mkdir(parents=True, exist_ok=True)
        moved[key] = str(shutil.move(path, item.output_dir / path.name.replace(token, item.id)))
    return moved
