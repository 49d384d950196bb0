"""``avikit data list|prepare|card|validate``: the official dataset recipes, their cards and checks.

Each function is a typer command of a few lines over :mod:`avikit.data.datasets`,
:mod:`avikit.data.croissant` and :mod:`avikit.data.prepared`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

__all__ = ["card_cmd", "list_datasets_cmd", "prepare_cmd", "validate_cmd"]


def _options(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"options are KEY=VALUE, got {pair!r}", param_hint="--option")
        out[key.replace("-", "_")] = {"true": True, "false": False}.get(value.lower(), value)
    return out


def _entry(name: str) -> Any:
    from avikit.data.datasets import get_dataset

    return get_dataset(name)


def list_datasets_cmd() -> None:
    """List the dataset recipes: name, licence, title and where each is defined."""
    from avikit.data.datasets import list_datasets

    for row in list_datasets():
        typer.echo(f"{row['name']:<16} {row['licence']:<12} {row['title']}  [{row['defined_in']}]")


def prepare_cmd(
    name: str = typer.Argument(..., help="Dataset name (see `avikit data list`)."),
    root: Path = typer.Option(..., "--root", help="Folder holding the dataset in its official layout."),
    out: Path = typer.Option(..., "--out", help="Output folder for manifests, prepared.json and the card."),
    option: list[str] = typer.Option(
        [], "--option", help="Recipe option KEY=VALUE, e.g. annotations=pre2024."
    ),
    engine: str = typer.Option("local", "--engine", help="local, or ray: AVSynth clips made by Ray Data."),
) -> None:
    """Read an official dataset layout and write avikit manifests; report found and missing media."""
    from avikit.data.parallel import get_mapper
    from avikit.data.prepared import validate_prepared

    options = _options(option)
    if engine != "local":  # only generation has per-clip work; official recipes read annotation files
        if name != "avsynth":
            raise typer.BadParameter(f"--engine {engine} applies to avsynth; {name} reads annotation files "
                                     "only (use `avikit data pack --engine ray` for its media)")  # fmt: skip
        options["mapper"] = get_mapper(engine)
    manifests = _entry(name).prepare(root, out, **options)
    if not (out / "prepared.json").is_file():  # AVSynth writes a generated set (card.json), all media present
        typer.echo("\n".join(f"{split}: -> {path}" for split, path in manifests.items()))
        return
    report = validate_prepared(out)
    for split, path in manifests.items():
        found, total = report.found[split], report.samples[split]
        typer.echo(f"{split}: {total} samples, media found {found}, missing {total - found}  -> {path}")


def card_cmd(name: str = typer.Argument(..., help="Dataset name (see `avikit data list`).")) -> None:
    """Print the Croissant (JSON-LD) card of a dataset: licence, source, citation, files, restrictions."""
    typer.echo(json.dumps(_entry(name).card(), indent=2))


def validate_cmd(
    folder: Path = typer.Argument(..., help="A folder written by `avikit data prepare`."),
) -> None:
    """Check a prepared folder: schema, manifests, media presence and recorded counts."""
    from avikit.data.prepared import validate_prepared

    report = validate_prepared(folder)
    for problem in report.problems:
        typer.echo(problem, err=True)
    for split, total in report.samples.items():
        typer.echo(f"{split}: {total} samples, media found {report.found[split]}")
    typer.echo("ok" if report.ok else f"{len(report.problems)} problem(s)")
    if not report.ok:
        raise typer.Exit(code=1)
