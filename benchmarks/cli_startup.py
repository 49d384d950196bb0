"""Wall time of ``avikit --help`` and of each sub-command's ``--help`` (the goal: under 1 s each).

Every command imports the library inside its body, so ``--help`` loads typer only. The peer is the cost of
starting Python itself (``python -c pass``) in the same run: the part of the time that is not avikit's.

Usage: ``.venv/bin/python benchmarks/cli_startup.py [--repeats 5]``; prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

AVIKIT = Path(sys.executable).parent / "avikit"
COMMANDS = [
    ["--help"],
    ["eval", "run", "--help"],
    ["score", "--help"],
    ["data", "synth", "--help"],
    ["train", "--help"],
    ["generate", "--help"],
    ["models", "list", "--help"],
    ["bench", "--help"],
]


def _median_seconds(argv: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    python = _median_seconds([sys.executable, "-c", "pass"], args.repeats)
    print("| command | median wall time (s) | of which Python start-up (s) |")
    print("|---|---:|---:|")
    for command in COMMANDS:
        seconds = _median_seconds([str(AVIKIT), *command], args.repeats)
        print(f"| `avikit {' '.join(command)}` | {seconds:.3f} | {python:.3f} |")


if __name__ == "__main__":
    main()
