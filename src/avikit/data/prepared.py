"""Check a folder written by a dataset recipe (``prepare_<name>``): schema, media presence and counts.

A prepared folder holds one manifest per split (``<split>.jsonl``), the ids whose media was missing
(``<split>.missing.txt``), ``prepared.json`` (what was read, the options, and per split the subset:
counts and the SHA-256 of the sorted id list) and the Croissant card ``croissant.json``.

Example:
    >>> subset_digest(["b", "a"]) == subset_digest(["a", "b", "a"])
    True
    >>> describe_subset(["a", "b"])["samples"]
    2
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avikit.data.manifest import iter_manifest
from avikit.data.profile import read_profile
from avikit.data.sample import Sample
from avikit.errors import DataError, InputFileError

__all__ = [
    "PREPARED_FILE",
    "PreparedReport",
    "describe_subset",
    "read_prepared",
    "subset_digest",
    "validate_prepared",
]

PREPARED_FILE = "prepared.json"
_TOP_KEYS = {"format", "version", "dataset", "options", "sources", "notes", "splits"}
_SPLIT_KEYS = {"manifest", "missing_list", "samples", "found", "missing", "ids_sha256", "found_ids_sha256"}


def subset_digest(ids: Iterable[str]) -> str:
    """Return the SHA-256 hex digest of the sorted, de-duplicated ids, one per line.

    Two evaluations are on the same subset exactly when their digests are equal.
    """
    text = "".join(f"{i}\n" for i in sorted(set(ids)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def describe_subset(ids: Iterable[str]) -> dict[str, Any]:
    """Return ``{"samples": count, "ids_sha256": digest}`` of the ids an evaluation used."""
    unique = set(ids)
    return {"samples": len(unique), "ids_sha256": subset_digest(unique)}


@dataclass
class PreparedReport:
    """What :func:`validate_prepared` found: samples per split, media found per split, and every problem."""

    samples: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


def read_prepared(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and schema-check ``prepared.json`` of a prepared folder.

    Raises:
        FileNotFoundError: the folder has no ``prepared.json`` (it was not written by a recipe).
        ValueError: unknown or missing fields.
    """
    path = Path(folder) / PREPARED_FILE
    if not path.is_file():
        raise InputFileError(f"{path} does not exist; write the folder with `avikit data prepare NAME`")
    record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict) or set(record) != _TOP_KEYS or record["format"] != "avikit-prepared":
        raise DataError(
            f"{path}: not an avikit prepared record (fields {sorted(record)}; expected {sorted(_TOP_KEYS)})"
        )
    for split, entry in record["splits"].items():
        if not isinstance(entry, dict) or not set(entry) >= _SPLIT_KEYS:
            raise DataError(
                f"{path}: split {split!r} lacks field(s) {sorted(_SPLIT_KEYS - set(entry or {}))}"
            )
    return record


def media_paths(sample: Sample) -> list[str]:
    """Return every file a sample needs: its media plus the ``frame``, ``frames`` and ``masks`` targets.

    A sample's media counts as found only when all of them exist.
    """
    paths = [sample.media.path]
    for key in ("frame", "frames", "masks"):
        value = sample.targets.get(key)
        paths += [value] if isinstance(value, str) else list(value or ())
    return paths


def _check_split(base: Path, dataset: str, split: str, entry: dict[str, Any], report: PreparedReport) -> None:
    ids: list[str] = []
    found: list[str] = []
    for sample in iter_manifest(base / entry["manifest"]):
        if sample.dataset != dataset or sample.split != split:
            report.problems.append(
                f"{split}: sample {sample.id} says dataset={sample.dataset!r} split={sample.split!r}"
            )
        ids.append(sample.id)
        if all((base / p).is_file() for p in media_paths(sample)):
            found.append(sample.id)
    if len(set(ids)) != len(ids):
        report.problems.append(f"{split}: {len(ids) - len(set(ids))} duplicate sample id(s)")
    listed = (base / entry["missing_list"]).read_text(encoding="utf-8").splitlines()
    expected = {
        "samples": len(ids),
        "found": len(found),
        "missing": len(ids) - len(found),
        "ids_sha256": subset_digest(ids),
        "found_ids_sha256": subset_digest(found),
    }
    for key, value in expected.items():
        if entry[key] != value:
            report.problems.append(f"{split}: recorded {key} {entry[key]!r} but the folder gives {value!r}")
    if sorted(listed) != sorted(set(ids) - set(found)):
        report.problems.append(
            f"{split}: {entry['missing_list']} does not list exactly the samples without media"
        )
    report.samples[split], report.found[split] = len(ids), len(found)


def validate_prepared(folder: str | os.PathLike[str]) -> PreparedReport:
    """Check a prepared folder: record schema, every manifest line, ids, media presence and counts.

    Media presence is checked again on disk, so media added or removed after ``prepare`` shows up as a
    count mismatch: prepare again to record the new subset. The card must declare the dataset's profile
    (geometry and vocabularies, :mod:`avikit.data.profile`).
    """
    base = Path(folder)
    report = PreparedReport()
    try:
        record = read_prepared(base)
    except (FileNotFoundError, ValueError) as err:
        report.problems.append(str(err))
        return report
    for split, entry in record["splits"].items():
        try:
            _check_split(base, record["dataset"], split, entry, report)
        except (FileNotFoundError, ValueError) as err:
            report.problems.append(f"{split}: {err}")
    if not (base / "croissant.json").is_file():
        report.problems.append("croissant.json is missing; prepare the dataset again")
    else:
        try:
            read_profile(base)
        except ValueError as err:
            report.problems.append(str(err))
    return report
