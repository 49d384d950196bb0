"""``avikit generate a2v|joint``: train and score the audio-to-video and joint generators on AVSynth."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from avikit.train.a2v import evaluate_a2v, save_a2v, train_a2v
from avikit.train.generators import GenTrainConfig
from avikit.train.joint import evaluate_joint, save_joint, train_joint

__all__ = ["a2v_cmd", "joint_cmd"]


def _write(out: Path, name: str, results: dict[str, dict[str, float]]) -> None:
    (out / f"{name}_scores.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    typer.echo(json.dumps(results, indent=1))


def a2v_cmd(
    out: Path = typer.Option(Path("runs/a2v"), "--out", help="Folder for loss logs, curves and scores."),
    steps: int = typer.Option(1000, help="Optimisation steps of the sync expert and of the generator."),
    num_train: int = typer.Option(192, help="AVSynth train clips."),
    num_test: int = typer.Option(32, help="AVSynth test clips."),
    seed: int = typer.Option(0, help="Seed of data order, initialisation and sampling."),
    batch_size: int = typer.Option(4, help="Clips per optimisation step."),
    weights: Path | None = typer.Option(None, help="Also save the generator as a weights folder here."),
) -> None:
    """Train the sync expert and the audio-to-video generator, then print their scores."""
    config = GenTrainConfig(
        num_train=num_train, num_test=num_test, steps=steps, batch_size=batch_size, seed=seed
    )
    trained = train_a2v(config, out_dir=out)
    if weights is not None:
        save_a2v(trained, weights)
    _write(out, "a2v", evaluate_a2v(trained))


def joint_cmd(
    out: Path = typer.Option(Path("runs/joint"), "--out", help="Folder for loss logs, curves and scores."),
    steps: int = typer.Option(1500, help="Optimisation steps of the joint generator."),
    num_train: int = typer.Option(192, help="AVSynth train clips."),
    num_test: int = typer.Option(32, help="AVSynth test clips (one caption each)."),
    guidance: float = typer.Option(4.0, help="Classifier-free guidance scale (the shipped weights: 4)."),
    sampling_steps: int = typer.Option(16, help="Euler steps of the sampling loop."),
    seed: int = typer.Option(0, help="Seed of data order, initialisation and sampling."),
    weights: Path | None = typer.Option(None, help="Also save the generator as a weights folder here."),
) -> None:
    """Train the joint audio+video generator on captions, then print its scores."""
    config = GenTrainConfig(num_train=num_train, num_test=num_test, steps=steps, batch_size=8, seed=seed)
    trained = train_joint(config, out_dir=out)
    if weights is not None:
        save_joint(trained, weights, sampling_steps, guidance)
    _write(out, "joint", evaluate_joint(trained, guidance, sampling_steps, seed))
