"""The run folder: where each cell's records, media and energy files live, and the run's secret.

A cell's records are ``RUN/cells/<task>/<model>/<condition>.jsonl`` (a shard writes
``<condition>.shard<k>of<n>.jsonl``), a generation cell's media ``<condition>_media/`` beside them, and its
energy spans ``energy/<condition>.jsonl``. ``RUN/run.json`` keeps the secret of the run's opaque ids with
the arguments that fix the data: a resume with other data arguments is refused, naming the difference.

Example:
    >>> cell_media_dir("/runs/a", "v2a", "my model", "clean").parts[-4:]
    ('cells', 'v2a', 'my_model', 'clean_media')
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from avikit.data.manifest import atomic_writer
from avikit.errors import UsageError
from avikit.eval.cache import CellStore
from avikit.eval.distributed import World, broadcast_object
from avikit.eval.run_plan import RunConfig

__all__ = [
    "cell_dir",
    "cell_files",
    "cell_media_dir",
    "cell_store",
    "energy_file",
    "read_cell_records",
    "shared_secret",
]

_RUN_FILE = "run.json"
_DATA_ARGUMENTS = ("dataset", "split", "num_samples", "seed", "use")
"""The arguments that fix what a run folder's records were made on; a resume must repeat them."""


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.+@" else "_" for c in text)


def cell_dir(out: Path, task: str, model_id: str) -> Path:
    """The folder of one task's cells of one model."""
    return out / "cells" / _slug(task) / _slug(model_id)


def cell_files(out: Path, task: str, model_id: str, condition: str) -> list[Path]:
    """Every record file of one cell (all its shard files), in name order."""
    return sorted(cell_dir(out, task, model_id).glob(f"{_slug(condition)}.*jsonl"))


def cell_store(out: Path, task: str, model_id: str, condition: str, shard: tuple[int, int]) -> CellStore:
    """The record file shard ``(index, count)`` writes for one cell."""
    index, count = shard
    suffix = "jsonl" if count == 1 else f"shard{index}of{count}.jsonl"
    return CellStore(cell_dir(out, task, model_id) / f"{_slug(condition)}.{suffix}")


def energy_file(out: Path, task: str, model_id: str, condition: str) -> Path:
    """The file of one cell's energy spans."""
    return cell_dir(out, task, model_id) / "energy" / f"{_slug(condition)}.jsonl"


def cell_media_dir(out: str | Path, task: str, model_id: str, condition: str) -> Path:
    """The absolute folder where a generation cell's predicted media files go."""
    return (cell_dir(Path(out), task, model_id) / f"{_slug(condition)}_media").resolve()


def read_cell_records(out: str | Path, task: str, model_id: str, condition: str) -> dict[str, dict[str, Any]]:
    """Every record of one cell of run folder ``out`` (all shard files), by sample id, in file order."""
    records: dict[str, dict[str, Any]] = {}
    for path in cell_files(Path(out), task, model_id, condition):
        for record in CellStore(path).read():
            records.setdefault(record["id"], record)
    return records


def _run_secret(out: Path, config: RunConfig) -> bytes:
    """The run folder's opaque-id secret, made on the first run; a resume must keep the data arguments.

    Raises:
        UsageError: if ``out`` holds a run made on other data (dataset, split, sample count, seed, use).
    """
    path = out / _RUN_FILE
    given = config.to_dict()
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        changed = [k for k in _DATA_ARGUMENTS if saved["config"].get(k) != given.get(k)]
        if changed:
            what = ", ".join(f"{k}={saved['config'].get(k)!r} (now {given.get(k)!r})" for k in changed)
            raise UsageError(
                f"{out} holds a run made with {what}; write to a new --out folder, repeat those arguments "
                f"to resume, or delete {out}"
            )
        return bytes.fromhex(saved["secret"])
    secret = os.urandom(16)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as f:
        json.dump({"config": given, "secret": secret.hex()}, f, indent=1)
    return secret


def shared_secret(out: Path, config: RunConfig, world: World) -> bytes:
    """The run folder's secret, read or made by rank 0 and sent to every rank (with rank 0's error).

    Raises:
        UsageError: if ``out`` holds a run made on other data (dataset, split, sample count, seed, use).
    """
    if not world.distributed:
        return _run_secret(out, config)
    answer: tuple[bytes | None, str | None] = (None, None)
    if world.rank == 0:
        try:
            answer = (_run_secret(out, config), None)
        except UsageError as refused:
            answer = (None, str(refused))
    secret, message = broadcast_object(answer, world)
    if message is not None or secret is None:
        raise UsageError(message or "rank 0 could not read the run folder")
    return bytes(secret)
