"""One running worker process and the line channel to it (the harness side's plumbing).

:class:`WorkerChannel` starts a worker command in a fresh temporary folder with a whitelisted environment,
sends and receives protocol messages with a deadline, keeps the tail of its stderr for error messages, and
stops it. :class:`~avikit.models.worker.WorkerModel` speaks the protocol over it.

Example:
    >>> import sys
    >>> channel = WorkerChannel([sys.executable, "-c", "print(input())"], "echo")
    >>> channel.send({"type": "hello", "protocol": 1})
    >>> channel.receive(30)["type"]
    'hello'
    >>> channel.close()
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from avikit.errors import UsageError, WorkerError
from avikit.models.worker_protocol import ProtocolError, parse_message, write_message

__all__ = ["PASSED_ENVIRONMENT", "WorkerChannel"]

log = logging.getLogger(__name__)

PASSED_ENVIRONMENT = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "CUDA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "AVIKIT_CACHE",
    "HF_HOME",
    "XDG_CACHE_HOME",
)
"""The only variables of the harness's environment a worker inherits (where to find programs, packages,
caches and devices); every other variable, and the harness's working folder, stay behind."""


def _environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    """The passed variables, with ``PYTHONPATH``'s folders made absolute (the worker starts elsewhere)."""
    passed = {name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ}
    if passed.get("PYTHONPATH"):
        folders = [str(Path(p).resolve()) for p in passed["PYTHONPATH"].split(os.pathsep) if p]
        passed["PYTHONPATH"] = os.pathsep.join(folders)
    return {**passed, **(extra or {})}


def _forward(stream: IO[str], sink: queue.Queue[str | None]) -> None:
    for line in stream:
        sink.put(line)
    sink.put(None)


def _keep_tail(stream: IO[str], tail: collections.deque[str], name: str) -> None:
    for line in stream:
        tail.append(line.rstrip())
        log.debug("worker %s: %s", name, line.rstrip())


class WorkerChannel:
    """A started worker process: its stdin and stdout as a message channel, its stderr's last lines.

    Args:
        command: the program and its arguments.
        name: how errors name the worker.
        env: variables to set besides those of :data:`PASSED_ENVIRONMENT`.

    Attributes:
        root: the worker's temporary folder (its working folder is ``root/cwd``); removed by :meth:`close`.

    Raises:
        UsageError: if the command's program does not exist.
    """

    def __init__(self, command: Sequence[str], name: str, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.root = Path(tempfile.mkdtemp(prefix="avikit-worker-"))
        (self.root / "cwd").mkdir()
        try:
            self.process = subprocess.Popen(
                list(command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.root / "cwd",
                env=_environment(env),
                text=True,
                encoding="utf-8",
                bufsize=1,
                start_new_session=True,
            )
        except OSError as error:
            shutil.rmtree(self.root, ignore_errors=True)
            raise UsageError(
                f"worker {name}: cannot start {list(command)[:1]} ({error}); give an installed program"
            ) from None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._tail: collections.deque[str] = collections.deque(maxlen=20)
        assert self.process.stdout is not None and self.process.stderr is not None  # PIPE above
        for target, args in ((_forward, self._lines), (_keep_tail, self._tail)):
            stream = self.process.stdout if target is _forward else self.process.stderr
            extra = () if target is _forward else (name,)
            threading.Thread(target=target, args=(stream, args, *extra), daemon=True).start()

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def send(self, message: dict[str, Any]) -> None:
        """Write one message to the worker's stdin.

        Raises:
            WorkerError: if the worker has closed its stdin (it exited).
        """
        assert self.process.stdin is not None  # PIPE above
        try:
            write_message(self.process.stdin, message)
        except (BrokenPipeError, ValueError):
            raise self._exited() from None

    def receive(self, timeout: float) -> dict[str, Any]:
        """The worker's next message, waiting at most ``timeout`` seconds.

        Raises:
            WorkerError: if it exits first, does not answer in time (it is stopped), or writes a line that
                is not a protocol message (it is stopped).
        """
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.close(grace=0)
            raise WorkerError(
                f"worker {self.name} did not answer within {timeout:g} s and was stopped; give it more time "
                "(timeout=) or make it faster"
            ) from None
        if line is None:
            raise self._exited()
        try:
            return parse_message(line)
        except ProtocolError as error:
            self.close(grace=0)
            raise WorkerError(
                f"worker {self.name} wrote a line that is {error} and was stopped; a worker writes only "
                "protocol messages to stdout (log to stderr)"
            ) from None

    def _exited(self) -> WorkerError:
        try:
            status = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            status = None
        said = next((line for line in reversed(self._tail) if line.strip()), "")
        last = f": {said[:300]}" if said else " (nothing on stderr)"
        return WorkerError(f"worker {self.name} exited with status {status}{last}")

    def close(self, grace: float = 5.0) -> None:
        """Close its stdin, stop it if it still runs ``grace`` seconds later, and remove its folder."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):  # a pipe the worker already closed
                self.process.stdin.close()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        _remove(self.root)


def _remove(folder: Path) -> None:
    """Remove a folder the harness made, read-only parts included."""
    for path in [folder, *folder.rglob("*")] if folder.exists() else []:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o700)
    shutil.rmtree(folder, ignore_errors=True)
