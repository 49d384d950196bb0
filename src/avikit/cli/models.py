"""``avikit models list`` and ``avikit bench``: the registered models, and every model on every task."""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["bench_cmd", "list_cmd", "models_app"]

models_app = typer.Typer(help="The registered models.", no_args_is_help=True)


@models_app.command("list")
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    names_only: bool = typer.Option(False, "--names", help="Only the names (loads no model)."),
) -> None:
    """Every registered model: name, id, tasks, parameters, weights hash and where it is defined."""
    from avikit.models.registry import describe_model, list_models

    if names_only:
        typer.echo("\n".join(list_models()))
        return
    rows = [describe_model(name).__dict__ for name in list_models()]
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        typer.echo(
            f"{row['name']:<31} {', '.join(row['tasks']):<42} {row['parameters']:>9,} params  "
            f"{row['weights_hash']:<16}  [{row['defined_in']}]"
        )


def bench_cmd(
    out: Path = typer.Option(Path("runs/bench"), "--out", help="Run folder (a rerun resumes it)."),
    num_samples: int = typer.Option(48, "--num-samples", min=1, help="AVSynth clips per split."),
    conditions: list[str] = typer.Option(
        ["noise_snr=10", "noise_snr=0", "occlusion=0.25", "occlusion=0.5"], "--condition", help="Corruptions."
    ),
    seed: int = typer.Option(0, "--seed", help="AVSynth and bootstrap seed."),
    watermark: bool = typer.Option(
        True, "--watermark/--no-watermark", help="Watermark the generators' audio (the default)."
    ),
    energy_country: str | None = typer.Option(
        None, "--energy-country", help="3-letter ISO code of where the bench runs, for its CO2 (e.g. FRA)."
    ),
    cache: Path | None = typer.Option(None, "--cache", help="Cache of inputs and outputs shared by runs."),
) -> None:
    """Run every reference model on every perception task; print the leaderboard, write report.html."""
    from avikit.eval.bench import run_bench

    run_bench(
        out,
        num_samples=num_samples,
        conditions=conditions,
        seed=seed,
        watermark=watermark,
        energy_country=energy_country,
        cache=cache,
    )
