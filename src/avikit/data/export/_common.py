"""Helpers shared by the exporters: reading the source set, atomic text and media copies.

Images are written and read by :mod:`avikit.data.images` (``read_image`` and ``write_image`` are re-exported
here for the exporters).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

from avikit.data.images import read_image, write_image
from avikit.data.manifest import atomic_writer, read_manifest
from avikit.data.profile import read_profile
from avikit.data.sample import Sample
from avikit.errors import InputFileError, UsageError

__all__ = ["read_image", "write_image"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None] | None
OFFICIAL_SPLITS = {"train": "train", "val": "val", "test": "test", "open_test": "test"}


def source_samples(src: str | os.PathLike[str]) -> list[Sample]:
    """Read the samples of an AVSynth folder; fail if it is not one."""
    path = Path(src) / "manifest.jsonl"
    if not path.is_file() and (Path(src) / "prepared.json").is_file():
        raise UsageError(
            f"{src} is a folder written by `avikit data prepare`, not an AVSynth set; export writes AVSynth "
            "sets in official layouts: give a folder from `avikit data synth`"
        )
    if not path.is_file():
        raise InputFileError(
            f"{path} does not exist; make the set first with `avikit data synth --out {src}`"
        )
    return read_manifest(path)


def source_classes(src: str | os.PathLike[str]) -> tuple[str, ...]:
    """The class list the AVSynth set in ``src`` declares (its card's profile), in index order."""
    return read_profile(src).labels("classes")


def split_of(sample: Sample) -> str | None:
    """Return the official split name of a sample, or ``None`` for splits with no counterpart (long)."""
    return OFFICIAL_SPLITS.get(sample.split)


def targets(sample: Sample) -> dict[str, Any]:
    """Return all targets of a sample as plain dicts and lists."""
    return {k: sample.target(k) for k in sample.targets}


def write_text(path: Path, text: str) -> Path:
    """Write text atomically."""
    with atomic_writer(path) as f:
        f.write(text)
    return path


def write_json(path: Path, data: Any, indent: int | None = 2) -> Path:
    """Write JSON atomically."""
    return write_text(path, json.dumps(data, indent=indent) + "\n")


def copy_file(src: Path, dest: Path) -> Path:
    """Copy a file atomically (a cut-short copy never has the final name)."""
    with src.open("rb") as fin, atomic_writer(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    return dest


def runs(flags: Iterable[bool]) -> list[tuple[int, int]]:
    """Return the ``[start, stop)`` index ranges of consecutive true values.

    Example:
        >>> runs([0, 1, 1, 0, 1])
        [(1, 3), (4, 5)]
    """
    out: list[tuple[int, int]] = []
    start = None
    items = list(flags)
    for k, flag in enumerate([*items, False]):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            out.append((start, k))
            start = None
    return out


def seconds_text(value: float | int) -> str:
    """Write seconds without a trailing ``.0`` for whole numbers."""
    frac = Fraction(value).limit_denominator(10**7)
    return str(int(frac)) if frac.denominator == 1 else repr(float(value))
