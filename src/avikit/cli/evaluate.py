"""``avikit eval run|report`` and ``avikit score``: run evaluations, report them, score prediction files."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from avikit.cli.common import cell_progress, split_list

__all__ = ["eval_app", "report", "run", "score"]

eval_app = typer.Typer(
    help="Run evaluations (tasks x models x conditions) and report them.", no_args_is_help=True
)


def _shard(text: str) -> tuple[int, int]:
    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or not 0 <= int(index) < int(count):
        raise typer.BadParameter(f"a shard is K/N with 0 <= K < N, got {text!r}", param_hint="--shard")
    return int(index), int(count)


@eval_app.command("run")
def run(
    out: Path = typer.Option(..., "--out", help="Run folder (an existing one is resumed)."),
    tasks: list[str] = typer.Option(
        ..., "--tasks", help="Task names (comma- or space-separated, repeatable)."
    ),
    models: list[str] = typer.Option(
        ["oracle", "chance"],
        "--models",
        help="Registered names (`avikit models list`) or package.module:factory; worker:NAME runs NAME in "
        "its own process.",
    ),
    conditions: list[str] = typer.Option(
        ["clean"],
        "--conditions",
        help="clean, audio_muted, video_blanked, audio_swapped, NAME=VALUE (join corruptions with +).",
    ),
    dataset: Path | None = typer.Option(
        None, "--dataset", help="Prepared dataset folder (default: AVSynth)."
    ),
    n: int | None = typer.Option(
        None,
        "--n",
        "--num-samples",
        min=1,
        help="First N samples (default: all of a dataset; 48 of in-memory AVSynth).",
    ),
    split: str = typer.Option("test", "--split", help="Split to score."),
    seed: int = typer.Option(0, "--seed", help="Seed of data, chance baseline and bootstrap."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Samples per predict call."),
    use: str | None = typer.Option(
        None, "--use", help="Declared use, e.g. commercial (checked against licences)."
    ),
    shard: str = typer.Option("0/1", "--shard", help="This process's shard K/N."),
    engine: str = typer.Option("local", "--engine", help="local, or ray (an actor pool; RAY_ADDRESS)."),
    cache: Path | None = typer.Option(None, "--cache", help="Cache of inputs and outputs shared by runs."),
    baselines: list[str] = typer.Option(
        [],
        "--baselines",
        help="Trivial baselines run clean only and compared with every model (e.g. chance,constant,prior).",
    ),
) -> None:
    """Evaluate every model on every task under every condition; write per-sample records and results.json.

    Under `torchrun --nproc-per-node N -m avikit eval run ...` the ranks share the samples; rank 0 writes.
    """
    from avikit.eval.distributed import is_main_process
    from avikit.eval.runner import RunConfig, run_evaluation, summarize_run

    if dataset is not None and not dataset.is_dir():
        raise typer.BadParameter(
            f"{dataset} is not a folder; give a prepared dataset folder", param_hint="--dataset"
        )
    condition_names = split_list(conditions)  # one condition joins corruptions with '+'
    config = RunConfig(
        split_list(tasks), split_list(models), condition_names, None if dataset is None else str(dataset),
        split=split, num_samples=n if n is not None or dataset is not None else 48, seed=seed,
        batch_size=batch_size, use=use, shard=_shard(shard), baselines=tuple(split_list(baselines)),
    )  # fmt: skip
    if not is_main_process():  # a torchrun rank besides 0: no progress, no table
        run_evaluation(config, out, engine=engine, cache=cache)
        return
    with cell_progress("eval") as progress:
        results = run_evaluation(config, out, progress=progress, engine=engine, cache=cache)
    errors = 0
    for cell, (task, model, condition, metric, value) in zip(
        results["cells"], summarize_run(results), strict=True
    ):
        errors += cell.get("errors", 0)
        state = f"{float(value):.4f}" if value is not None else f"incomplete ({cell.get('errors', 0)} errors)"
        typer.echo(f"{task:<27} {model:<28} {condition:<16} {metric} = {state}")
    typer.echo(
        f"wrote {out / 'results.json'}"
        + (f"; {errors} sample errors (see the cells' records)" if errors else "")
    )


@eval_app.command("report")
def report(
    runs: list[Path] = typer.Argument(..., help="Run folders, side by side."),
    out: Path = typer.Option(..., "--out", help="Output folder for results.md, report.html and viewer.html."),
    viewer: bool = typer.Option(True, "--viewer/--no-viewer", help="Also write the per-sample viewer."),
) -> None:
    """Write results.md, a self-contained report.html and the per-sample viewer.html for one or more runs."""
    from avikit.eval.report import build_report

    markdown, html = build_report(runs, out, viewer=viewer)
    typer.echo(f"wrote {markdown} and {html}" + (f" and {Path(out) / 'viewer.html'}" if viewer else ""))


@eval_app.command("view")
def view(
    runs: list[Path] = typer.Argument(
        ..., help="Run folders: avikit eval run / bench, or agent, embodied or stream run outputs."
    ),
    out: Path = typer.Option(..., "--out", help="Output folder for viewer.html (and viewer_media/)."),
) -> None:
    """Write the per-sample viewer alone: samples, agent and embodied episodes, streams' emissions."""
    from avikit.eval.viewer import write_viewer

    typer.echo(f"wrote {write_viewer(runs, out)}")


def score(
    task: str = typer.Option(..., "--task", help="Task name, e.g. avel (`avikit tasks list`)."),
    dataset: Path = typer.Option(..., "--dataset", help="Prepared dataset folder (or an AVSynth folder)."),
    predictions: Path = typer.Option(..., "--predictions", help="JSONL prediction file (docs/tasks.md)."),
    split: str | None = typer.Option(None, "--split", help="Split to score (default: the task's, test)."),
    include_missing_media: bool = typer.Option(
        False,
        "--include-missing-media",
        help="Also score the items whose media was not found (scoring reads annotations only).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Score a prediction file written by any program (see docs/tasks.md for each task's schema)."""
    from avikit.eval.score import score_predictions

    missing = "keep" if include_missing_media else "leave_out"
    result = score_predictions(task, dataset, predictions, split=split, missing_media=missing)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=1))
        return
    typer.echo(
        f"{result.task} v{result.task_version} (protocol {result.protocol_hash}), {result.count} samples"
    )
    for key, value in result.scores.items():
        ci = result.ci.get(key)
        typer.echo(f"  {key:<28} {value:.4f}" + (f"  [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""))
