"""Small pieces every command shares: list arguments, the console, one live progress line per cell."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

__all__ = ["cell_progress", "split_list"]


def split_list(values: Sequence[str]) -> tuple[str, ...]:
    """Names given as repeated options, or separated by commas and/or spaces, in order, without repeats.

    Example:
        >>> split_list(["avel,sync", "avqa  avel"])
        ('avel', 'sync', 'avqa')
    """
    names = [part.strip() for value in values for part in value.replace(",", " ").split()]
    return tuple(dict.fromkeys(name for name in names if name))


@contextmanager
def cell_progress(title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(cell, done, total)`` callback drawing one live line per cell (rich)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        rows: dict[str, int] = {}

        def progress(cell: str, done: int, total: int) -> None:
            if cell not in rows:
                rows[cell] = bar.add_task(cell, total=total)
            bar.update(rows[cell], completed=done, total=total)  # type: ignore[arg-type]

        yield progress
