"""``avikit tokenizers study|report``: tokenizer trade-offs on AVSynth, or on speech, music and effects."""

from __future__ import annotations

from pathlib import Path

import typer


def study_cmd(
    out: Path = typer.Option(
        Path("runs/tokenizer_study"), "--out", help="Folder for the JSON, markdown and SVG."
    ),
    domains: str = typer.Option(
        "",
        "--domains",
        help="Run the domain study on these domains (e.g. speech,music,effects): the audio-domains corpus, "
        "tokenizers trained on the mixture and per domain, judged by pretrained models.",
    ),
    overrides: list[str] = typer.Option(
        [], "--set", help="Study field override path=value, repeatable, e.g. steps=200 or num_train=64."
    ),
) -> None:
    """Train tiny tokenizers on CPU and write the table and plots (AVSynth, or the domains of --domains)."""
    from avikit.nn.config import apply_overrides

    if domains:
        from avikit.studies.domain_tokenizer_study import DomainStudyConfig, run_domain_tokenizer_study

        names = [name.strip() for name in domains.replace(" ", ",").split(",") if name.strip()]
        config = apply_overrides(DomainStudyConfig(), [f"domains={names!r}".replace("'", '"'), *overrides])
        run_domain_tokenizer_study(config, out)
        typer.echo((out / "domain_study.md").read_text(encoding="utf-8"))
        return
    from avikit.studies.tokenizer_study import StudyConfig, run_tokenizer_study

    run_tokenizer_study(apply_overrides(StudyConfig(), overrides), out)
    typer.echo((out / "tokenizer_study.md").read_text(encoding="utf-8"))


def report_cmd(
    results: Path = typer.Argument(
        ..., help="A domain_study.json written by `avikit tokenizers study --domains`."
    ),
    out: Path = typer.Option(
        Path("runs/domain_study_report"), "--out", help="Folder for the markdown and SVGs."
    ),
) -> None:
    """Re-render the domain study's markdown and rate-distortion SVGs from its results file."""
    from avikit.errors import InputFileError
    from avikit.studies.domain_tokenizer_report import render_domain_report

    if not results.is_file():
        raise InputFileError(f"{results} not found; run `avikit tokenizers study --domains ...` first")
    render_domain_report(results, out)
    typer.echo((out / "domain_study.md").read_text(encoding="utf-8"))
