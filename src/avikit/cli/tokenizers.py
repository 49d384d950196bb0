"""``avikit tokenizers study``: the tokenizer trade-off study on AVSynth."""

from __future__ import annotations

from pathlib import Path

import typer


def study_cmd(
    out: Path = typer.Option(
        Path("runs/tokenizer_study"), "--out", help="Folder for the JSON, markdown and SVG."
    ),
    overrides: list[str] = typer.Option(
        [], "--set", help="Study field override path=value, repeatable, e.g. steps=200 or num_train=64."
    ),
) -> None:
    """Train tiny codecs (acoustic, semantic, mel) and a frame tokenizer on CPU; write the table and plot."""
    from avikit.nn.config import apply_overrides
    from avikit.studies.tokenizer_study import StudyConfig, run_tokenizer_study

    run_tokenizer_study(apply_overrides(StudyConfig(), overrides), out)
    typer.echo((out / "tokenizer_study.md").read_text(encoding="utf-8"))
