"""Exporters of AVSynth sets to the official on-disk layouts of AV benchmarks, one file per format.

Example:
    >>> sorted(EXPORTERS)[:3]
    ['ave', 'avsbench-avss', 'avsbench-ms3']
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from avikit.data.export._common import Progress
from avikit.data.export.ave import export_ave
from avikit.data.export.avsbench import avss_palette, export_avsbench
from avikit.data.export.llp import export_llp
from avikit.data.export.music_avqa import export_music_avqa
from avikit.data.export.unav100 import export_unav100
from avikit.errors import UnknownNameError

__all__ = [
    "EXPORTERS",
    "avss_palette",
    "export_ave",
    "export_avsbench",
    "export_dataset",
    "export_llp",
    "export_music_avqa",
    "export_unav100",
]

EXPORTERS: dict[str, Callable[..., Path]] = {
    "ave": export_ave,
    "llp": export_llp,
    "unav100": export_unav100,
    "avsbench-s4": partial(export_avsbench, variant="s4"),
    "avsbench-ms3": partial(export_avsbench, variant="ms3"),
    "avsbench-avss": partial(export_avsbench, variant="avss"),
    "music-avqa": export_music_avqa,
}
"""Format name -> exporter ``(src, out, progress=None) -> Path``."""


def export_dataset(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    format: str,
    progress: Progress = None,
) -> Path:
    """Write the AVSynth set in ``src`` in the official layout ``format`` under ``out``.

    Raises:
        UnknownNameError: for an unknown format; the message lists the valid ones.
    """
    if format not in EXPORTERS:
        raise UnknownNameError(f"unknown export format {format!r}; valid formats are {', '.join(EXPORTERS)}")
    return EXPORTERS[format](src, out, progress=progress)
