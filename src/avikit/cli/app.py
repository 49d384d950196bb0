"""The root ``avikit`` command and its sub-command groups."""

from __future__ import annotations

import logging

import typer
from rich.console import Console
from rich.logging import RichHandler

from avikit import __version__
from avikit.cli import data, datasets, demo, generate, generate_av, media, models, tokenizers
from avikit.cli.agent import agent_app
from avikit.cli.embodied import embodied_app
from avikit.cli.evaluate import eval_app, score
from avikit.cli.stream import stream_app
from avikit.cli.tasks import tasks_app
from avikit.errors import AvikitError

app = typer.Typer(
    name="avikit",
    help="avikit: one toolkit for audio-visual intelligence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("info")(media.info)
app.command("demo")(demo.demo)
app.command("bench")(models.bench_cmd)
app.command("train")(models.train_cmd)
data.data_app.command("list")(datasets.list_datasets_cmd)
data.data_app.command("prepare")(datasets.prepare_cmd)
data.data_app.command("card")(datasets.card_cmd)
app.add_typer(data.data_app, name="data")
app.add_typer(tasks_app, name="tasks")
app.add_typer(eval_app, name="eval")
app.command("score")(score)
tokenizers_app = typer.Typer(help="Audio and visual tokenizers.", no_args_is_help=True)
tokenizers_app.command("study")(tokenizers.study_cmd)
app.add_typer(tokenizers_app, name="tokenizers")
generate_app = typer.Typer(
    help="Generators: video-to-audio (three paradigms), audio-to-video, joint audio+video.",
    no_args_is_help=True,
)
generate_app.command("v2a")(generate.v2a_cmd)
generate_app.command("a2v")(generate_av.a2v_cmd)
generate_app.command("joint")(generate_av.joint_cmd)
app.add_typer(generate_app, name="generate")
app.add_typer(agent_app, name="agent")
app.add_typer(stream_app, name="stream")
app.add_typer(embodied_app, name="embodied")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"avikit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show debug log lines."),
) -> None:
    """avikit: one toolkit for audio-visual intelligence."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(show_time=False, show_path=False)],
    )


def main() -> None:
    """Run the ``avikit`` command line; an avikit error prints its message (no traceback) and exits 1."""
    try:
        app()
    except AvikitError as exc:
        Console(stderr=True).print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        raise SystemExit(1) from None
