"""Manifests: ``Sample`` records stored as JSON Lines, read lazily, written atomically.

A manifest is written to a temporary file next to its destination and renamed into place only when
complete, so a run that is cut short never leaves a file that looks finished.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from avikit.data.sample import MediaRef, Provenance, Sample
    >>> s = Sample("a", "demo", "test", MediaRef("a.mp4"), Provenance("demo", "CC0-1.0"))
    >>> path = write_manifest(Path(tempfile.mkdtemp()) / "manifest.jsonl", [s, s])
    >>> [x.id for x in iter_manifest(path)]
    ['a', 'a']
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from avikit.data.sample import Sample
from avikit.errors import DataError, InputFileError

__all__ = ["atomic_writer", "iter_manifest", "read_manifest", "write_manifest"]


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """Open a temporary file next to ``path`` and rename it to ``path`` only if the block succeeds.

    Args:
        path: the final file path; its folder is created if needed.
        mode: ``"w"`` for text (UTF-8) or ``"wb"`` for bytes.

    Yields:
        The open temporary file.
    """
    if mode not in ("w", "wb"):
        raise DataError(f"mode must be 'w' or 'wb', got {mode!r}")
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    try:
        text = mode == "w"
        with os.fdopen(fd, mode, encoding="utf-8" if text else None, newline="\n" if text else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_manifest(path: str | os.PathLike[str], samples: Iterable[Sample]) -> Path:
    """Write ``samples`` as JSON Lines to ``path`` atomically and return the path."""
    with atomic_writer(path) as f:
        for sample in samples:
            f.write(sample.to_json())
            f.write("\n")
    return Path(path)


def iter_manifest(path: str | os.PathLike[str]) -> Iterator[Sample]:
    """Yield the samples of a JSONL manifest one by one, without reading the whole file.

    Raises:
        FileNotFoundError: if the manifest does not exist.
        ValueError: on a line that is not a valid sample; the message names the line.
    """
    source = Path(path)
    if not source.is_file():
        raise InputFileError(f"manifest {source} does not exist; write one with write_manifest()")
    with source.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield Sample.from_dict(json.loads(line))
            except (ValueError, TypeError, KeyError) as err:
                raise DataError(f"{source}:{number}: not a valid sample record: {err}") from err


def read_manifest(path: str | os.PathLike[str]) -> list[Sample]:
    """Return all samples of a JSONL manifest as a list."""
    return list(iter_manifest(path))
