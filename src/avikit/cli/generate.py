"""``avikit generate``: train, score and package the video-to-audio generators on AVSynth."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from avikit.models.generation.v2a_network import TOKENIZERS, V2AConfig
from avikit.models.generation.v2a_pipeline import PARADIGMS, load_vocoder
from avikit.train.generators import GenTrainConfig
from avikit.train.v2a import evaluate_v2a, export_v2a, train_v2a

__all__ = ["v2a_cmd"]


def v2a_cmd(
    out: Path = typer.Option(Path("runs/v2a"), "--out", help="Folder for loss logs, curves and scores."),
    steps: int = typer.Option(250, help="Optimisation steps per generator."),
    codec_steps: int = typer.Option(250, help="Optimisation steps of the codec of the token paradigms."),
    num_train: int = typer.Option(96, help="AVSynth train clips."),
    num_test: int = typer.Option(12, help="AVSynth test clips."),
    batch_size: int = typer.Option(4, help="Clips per optimisation step."),
    render_size: int = typer.Option(128, help="Pixels AVSynth draws frames at before resizing to 32."),
    paradigms: str = typer.Option(",".join(PARADIGMS), help="Comma-separated paradigms to train."),
    guidance: float = typer.Option(2.0, help="Classifier-free guidance scale (scores and --export)."),
    threads: int = typer.Option(1, help="Torch threads for training."),
    seed: int = typer.Option(0, help="Seed of data order, initialisation and sampling."),
    export: Path | None = typer.Option(None, help="Also save the models as packages in this folder."),
    retrieval_bank: int = typer.Option(0, help="With --export: also build a retrieval bank of N clips."),
    tokenizer: str = typer.Option("mel", help=f"Codes of the token paradigms: one of {TOKENIZERS}."),
    token_stride: int | None = typer.Option(None, help="Mel frames per code step (mel 2, waveform 1)."),
    num_codebooks: int | None = typer.Option(None, help="Codebooks per step (mel 4, waveform 2)."),
    token_noise: float = typer.Option(0.8, help="Share of AR input codes made random in training."),
    vocoder: str = typer.Option(
        "v2a-flow", help="Vocoder of mel tokens and flow: a vocoder folder, a package with one, or 'none'."
    ),
) -> None:
    """Train flow, autoregressive and MaskGIT video-to-audio models and print their scores."""
    config = GenTrainConfig(
        num_train=num_train,
        num_test=num_test,
        steps=steps,
        codec_steps=codec_steps,
        batch_size=batch_size,
        seed=seed,
        num_threads=threads,
        token_noise=token_noise,
    )
    mel = tokenizer == "mel"
    v2a = V2AConfig(
        tokenizer=tokenizer,
        token_stride=token_stride if token_stride is not None else 2 if mel else 1,
        num_codebooks=num_codebooks if num_codebooks is not None else 4 if mel else 2,
    )
    trained = train_v2a(
        config,
        v2a,
        out,
        tuple(paradigms.split(",")),
        render_size,
        None if vocoder == "none" else load_vocoder(vocoder),
    )
    if export is not None:
        export_v2a(trained, export, v2a, retrieval_bank=retrieval_bank, guidance=guidance)
    results = evaluate_v2a(trained, guidance=guidance, seed=seed)
    (out / "v2a_scores.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    typer.echo(json.dumps(results, indent=1))
