"""``avikit data``: make AVSynth sets, export them to official layouts, validate them."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress

from avikit.cli.datasets import validate_cmd
from avikit.data.export import EXPORTERS, export_dataset
from avikit.data.synth import SPLITS, SynthConfig, parse_conditions, prepare_avsynth
from avikit.data.validate import validate_dataset

__all__ = ["data_app", "export", "synth", "validate"]

_DEFAULT_SPLITS = ["test"]
_SPLIT_HELP = f"Split(s) to make: {', '.join(SPLITS)}."
_FORMAT_HELP = f"One of: {', '.join(EXPORTERS)}."

data_app = typer.Typer(help="Make, export and validate datasets (AVSynth).", no_args_is_help=True)


@data_app.command("synth")
def synth(
    out: Path = typer.Option(..., "--out", help="Output folder."),
    split: list[str] = typer.Option(_DEFAULT_SPLITS, "--split", help=_SPLIT_HELP),
    n: int = typer.Option(200, "--n", min=1, help="Clips per split."),
    seed: int = typer.Option(0, "--seed", help="Dataset seed."),
    condition: list[str] = typer.Option([], "--condition", help="Corruption NAME=VALUE, repeatable."),
) -> None:
    """Write AVSynth clips (mp4), masks, manifest.jsonl and card.json to OUT."""
    conditions = parse_conditions(condition)
    with Progress() as bar:
        tasks = {s: bar.add_task(f"avsynth {s}", total=n) for s in split}
        prepare_avsynth(
            out,
            dict.fromkeys(split, n),
            seed,
            SynthConfig(),
            conditions,
            lambda s, k: bar.update(tasks[s], completed=k),
        )
    typer.echo(f"wrote {out / 'manifest.jsonl'}")


@data_app.command("export")
def export(
    src: Path = typer.Argument(..., help="An AVSynth folder written by `avikit data synth`."),
    out: Path = typer.Argument(..., help="Output folder for the official layout."),
    format: str = typer.Option(..., "--format", help=_FORMAT_HELP),
) -> None:
    """Write an AVSynth set in a benchmark's official on-disk layout."""
    with Progress() as bar:
        task = bar.add_task(f"export {format}", total=None)
        export_dataset(src, out, format, lambda k, total: bar.update(task, completed=k, total=total))
    typer.echo(f"wrote {format} layout to {out}")


@data_app.command("validate")
def validate(
    root: Path = typer.Argument(
        ..., help="A folder written by `avikit data synth` (AVSynth) or by `avikit data prepare`."
    ),
    no_decode: bool = typer.Option(False, "--no-decode", help="Skip decoding clips and checking masks."),
) -> None:
    """Check a dataset folder: an AVSynth set (files decode, labels, masks, QA) or a prepared dataset."""
    if (root / "prepared.json").is_file():
        validate_cmd(root)
        return
    with Progress() as bar:
        task = bar.add_task("validate", total=None)
        report = validate_dataset(
            root, decode=not no_decode, progress=lambda k: bar.update(task, completed=k)
        )
    for problem in report.problems:
        typer.echo(problem, err=True)
    typer.echo(
        f"checked {report.checked} samples: {'ok' if report.ok else f'{len(report.problems)} problem(s)'}"
    )
    if not report.ok:
        raise typer.Exit(code=1)
