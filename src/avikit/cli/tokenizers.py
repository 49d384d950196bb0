"""``avikit tokenizers study``: the tokenizer trade-off study on AVSynth."""

from __future__ import annotations

from pathlib import Path

import typer

from avikit.models.tokenizer_study import StudyConfig, run_tokenizer_study


def study_cmd(
    out: Path = typer.Option(
        Path("runs/tokenizer_study"), "--out", help="Folder for the JSON, markdown and SVG."
    ),
    steps: int = typer.Option(500, help="Optimisation steps per audio codec."),
    visual_steps: int = typer.Option(200, help="Optimisation steps of the frame tokenizer."),
    num_train: int = typer.Option(24, help="AVSynth train clips."),
    num_test: int = typer.Option(12, help="AVSynth test clips."),
    seed: int = typer.Option(0, help="Seed of data order and initialisation."),
) -> None:
    """Train tiny codecs and a frame tokenizer on CPU and write the trade-off table and plot."""
    config = StudyConfig(
        num_train=num_train, num_test=num_test, steps=steps, visual_steps=visual_steps, seed=seed
    )
    run_tokenizer_study(config, out)
    typer.echo((out / "tokenizer_study.md").read_text(encoding="utf-8"))
