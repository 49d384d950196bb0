"""Write the result tables of the README and the docs from the committed results files, or check them.

Every result table in ``README.md`` and ``docs/*.md`` sits between two markers that name the table and
the results file it is made from::

    <!-- table bench-leaderboard benchmarks/results/bench.json -->
    | ... |
    <!-- end table -->

The tables are made by :mod:`avikit.eval.tables`; nothing between the markers is written by hand.

Usage::

    python tools/doc_tables.py                      # rewrite every table from its results file
    python tools/doc_tables.py --check              # exit 1, naming each table that differs from its file
    python tools/doc_tables.py --from-bench runs/bench   # copy the bench's summary.json into
                                                    # benchmarks/results/bench.json, then rewrite

``tests/test_doc_tables.py`` runs the check: a table edited by hand, or a results file changed without
regenerating the tables, fails the tests.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from avikit.eval.tables import (
    Table,
    cheat_table,
    comparison_table,
    generation_comparison_table,
    generation_table,
    leaderboard_table,
    markdown_table,
    open_vocabulary_table,
    run_table,
    selection_table,
    watermark_attack_table,
)
from avikit.studies.selection import selection_summary_table

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "docs/*.md")
BENCH_RESULTS = "benchmarks/results/bench.json"
MARKER = re.compile(r"<!-- table (?P<name>\S+) (?P<file>\S+) -->\n(?P<body>.*?)<!-- end table -->", re.S)
_HEADLINE = ("mel_distance", "psnr", "fd_audio", "fd_video", "alignment", "desync")


def _section(key: str, make: Callable[[Any], Table]) -> Callable[[Mapping[str, Any], str], Table]:
    """A renderer of section ``key``; a results file without it gives a one-line table that says so."""

    def render_section(data: Mapping[str, Any], _: str) -> Table:
        if not data.get(key):
            note = f"no `{key}` section in this results file: run `avikit bench` and `{FILL_COMMAND}`"
            return ["not measured"], [[note]]
        return make(data[key])

    return render_section


FILL_COMMAND = "python tools/doc_tables.py --from-bench runs/bench"
RENDERERS: dict[str, Callable[[Mapping[str, Any], str], Table]] = {
    "bench-leaderboard": _section("leaderboard", leaderboard_table),
    "bench-open-vocabulary": _section("open_vocabulary", open_vocabulary_table),
    "bench-generation": _section("generation", generation_table),
    "bench-generation-vs-baseline": _section(
        "generation", lambda section: generation_comparison_table(section, ("vs_baseline",), _HEADLINE)
    ),
    "bench-generation-paradigms": _section(
        "generation", lambda section: generation_comparison_table(section, ("paradigms",), _HEADLINE)
    ),
    "selection": lambda data, key: selection_table(data[key]),
    "selection-summary": lambda data, _: selection_summary_table(data),
    "run": lambda data, _: run_table(data),
    "cheats": lambda data, _: cheat_table(data),
    "watermark-attacks": lambda data, name: watermark_attack_table(data, name),
    "watermark-generation": _section("generation", generation_table),
    "watermark-cost": _section(
        "generation", lambda section: generation_comparison_table(section, ("paradigms",), _HEADLINE)
    ),
    "comparisons": lambda data, kinds: comparison_table(data, tuple(k for k in kinds.split(",") if k)),
}
"""Table kind -> ``(results, argument) -> (header, rows)``; a table name is ``KIND`` or ``KIND/ARGUMENT``."""


def render(name: str, file: str, root: Path = ROOT) -> str:
    """The Markdown of table ``name`` made from results file ``file`` (relative to ``root``).

    Raises:
        KeyError: for an unknown table kind.
        FileNotFoundError: for a missing results file.
    """
    kind, _, argument = name.partition("/")
    if kind not in RENDERERS:
        raise KeyError(f"unknown table kind {kind!r} in {name!r}; known: {', '.join(RENDERERS)}")
    data = json.loads((root / file).read_text(encoding="utf-8"))
    return markdown_table(*RENDERERS[kind](data, argument))


def documents(root: Path = ROOT) -> list[Path]:
    """The Markdown files that may hold tables."""
    return sorted({path for pattern in DOCUMENTS for path in root.glob(pattern)})


def update(root: Path = ROOT, check: bool = False) -> list[str]:
    """Rewrite (or, with ``check``, only compare) every marked table; return the tables that differed."""
    stale = []
    for path in documents(root):
        text = path.read_text(encoding="utf-8")

        def replace(match: re.Match[str], where: Path = path) -> str:
            table = render(match["name"], match["file"], root) + "\n"
            if table != match["body"]:
                stale.append(f"{where.relative_to(root)}: table {match['name']} ({match['file']})")
            return f"<!-- table {match['name']} {match['file']} -->\n{table}<!-- end table -->"

        new = MARKER.sub(replace, text)
        if new != text and not check:
            path.write_text(new, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if a table differs")
    parser.add_argument("--from-bench", type=Path, help="an `avikit bench` run folder to take results from")
    args = parser.parse_args(argv)
    if args.from_bench is not None:
        shutil.copyfile(args.from_bench / "summary.json", ROOT / BENCH_RESULTS)
    stale = update(check=args.check)
    for line in stale:
        print(("differs from its results file: " if args.check else "rewrote ") + line)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
