"""``avikit stream run|costs``: the streaming benchmark and the long-stream cost measurement."""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["stream_app"]

stream_app = typer.Typer(help="Streaming perception: online tasks and real-time costs.", no_args_is_help=True)


@stream_app.command("run")
def run(
    task: str = typer.Option(..., "--task", help="stream-events, stream-sync or stream-questions."),
    models: list[str] = typer.Option(
        ..., "--model", help="Streaming model(s): bands, window-avvp, window-sync."
    ),
    n: int = typer.Option(5, "--n", min=1, help="Streams (120 s each)."),
    seed: int = typer.Option(0, "--seed", help="AVSynth and bootstrap seed."),
    out: Path = typer.Option(Path("runs/stream"), "--out", help="Output folder."),
) -> None:
    """Run streaming models (and the silent baseline) on a streaming task; print the leaderboard."""
    from avikit.eval.streaming.benchmark import run_stream_benchmark

    run_stream_benchmark(task, models, out / task, n=n, seed=seed)
    typer.echo((out / task / "leaderboard.md").read_text())


@stream_app.command("costs")
def costs(
    model: str = typer.Option(..., "--model", help="Streaming model."),
    minutes: int = typer.Option(10, "--minutes", min=1, help="Stream length."),
) -> None:
    """Real-time factor, lag drift and memory growth over a long stream."""
    from avikit.eval.streaming.benchmark import measure_long_stream

    typer.echo(json.dumps(measure_long_stream(model, minutes), indent=1, default=float))


@stream_app.command("file")
def file(
    path: Path = typer.Argument(..., help="A media file (read at 8 fps, 16 kHz, 128 px)."),
    model: str = typer.Option("bands", "--model", help="Streaming model."),
) -> None:
    """Stream a file through a model in 0.5 s chunks; print its timed events and costs as JSON."""
    from avikit.eval.streaming.benchmark import stream_file

    typer.echo(json.dumps(stream_file(path, model), indent=1, default=float))
