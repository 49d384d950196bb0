"""``avikit train RECIPE`` and ``avikit bench``: thin commands over the recipes and the bench."""

from __future__ import annotations

from pathlib import Path

import typer

from avikit.eval.bench import STANDARD_CONDITIONS, run_bench
from avikit.train.recipes import RECIPES, train_recipe

__all__ = ["bench_cmd", "train_cmd"]


def train_cmd(
    recipe: str = typer.Argument(..., help=f"One of: {', '.join(RECIPES)}."),
    out: Path = typer.Option(None, "--out", help="Output folder (default: runs/train/RECIPE)."),
) -> None:
    """Train a reference model with its recipe (seeded; writes weights, loss curves and metrics)."""
    folder = out or Path("runs") / "train" / recipe
    result = train_recipe(recipe, folder)
    typer.echo(f"{recipe}: {result.metrics['seconds']} s, weights and loss curves in {result.out_dir}")


def bench_cmd(
    out: Path = typer.Option(Path("runs/bench"), "--out", help="Run folder (a rerun resumes it)."),
    num_samples: int = typer.Option(48, "--num-samples", help="AVSynth clips per split."),
    conditions: list[str] = typer.Option(
        list(STANDARD_CONDITIONS), "--condition", help="Corruptions (repeatable)."
    ),
    seed: int = typer.Option(0, "--seed", help="AVSynth and bootstrap seed."),
    watermark: bool = typer.Option(
        True, "--watermark/--no-watermark", help="Watermark the generators' audio (the default)."
    ),
    energy_country: str | None = typer.Option(
        None, "--energy-country", help="3-letter ISO code of where the bench runs, for its CO2 (e.g. FRA)."
    ),
) -> None:
    """Run every reference model on every perception task; print the leaderboard, write report.html."""
    run_bench(
        out,
        num_samples=num_samples,
        conditions=conditions,
        seed=seed,
        watermark=watermark,
        energy_country=energy_country,
    )
