"""``avikit train RECIPE`` and ``avikit bench``: thin commands over the recipes and the bench."""

from __future__ import annotations

from pathlib import Path

import typer

from avikit.errors import UsageError
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
    num_samples: int | None = typer.Option(
        None, "--num-samples", help="AVSynth clips per split (default: 48; with --suite llm: 12)."
    ),
    conditions: list[str] = typer.Option(
        list(STANDARD_CONDITIONS), "--condition", help="Corruptions (repeatable)."
    ),
    seed: int = typer.Option(0, "--seed", help="AVSynth and bootstrap seed."),
    suite: str = typer.Option(
        "perception", "--suite", help="perception (reference models, generators) or llm (the AV-LLMs)."
    ),
) -> None:
    """Run every reference model on every perception task (``--suite llm``: the AV-LLM comparison)."""
    if suite == "llm":
        from avikit.eval.llm_bench import run_llm_bench

        run_llm_bench(out, num_samples=num_samples or 12, seed=seed)
        return
    if suite != "perception":
        raise UsageError(f"--suite {suite!r}: choose perception or llm")
    run_bench(out, num_samples=num_samples or 48, conditions=conditions, seed=seed)
