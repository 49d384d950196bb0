"""The root ``avikit`` command and its sub-command groups.

Commands import the library inside their bodies, so ``avikit --help`` and every ``--help`` load typer only.
Errors: an argument error (:class:`~avikit.errors.UsageError`, a missing input file) prints one line and
exits 2; bad data (any other :class:`~avikit.errors.AvikitError`) exits 1; anything else is an internal
error (exit 1). A traceback is printed only with ``--debug``.
"""

from __future__ import annotations

import logging
import sys

import typer

from avikit import __version__
from avikit.cli import data, datasets, demo, generate, media, models, tokenizers, train, watermark
from avikit.cli.agent import agent_app
from avikit.cli.embodied import embodied_app
from avikit.cli.evaluate import eval_app, score
from avikit.cli.provenance import provenance_app
from avikit.cli.stream import stream_app
from avikit.cli.tasks import tasks_app

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
app.command("train")(train.train_cmd)
app.command("generate")(generate.generate_cmd)
data.data_app.command("list")(datasets.list_datasets_cmd)
data.data_app.command("prepare")(datasets.prepare_cmd)
data.data_app.command("card")(datasets.card_cmd)
app.add_typer(data.data_app, name="data")
app.add_typer(tasks_app, name="tasks")
app.add_typer(models.models_app, name="models")
app.add_typer(eval_app, name="eval")
app.command("score")(score)
tokenizers_app = typer.Typer(help="Audio and visual tokenizers.", no_args_is_help=True)
tokenizers_app.command("study")(tokenizers.study_cmd)
app.add_typer(tokenizers_app, name="tokenizers")
app.command("detect")(watermark.detect_cmd)
app.add_typer(provenance_app, name="provenance")
app.add_typer(agent_app, name="agent")
app.add_typer(stream_app, name="stream")
app.add_typer(embodied_app, name="embodied")

_STATE = {"debug": False}


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
    debug: bool = typer.Option(False, "--debug", help="Print the traceback of an error."),
) -> None:
    """avikit: one toolkit for audio-visual intelligence."""
    from rich.logging import RichHandler

    _STATE["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(show_time=False, show_path=False)],
    )


def exit_code(error: BaseException) -> int:
    """2 for an argument error (a usage error or an input file that does not exist), else 1."""
    from avikit.errors import UsageError

    return 2 if isinstance(error, (UsageError, FileNotFoundError, IsADirectoryError)) else 1


def main(argv: list[str] | None = None) -> None:
    """Run the ``avikit`` command line; errors print one line (a traceback only with ``--debug``)."""
    from avikit.errors import AvikitError

    _STATE["debug"] = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except SystemExit:
        raise
    except Exception as error:
        if _STATE["debug"]:
            raise
        _report(error, isinstance(error, AvikitError) or _is_user_error(error))
        raise SystemExit(exit_code(error) if isinstance(error, AvikitError | OSError) else 1) from None


def _is_click_error(error: BaseException) -> bool:
    """A command-line parsing error (typer's click: a missing option, a bad value, an unknown command)."""
    return callable(getattr(error, "show", None)) and isinstance(getattr(error, "exit_code", None), int)


def _is_user_error(error: BaseException) -> bool:
    os_errors = (FileNotFoundError, PermissionError, IsADirectoryError)
    return _is_click_error(error) or isinstance(error, os_errors)


def _report(error: BaseException, expected: bool) -> None:
    if type(error).__name__ == "Abort":
        typer.echo("aborted", err=True)
        raise SystemExit(1) from None
    if _is_click_error(error):
        error.show()  # type: ignore[attr-defined]
        raise SystemExit(2) from None
    message = str(error) or type(error).__name__
    if isinstance(error, KeyError) and error.args:
        message = str(error.args[0])
    if expected:
        typer.echo(f"error: {message}", err=True)
    else:
        typer.echo(
            f"internal error: {type(error).__name__}: {message} (rerun with --debug for the traceback)",
            err=True,
        )
