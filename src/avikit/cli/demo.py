"""``avikit demo``: the end-to-end media demo (make, save, probe, reload, measure sync)."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Folder for the demo's files."),
) -> None:
    """Make an AV clip, save it as mp4, probe it, reload a window of it and print what was found."""
    from rich.console import Console

    from avikit.media.demo import run_media_demo

    console = Console()
    with console.status("making, encoding and reloading a clip"):
        report = run_media_demo(out)
    video, audio = report.info["video"], report.info["audio"]
    console.print(f"[bold]wrote[/bold] {report.path}")
    console.print(
        f"[bold]probe[/bold]  video {video['codec']} {video['width']}x{video['height']} "
        f"@ {video['fps']:g} fps, {video['num_frames']} frames | "
        f"audio {audio['codec']} {audio['sample_rate']} Hz x {audio['channels']}"
    )
    console.print(f"[bold]loaded[/bold] window {report.window} s -> {report.loaded}")
    console.print(f"[bold]light-up times[/bold] {report.visual_onsets}")
    console.print(f"[bold]tone onsets[/bold]    {report.audio_onsets}")
    console.print(f"[bold]largest audio-visual offset[/bold] {report.max_sync_error * 1000:.1f} ms")
    (out / "demo.json").write_text(json.dumps(report.to_dict(), indent=2))
