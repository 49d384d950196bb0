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
    results: list[Path] = typer.Argument(
        ..., help="domain_study.json file(s) of `avikit tokenizers study --domains`; several are merged."
    ),
    out: Path = typer.Option(
        Path("runs/domain_study_report"), "--out", help="Folder for the markdown, report.html and SVGs."
    ),
    results_md: Path | None = typer.Option(
        None,
        "--results-md",
        help="Also write the study's section into this results page, between its BEGIN/END domain "
        "tokenizer study markers (e.g. benchmarks/RESULTS.md); its plot links point into --out.",
    ),
) -> None:
    """Re-render the domain study's report from its results file, or merge the shards of a run by kind."""
    import json
    import os

    from avikit.errors import InputFileError
    from avikit.studies.domain_tokenizer_docs import update_results_page
    from avikit.studies.domain_tokenizer_report import write_domain_report
    from avikit.studies.domain_tokenizer_study import merge_domain_results

    for path in results:
        if not path.is_file():
            raise InputFileError(f"{path} not found; run `avikit tokenizers study --domains ...` first")
    shards = [json.loads(path.read_text(encoding="utf-8")) for path in results]
    out.mkdir(parents=True, exist_ok=True)
    merged = len(shards) > 1
    result = merge_domain_results(shards) if merged else shards[0]
    write_domain_report(out, result, write_json=merged)
    if results_md is not None:
        plots = os.path.relpath(out.resolve(), results_md.resolve().parent)
        update_results_page(results_md, result, Path(plots).as_posix())
    typer.echo((out / "domain_study.md").read_text(encoding="utf-8"))
