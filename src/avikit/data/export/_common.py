"""Helpers shared by the exporters: reading the source set, atomic text and media copies, images."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from avikit.data.manifest import atomic_writer, read_manifest
from avikit.data.sample import Sample
from avikit.errors import DataError, InputFileError

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None] | None
OFFICIAL_SPLITS = {"train": "train", "val": "val", "test": "test", "open_test": "test"}


def source_samples(src: str | os.PathLike[str]) -> list[Sample]:
    """Read the samples of an AVSynth folder; fail if it is not one."""
    path = Path(src) / "manifest.jsonl"
    if not path.is_file():
        raise InputFileError(
            f"{path} does not exist; make the set first with `avikit data synth --out {src}`"
        )
    return read_manifest(path)


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


def _encode_image(array: np.ndarray, codec: str) -> bytes:
    fmt = "gray" if array.ndim == 2 else "rgb24"
    context: Any = av.CodecContext.create(codec, "w")
    context.width, context.height = array.shape[1], array.shape[0]
    context.pix_fmt = fmt if codec == "png" else "yuvj444p"
    context.time_base = Fraction(1, 1)
    if codec == "mjpeg":
        context.options = {"qmin": "1", "qmax": "3"}
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format=fmt)
    if context.pix_fmt != fmt:
        frame = frame.reformat(format=context.pix_fmt)
    packets = [*context.encode(frame), *context.encode(None)]
    return b"".join(bytes(p) for p in packets)


def write_image(path: Path, array: np.ndarray) -> Path:
    """Write ``uint8 [H, W]`` (grey) or ``[H, W, 3]`` (RGB) as PNG or JPEG (by suffix), atomically."""
    codec = {".png": "png", ".jpg": "mjpeg", ".jpeg": "mjpeg"}.get(path.suffix.lower())
    if codec is None:
        raise DataError(f"image suffix must be .png or .jpg, got {path.name}")
    with atomic_writer(path, "wb") as f:
        f.write(_encode_image(array, codec))
    return path


def read_image(path: Path) -> np.ndarray:
    """Read a PNG or JPEG written by :func:`write_image` (grey as ``[H, W]``, colour as ``[H, W, 3]``)."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    if frame.format.name == "gray":
        return frame.to_ndarray()
    return frame.to_ndarray(format="rgb24")
