"""``avikit generate TASK``: run a registered generator on a media file (or a caption) and save its output."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["generate_cmd"]


def generate_cmd(
    task: str = typer.Argument(
        ..., help="v2a (video in, audio out), a2v, joint-generation or codec-reconstruction."
    ),
    model: str = typer.Option(
        ..., "--model", help="Generator: a registered name (e.g. v2a-flow) or module:factory."
    ),
    out: Path = typer.Option(..., "--out", help="Output file: .wav for audio, .mp4 for video (with sound)."),
    input_file: Path | None = typer.Option(
        None, "--input", help="Input media file (the task's input streams)."
    ),
    caption: str | None = typer.Option(None, "--caption", help="Caption (joint-generation)."),
    duration: float | None = typer.Option(
        None, "--duration", help="Seconds to generate (default: the input's)."
    ),
) -> None:
    """Generate with a registered model from a real file: decode at the task's rates, predict, save."""
    from avikit.eval.generate import generate_file

    path = generate_file(task, model, out, input_file, caption, duration)
    typer.echo(f"wrote {path}")
