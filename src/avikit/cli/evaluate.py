"""``avikit eval run|report`` and ``avikit score``: run evaluations, report them, score prediction files."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import Progress, TaskID

from avikit.eval.report import build_report
from avikit.eval.runner import RunConfig, run_evaluation, summarize_run
from avikit.eval.score import score_predictions

__all__ = ["eval_app", "report", "run", "score"]

eval_app = typer.Typer(
    help="Run evaluations (tasks x models x conditions) and report them.", no_args_is_help=True
)


def _split(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(" ") if v.strip())


@eval_app.command("run")
def run(
    out: Path = typer.Option(..., "--out", help="Run folder (an existing one is resumed)."),
    tasks: list[str] = typer.Option(..., "--tasks", help="Task names (repeat or space-separate)."),
    models: list[str] = typer.Option(["oracle", "chance"], "--models", help="Model names."),
    conditions: list[str] = typer.Option(["clean"], "--conditions", help="clean, controls, NAME=VALUE."),
    dataset: Path | None = typer.Option(
        None, "--dataset", help="Prepared dataset folder (default: AVSynth)."
    ),
    n: int | None = typer.Option(None, "--n", min=1, help="First N samples (required without --dataset)."),
    seed: int = typer.Option(0, "--seed", help="Seed of data, chance baseline and bootstrap."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Samples per predict call."),
    use: str | None = typer.Option(
        None, "--use", help="Declared use, e.g. commercial (checked against licences)."
    ),
    shard: str = typer.Option("0/1", "--shard", help="This process's shard K/N."),
) -> None:
    """Evaluate every model on every task under every condition; write per-sample records and results.json."""
    index, count = (int(v) for v in shard.split("/"))
    source = None if dataset is None else str(dataset)
    config = RunConfig(
        _split(tasks), _split(models), _split(conditions), source, num_samples=n, seed=seed,
        batch_size=batch_size, use=use, shard=(index, count),
    )  # fmt: skip
    with Progress() as bar:
        ids: dict[str, TaskID] = {}

        def progress(label: str, done: int, total: int) -> None:
            ids.setdefault(label, bar.add_task(label, total=total))
            bar.update(ids[label], completed=done)

        results = run_evaluation(config, out, progress=progress)
    for task, model, condition, metric, value in summarize_run(results):
        typer.echo(
            f"{task:<27} {model:<16} {condition:<16} {metric} = "
            + ("incomplete" if value is None else f"{value:.4f}")
        )
    typer.echo(f"wrote {out / 'results.json'}")


@eval_app.command("report")
def report(
    runs: list[Path] = typer.Argument(..., help="Run folders, side by side."),
    out: Path = typer.Option(..., "--out", help="Output folder for results.md and report.html."),
) -> None:
    """Write results.md and a self-contained report.html for one or more runs."""
    markdown, html = build_report(runs, out)
    typer.echo(f"wrote {markdown} and {html}")


def score(
    task: str = typer.Option(..., "--task", help="Task name, e.g. avel."),
    dataset: Path = typer.Option(..., "--dataset", help="Prepared dataset folder."),
    predictions: Path = typer.Option(..., "--predictions", help="JSONL prediction file."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Score a prediction file written by any program (see docs/tasks.md for each task's schema)."""
    result = score_predictions(task, dataset, predictions)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=1))
        return
    typer.echo(
        f"{result.task} v{result.task_version} (protocol {result.protocol_hash}), {result.count} samples"
    )
    for key, value in result.scores.items():
        ci = result.ci.get(key)
        typer.echo(f"  {key:<28} {value:.4f}" + (f"  [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""))
