"""``avikit train RECIPE``: the one training entry point (heads, probes, fine-tuning, encoder, generators)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["train_cmd"]


def train_cmd(
    recipe: str = typer.Argument(None, help="Recipe name; `avikit train --list` shows them."),
    out: Path = typer.Option(None, "--out", help="Output folder (default: runs/train/RECIPE)."),
    overrides: list[str] = typer.Option(
        [], "--set", help="Recipe field override path=value (JSON value), repeatable, e.g. fit.steps=100."
    ),
    show: bool = typer.Option(False, "--show", help="Print the recipe's configuration and exit."),
    list_recipes: bool = typer.Option(False, "--list", help="List the recipes and exit."),
) -> None:
    """Train with a typed, seeded recipe; writes weights, loss curves, the recipe and its metrics."""
    from avikit.nn import config_to_dict
    from avikit.train.recipes import RECIPES, build_recipe, train_recipe

    if list_recipes or recipe is None:
        for name, (recipe_type, _) in RECIPES.items():
            typer.echo(f"{name:<28} {(recipe_type.__doc__ or '').strip().splitlines()[0]}")
        if recipe is None and not list_recipes:
            raise typer.BadParameter("give a recipe name (listed above)", param_hint="RECIPE")
        return
    config = build_recipe(recipe, overrides)
    if show:
        typer.echo(json.dumps(config_to_dict(config), indent=1))
        return
    folder = out or Path("runs") / "train" / recipe
    result = train_recipe(recipe, folder, config)
    seconds = result.metrics.get("seconds", "?")
    typer.echo(f"{recipe}: {seconds} s; weights, loss curves and metrics in {result.out_dir}")
