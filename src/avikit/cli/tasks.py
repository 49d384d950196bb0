"""``avikit tasks``: list the registered tasks and show one, with where each is defined."""

from __future__ import annotations

import json

import typer

__all__ = ["list_command", "show", "tasks_app"]

tasks_app = typer.Typer(help="The task taxonomy: list tasks, show one.", no_args_is_help=True)


@tasks_app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List every task: name, pillar, family, version, benchmark and where it is defined."""
    from avikit.tasks import describe_task, list_tasks

    rows = [describe_task(name) for name in list_tasks()]
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        typer.echo(f"{row['name']:<27} v{row['version']}  {row['pillar']:<11} {row['family']:<21} "
                   f"{row['benchmark']}  [{row['defined_in']}]")  # fmt: skip


@tasks_app.command("show")
def show(name: str = typer.Argument(..., help="Task name, e.g. avel.")) -> None:
    """Print one task's full spec as JSON (protocol, schemas, metrics, protocol hash, source)."""
    from avikit.tasks import describe_task

    typer.echo(json.dumps(describe_task(name), indent=1))
