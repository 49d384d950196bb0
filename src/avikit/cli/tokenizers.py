"""``avikit tokenizers study``: the tokenizer trade-off study on AVSynth."""

from __future__ import annotations

from pathlib import Path

import typer

from avikit.studies.tokenizer_study import StudyConfig, run_tokenizer_study

_DEFAULTS = StudyConfig()


def study_cmd(
    out: Path = typer.Option(
        Path("runs/tokenizer_study"), "--out", help="Folder for the JSON, markdown and SVG."
    ),
    steps: int = typer.Option(_DEFAULTS.steps, help="Optimisation steps per audio codec."),
    visual_steps: int = typer.Option(
        _DEFAULTS.visual_steps, help="Optimisation steps of the frame tokenizer."
    ),
    num_train: int = typer.Option(
        _DEFAULTS.num_train, help="AVSynth train clips (codecs and retrieval probe)."
    ),
    num_test: int = typer.Option(_DEFAULTS.num_test, help="AVSynth test clips (the retrieval gallery)."),
    num_reconstruct: int = typer.Option(
        _DEFAULTS.num_reconstruct, help="Test clips decoded and scored for reconstruction."
    ),
    seed: int = typer.Option(_DEFAULTS.seed, help="Seed of data order and initialisation."),
) -> None:
    """Train tiny codecs (acoustic, semantic, mel) and a frame tokenizer on CPU; write the table and plot."""
    config = StudyConfig(
        num_train=num_train,
        num_test=num_test,
        num_reconstruct=num_reconstruct,
        steps=steps,
        visual_steps=visual_steps,
        seed=seed,
    )
    run_tokenizer_study(config, out)
    typer.echo((out / "tokenizer_study.md").read_text(encoding="utf-8"))
