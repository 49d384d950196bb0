"""``avikit data pack`` and ``avikit eval extract``: the fast layout, and model outputs into a run cache."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import typer

from avikit.cli.common import split_list

__all__ = ["extract_cmd", "pack_cmd"]


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    height, _, width = text.lower().partition("x")
    if not height.isdigit() or not (width or height).isdigit():
        raise typer.BadParameter(
            f"a size is N or HxW, e.g. 224 or 180x320; got {text!r}", param_hint="--size"
        )
    return int(height), int(width or height)


def pack_cmd(
    prepared: Path = typer.Argument(..., help="A folder from `avikit data prepare` or `avikit data synth`."),
    out: Path = typer.Argument(..., help="The packed folder (new, or this pack being resumed)."),
    size: str | None = typer.Option(None, "--size", help="Frame size N or HxW (default: the source's)."),
    keyframe_fps: str = typer.Option("1", "--keyframe-fps", help="Keyframes on this sampling grid (per s)."),
    sample_rate: int = typer.Option(16000, "--sample-rate", min=1, help="Audio sidecar rate in Hz."),
    channels: int | None = typer.Option(None, "--channels", min=1, max=2, help="1 or 2 (default: source)."),
    audio_format: str = typer.Option("wav", "--audio-format", help="wav (16-bit PCM) or flac."),
    crf: int = typer.Option(18, "--crf", min=0, max=51, help="x264 quality (18: visually lossless)."),
    engine: str = typer.Option("local", "--engine", help="local, or ray (a Ray Data pipeline)."),
    verify: int = typer.Option(4, "--verify", min=0, help="Clips whose fidelity is measured and recorded."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Empty a non-empty OUT first."),
) -> None:
    """Re-encode a dataset for throughput: video at the task size, keyframes on the grid, WAV sidecars."""
    from avikit.data.pack import pack_dataset
    from avikit.data.parallel import get_mapper
    from avikit.media.repack import RepackSpec

    try:
        grid = Fraction(keyframe_fps)
    except (ValueError, ZeroDivisionError):
        raise typer.BadParameter(
            f"a rate like 1 or 1/2, got {keyframe_fps!r}", param_hint="--keyframe-fps"
        ) from None
    spec = RepackSpec(_size(size), grid, crf, sample_rate=sample_rate, channels=channels,
                      audio_format=audio_format)  # fmt: skip
    report = pack_dataset(prepared, out, spec, get_mapper(engine), overwrite=overwrite, verify=verify)
    fidelity = ", ".join(f"{k} {v:g}" for k, v in report.fidelity.items())
    typer.echo(
        f"packed {report.media} media files of {report.samples} samples in {report.seconds:.1f} s: "
        f"{report.bytes_before / 1e6:.1f} MB -> {report.bytes_after / 1e6:.1f} MB ({fidelity}) -> {out}"
    )


def extract_cmd(
    cache: Path = typer.Option(..., "--cache", help="The run cache folder to fill (see `eval run --cache`)."),
    tasks: list[str] = typer.Option(..., "--tasks", help="Task names (comma- or space-separated)."),
    models: list[str] = typer.Option(..., "--models", help="Registered names or package.module:factory."),
    dataset: Path | None = typer.Option(None, "--dataset", help="Dataset folder (default: AVSynth)."),
    n: int | None = typer.Option(
        None, "--n", "--num-samples", min=1, help="First N samples (in-memory AVSynth: 48)."
    ),
    split: str = typer.Option("test", "--split", help="Split."),
    conditions: list[str] = typer.Option(["clean"], "--conditions", help="Conditions, as for eval run."),
    seed: int = typer.Option(0, "--seed", help="AVSynth seed."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Samples per batch."),
    engine: str = typer.Option("ray", "--engine", help="ray (a Ray Data pipeline) or local."),
) -> None:
    """Compute every model's outputs into a run cache, so that `eval run --cache` calls no model."""
    from avikit.eval.ray_engine import extract_features

    count = n if n is not None or dataset is not None else 48
    totals = extract_features(
        None if dataset is None else str(dataset), split_list(tasks), split_list(models), cache, split=split,
        num_samples=count, seed=seed, conditions=split_list(conditions), engine=engine, batch_size=batch_size,
    )  # fmt: skip
    typer.echo(f"{totals['computed']} outputs computed, {totals['cached']} already cached -> {cache}")
