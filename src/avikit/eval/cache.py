"""The result store of one cell (task x model x condition): per-sample records as append-only JSON Lines.

A batch's records are written with one write, then flushed and synced, so a kill loses at most the batch in
flight. A torn last line (no newline, or not JSON) is cut off when the file is opened again.

Example:
    >>> import tempfile
    >>> store = CellStore(Path(tempfile.mkdtemp()) / "cell.jsonl")
    >>> store.append([{"id": "a"}, {"id": "b"}])
    >>> [r["id"] for r in store.read()]
    ['a', 'b']
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from avikit.errors import UsageError

__all__ = ["CellStore"]

_LOG = logging.getLogger(__name__)


class CellStore:
    """Append-only JSONL records of one cell (or one shard of it)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def repair(self) -> None:
        """Cut off a torn last line left by a kill."""
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):
            _LOG.info("cutting a torn last line (%d bytes) from %s", len(data) - keep, self.path)
            with self.path.open("r+b") as f:
                f.truncate(keep)

    def read(self) -> list[dict[str, Any]]:
        """All complete records, in file order (a torn last line is ignored)."""
        if not self.path.is_file():
            return []
        records = []
        with self.path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.endswith("\n"):
                    break
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise UsageError(
                        f"{self.path}:{number}: corrupt record ({error}); delete the file"
                    ) from error
        return records

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append records with one write, then flush and fsync."""
        text = "".join(json.dumps(r, separators=(",", ":"), allow_nan=False) + "\n" for r in records)
        if not text:
            return
        self.repair()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
