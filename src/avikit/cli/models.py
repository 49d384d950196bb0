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
    """Every registered model: name, id, tasks, parameters, weights hash and where it is defined.

    Streaming models (``avikit stream run``) and embodied policies (``avikit embodied run``) follow their
    own protocols; they are listed after the models of the evaluation runner.
    """
    from avikit.models.policies import POLICIES
    from avikit.models.registry import describe_model, list_models
    from avikit.models.streaming import STREAM_MODELS

    if names_only:
        typer.echo("\n".join(list_models()))
        typer.echo("\n".join(f"{name}  (streaming model)" for name in STREAM_MODELS))
        typer.echo("\n".join(f"{name}  (embodied policy)" for name in POLICIES))
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
    for name, target in STREAM_MODELS.items():
        typer.echo(f"{name:<31} {'streaming (avikit stream run)':<42} [{target}]")
    for name, (target, _) in POLICIES.items():
        typer.echo(f"{name:<31} {'embodied policy (avikit embodied run)':<42} [{target}]")


def bench_cmd(
    out: Path = typer.Option(Path("runs/bench"), "--out", help="Run folder (a rerun resumes it)."),
    num_samples: int | None = typer.Option(
        None, "--num-samples", help="AVSynth clips per split (default: 48; with --suite llm: 12)."
    ),
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
    suite: str = typer.Option(
        "perception", "--suite", help="perception (reference models, generators) or llm (the AV-LLMs)."
    ),
) -> None:
    """Run every reference model on every perception task (``--suite llm``: the AV-LLM comparison)."""
    from avikit.errors import UsageError

    if suite == "llm":
        from avikit.eval.llm_bench import run_llm_bench

        run_llm_bench(out, num_samples=num_samples or 12, seed=seed)
        return
    if suite != "perception":
        raise UsageError(f"--suite {suite!r}: choose perception or llm")
    from avikit.eval.bench import run_bench

    run_bench(
        out,
        num_samples=num_samples or 48,
        conditions=conditions,
        seed=seed,
        watermark=watermark,
        energy_country=energy_country,
    )
