"""Helpers every trainer shares: seeding, a JSONL loss log, an SVG loss plot and a progress bar.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with LossLog(folder / "loss.jsonl") as log:
    ...     log.write(step=1, loss=2.0)
    ...     log.write(step=2, loss=1.5)
    >>> [r["loss"] for r in read_loss_log(folder / "loss.jsonl")]
    [2.0, 1.5]
    >>> plot_losses_svg(read_loss_log(folder / "loss.jsonl"), folder / "loss.svg").suffix
    '.svg'
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np
import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from avikit.errors import UsageError

__all__ = ["LossLog", "make_progress", "plot_losses_svg", "read_loss_log", "seed_everything"]

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch, and return a fresh torch generator seeded with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


class LossLog:
    """Append-only JSONL log of training values, one record per line (the file is truncated on open)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records: list[dict[str, float]] = []
        self._file: IO[str] = self.path.open("w")

    def write(self, **values: float) -> None:
        """Write one record, e.g. ``write(step=3, loss=0.7)``, and flush it."""
        record = {k: float(v) for k, v in values.items()}
        self.records.append(record)
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> LossLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_loss_log(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """Read the records of a :class:`LossLog` file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_losses_svg(
    records: Sequence[Mapping[str, float]],
    path: str | os.PathLike[str],
    x: str = "step",
    title: str = "training loss",
    width: int = 640,
    height: int = 360,
) -> Path:
    """Plot every numeric series of ``records`` against ``x`` as an SVG line chart (one scale, linear).

    Args:
        records: log records, e.g. from :func:`read_loss_log`.
        path: output ``.svg`` file.
        x: the key of the horizontal axis.
        title: chart title.
        width: picture width in pixels.
        height: picture height in pixels.
    """
    keys = [k for k in (records[0] if records else {}) if k != x]
    xs = [float(r[x]) for r in records]
    values = [float(r[k]) for r in records for k in keys]
    if not xs or not values:
        raise UsageError("nothing to plot: the log has no records")
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(values), max(values) if max(values) > min(values) else min(values) + 1
    left, right, top, bottom = 60, width - 130, 30, height - 40

    def point(px: float, py: float) -> str:
        u = left + (px - x0) / (x1 - x0) * (right - left)
        v = bottom - (py - y0) / (y1 - y0) * (bottom - top)
        return f"{u:.1f},{v:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="18">{escape(title)}</text>',
        f'<polyline fill="none" stroke="black" points="{left},{top} {left},{bottom} {right},{bottom}"/>',
        f'<text x="{left - 5}" y="{top + 4}" text-anchor="end">{y1:.3g}</text>',
        f'<text x="{left - 5}" y="{bottom}" text-anchor="end">{y0:.3g}</text>',
        f'<text x="{left}" y="{bottom + 16}">{x0:g}</text>',
        f'<text x="{right}" y="{bottom + 16}" text-anchor="end">{escape(x)} {x1:g}</text>',
    ]
    for i, key in enumerate(keys):
        colour = _COLOURS[i % len(_COLOURS)]
        points = " ".join(point(float(r[x]), float(r[key])) for r in records)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        parts.append(f'<text x="{right + 8}" y="{top + 14 * (i + 1)}" fill="{colour}">{escape(key)}</text>')
    parts.append("</svg>")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts) + "\n")
    return out


def make_progress(disable: bool = False) -> Progress:
    """Return a rich progress bar: count, elapsed and remaining time, and a ``{task.fields[info]}`` text."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        disable=disable,
    )
