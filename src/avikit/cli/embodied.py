"""``avikit embodied run|train``: the embodied benchmark and the learned policy's training."""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["embodied_app"]

embodied_app = typer.Typer(help="Embodied audio-visual navigation.", no_args_is_help=True)


@embodied_app.command("run")
def run(
    task: str = typer.Option(..., "--task", help="audiogoal, semantic or follow."),
    policies: list[str] = typer.Option(
        ..., "--policy", help="Policy(ies): heuristic, learned-<task>, oracle, ..."
    ),
    episodes: int = typer.Option(50, "--episodes", min=1, help="Test episodes."),
    seed: int = typer.Option(0, "--seed", help="World and bootstrap seed."),
    out: Path = typer.Option(Path("runs/embodied"), "--out", help="Output folder."),
    speed_steps: int = typer.Option(200, "--speed-steps", min=1, help="Steps of 64 rooms timed for steps/s."),
) -> None:
    """Run policies (and the random baseline) under each modality control; print the leaderboard."""
    from avikit.envs import NAV_METRICS
    from avikit.eval.embodied import run_embodied
    from avikit.eval.interaction_table import format_table

    names = [*policies, *(["random"] if "random" not in policies else [])]
    result = run_embodied(task, names, out / task, episodes=episodes, seed=seed, speed_steps=speed_steps)
    typer.echo(format_table(result["rows"], NAV_METRICS, label="policy"))
    typer.echo(f"simulator: {result['simulator_steps_per_second']} steps/s")


@embodied_app.command("train")
def train(
    task: str = typer.Option(..., "--task", help="audiogoal, semantic or follow."),
    out: Path = typer.Option(..., "--out", help="Weights folder."),
) -> None:
    """Train the learned policy of a task (DAgger on the shortest-path expert)."""
    from avikit.train.nav_policy import train_nav_policy

    summary = train_nav_policy(task, out)
    typer.echo(json.dumps(summary["best_round"], indent=1))
