"""``avikit tasks``: list the registered tasks and show one, with where each is defined.

The list holds the perception and generation tasks of :mod:`avikit.tasks.registry` and the interaction
tasks: agent tasks (:mod:`avikit.tasks.agent`), streaming tasks (:mod:`avikit.tasks.streaming`) and the
embodied tasks of :mod:`avikit.envs`.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import typer

__all__ = ["list_command", "show", "tasks_app"]

tasks_app = typer.Typer(help="The task taxonomy: list tasks, show one.", no_args_is_help=True)


def _interaction() -> dict[str, Any]:
    from avikit.envs.tasks import NAV_TASKS
    from avikit.tasks.agent import AGENT_TASKS
    from avikit.tasks.streaming import STREAM_TASKS

    return {**AGENT_TASKS, **STREAM_TASKS, **NAV_TASKS}


def _describe(name: str) -> dict[str, Any]:
    from avikit.tasks import TASKS, describe_task

    if name in TASKS:
        return describe_task(name)
    interaction = _interaction()
    if name not in interaction:
        from avikit.errors import UnknownNameError

        known = ", ".join([*TASKS, *interaction])
        raise UnknownNameError(f"unknown task {name!r}; known tasks are: {known}")
    task = interaction[name]
    kind = type(task)
    line = inspect.getsourcelines(kind)[1]
    return {
        **task.spec.to_dict(),
        "defined_in": f"{kind.__module__}:{kind.__qualname__}",
        "source": f"{Path(inspect.getsourcefile(kind) or '?').as_posix()}:{line}",
    }


@tasks_app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List every task: name, pillar, family, version, benchmark and where it is defined."""
    from avikit.tasks import list_tasks

    rows = [_describe(name) for name in [*list_tasks(), *_interaction()]]
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        typer.echo(f"{row['name']:<27} v{row['version']}  {row['pillar']:<11} {row['family']:<21} "
                   f"{row['benchmark']}  [{row['defined_in']}]")  # fmt: skip


@tasks_app.command("show")
def show(name: str = typer.Argument(..., help="Task name, e.g. avel.")) -> None:
    """Print one task's full spec as JSON (protocol, schemas, metrics, protocol hash, source)."""
    typer.echo(json.dumps(_describe(name), indent=1))
