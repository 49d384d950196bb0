"""``avikit detect FILE``: is there an avikit audio watermark in this file, where, and which message."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from avikit.errors import UsageError

__all__ = ["detect_cmd"]


def detect_cmd(
    file: Path = typer.Argument(
        ..., help="A media file (wav, mp3, m4a, mp4, ...) or a generator's .npy audio."
    ),
    method: str = typer.Option("all", help="Watermarker: learned, spread-spectrum or all."),
    npy_sample_rate: int = typer.Option(16000, help="Sample rate of a .npy file's audio."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Detect avikit's audio watermarks: score, decision at FPR 1e-2 / 1e-3, message and watermarked spans."""
    from rich.console import Console
    from rich.table import Table

    from avikit.eval.watermark import detect_file
    from avikit.models.watermark import WATERMARKERS

    if method != "all" and method not in WATERMARKERS:
        raise UsageError(f"--method {method!r}: choose one of {', '.join(WATERMARKERS)} or all")
    reports = detect_file(file, None if method == "all" else [method], npy_sample_rate)
    if as_json:
        typer.echo(json.dumps(reports, indent=1))
        return
    table = Table(title=f"{file}: audio watermarks")
    for column in ("watermarker", "score", "FPR 1e-2", "FPR 1e-3", "message", "generator (bits, p)", "spans"):
        table.add_column(column)
    for r in reports:
        near = r["nearest_generator"]
        spans = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in r["segments"][:4]) or "-"
        table.add_row(
            r["watermarker"],
            f"{r['score']:.3f}",
            "detected" if r["detected"]["0.01"] else "no",
            "detected" if r["detected"]["0.001"] else "no",
            r["message"],
            f"{near['model']} ({near['bits_correct']}/16, p={near['p_value']:.1e})",
            spans,
        )
    Console().print(table)
