"""``avikit info``: what a media file holds."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def info(
    file: Path = typer.Argument(..., help="A media file (mp4, mkv, webm, wav, ...)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show the streams of a media file: codecs, rates, sizes, counts and start times."""
    from rich.console import Console
    from rich.table import Table

    from avikit.media import probe

    media = probe(file)
    data = media.to_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"{file}  ({media.container}, {media.duration:.3f} s)")
    table.add_column("stream")
    table.add_column("field")
    table.add_column("value", justify="right")
    for kind in ("video", "audio"):
        fields = data[kind]
        if fields is None:
            table.add_row(kind, "-", "absent")
            continue
        for key, value in fields.items():
            table.add_row(kind, key, f"{value:.6g}" if isinstance(value, float) else str(value))
    Console().print(table)
