"""``avikit data``: make AVSynth sets, export them to official layouts, validate them."""

from __future__ import annotations

from pathlib import Path

import typer

from avikit.cli.common import split_list
from avikit.cli.datasets import validate_cmd

__all__ = ["data_app", "export", "synth", "validate"]

data_app = typer.Typer(help="Make, export, prepare and validate datasets.", no_args_is_help=True)


@data_app.command("synth")
def synth(
    out: Path = typer.Option(..., "--out", help="Output folder (new or empty; an identical set resumes)."),
    split: list[str] = typer.Option(
        ["test"], "--split", help="Split(s): train, val, test, open_test, long (comma-separated or repeated)."
    ),
    n: int = typer.Option(200, "--n", min=1, help="Clips per split."),
    seed: int = typer.Option(0, "--seed", help="Dataset seed."),
    condition: list[str] = typer.Option([], "--condition", help="Corruption NAME=VALUE, repeatable."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Empty a non-empty OUT first."),
) -> None:
    """Write AVSynth clips (mp4), masks, manifest.jsonl and card.json to OUT."""
    from rich.progress import Progress

    from avikit.data.synth import SynthConfig, parse_conditions, prepare_avsynth

    splits = split_list(split)
    conditions = parse_conditions(condition)
    with Progress() as bar:
        rows = {s: bar.add_task(f"avsynth {s}", total=n) for s in splits}
        prepare_avsynth(
            out, dict.fromkeys(splits, n), seed, SynthConfig(), conditions,
            lambda s, k: bar.update(rows[s], completed=k), overwrite=overwrite,
        )  # fmt: skip
    typer.echo(f"wrote {out / 'manifest.jsonl'}")


@data_app.command("export")
def export(
    src: Path = typer.Argument(..., help="An AVSynth folder written by `avikit data synth`."),
    out: Path = typer.Argument(..., help="Output folder for the official layout."),
    format: str = typer.Option(
        ..., "--format", help="ave, llp, unav100, avsbench-s4, avsbench-ms3, avsbench-avss or music-avqa."
    ),
) -> None:
    """Write an AVSynth set in a benchmark's official on-disk layout."""
    from rich.progress import Progress

    from avikit.data.export import EXPORTERS, export_dataset
    from avikit.errors import UnknownNameError

    if format not in EXPORTERS:  # before the progress bar starts
        raise UnknownNameError(f"unknown --format {format!r}; valid formats are {', '.join(EXPORTERS)}")
    with Progress() as bar:
        row = bar.add_task(f"export {format}", total=None)
        export_dataset(src, out, format, lambda k, total: bar.update(row, completed=k, total=total))
    typer.echo(f"wrote {format} layout to {out}")


@data_app.command("validate")
def validate(
    root: Path = typer.Argument(
        ..., help="A folder written by `avikit data synth` (AVSynth) or by `avikit data prepare`."
    ),
    no_decode: bool = typer.Option(False, "--no-decode", help="Skip decoding clips and checking masks."),
) -> None:
    """Check a dataset folder: an AVSynth set (files decode, labels, masks, QA) or a prepared dataset."""
    from rich.progress import Progress

    from avikit.data.validate import validate_dataset

    if (root / "prepared.json").is_file():
        validate_cmd(root)
        return
    with Progress() as bar:
        row = bar.add_task("validate", total=None)
        report = validate_dataset(root, decode=not no_decode, progress=lambda k: bar.update(row, completed=k))
    for problem in report.problems:
        typer.echo(problem, err=True)
    typer.echo(
        f"checked {report.checked} samples: {'ok' if report.ok else f'{len(report.problems)} problem(s)'}"
    )
    if not report.ok:
        raise typer.Exit(code=1)
