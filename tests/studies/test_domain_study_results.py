"""The recorded domain tokenizer study: benchmarks/RESULTS.md and its files equal what the results file renders.

The numbers in the results page are never typed by hand: ``avikit tokenizers report`` writes them from
``benchmarks/results/domain_study/domain_study.json``; these tests fail when a number, the set-up text, the
conclusion, a plot or ``report.html`` drifts from that file (or the renderer changes without a re-render).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avikit.studies.domain_tokenizer_docs import BEGIN, END, results_section
from avikit.studies.domain_tokenizer_report import (
    metrics_of,
    render_domain_html,
    render_domain_markdown,
    render_rate_svg,
)

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "benchmarks" / "results" / "domain_study"
PAGE = ROOT / "benchmarks" / "RESULTS.md"


@pytest.fixture(scope="module")
def result() -> dict:
    return json.loads((FOLDER / "domain_study.json").read_text(encoding="utf-8"))


def test_results_page_section_is_the_rendered_results_file(result) -> None:
    page = PAGE.read_text(encoding="utf-8")
    start, stop = page.index(BEGIN), page.index(END) + len(END) + 1
    assert page[start:stop] == results_section(result, "results/domain_study"), (
        "benchmarks/RESULTS.md differs from its results file: run `avikit tokenizers report "
        "benchmarks/results/domain_study/domain_study.json --out benchmarks/results/domain_study "
        "--results-md benchmarks/RESULTS.md`"
    )


def test_report_files_are_the_rendered_results_file(result) -> None:
    assert (FOLDER / "domain_study.md").read_text(encoding="utf-8") == render_domain_markdown(result)
    assert (FOLDER / "report.html").read_text(encoding="utf-8") == render_domain_html(result)
    expected = {
        f"domain_study_{domain}_{metric}.svg": render_rate_svg(result, domain, metric)
        for domain in result["config"]["domains"]
        for metric in metrics_of([r for r in result["rows"] if r["domain"] == domain])
    }
    assert sorted(p.name for p in FOLDER.glob("*.svg")) == sorted(expected)
    for name, svg in expected.items():
        assert (FOLDER / name).read_text(encoding="utf-8") == svg, name


def test_the_recorded_run_is_the_stated_grid_with_every_judge(result) -> None:
    config = result["config"]
    assert config["domains"] == ["speech", "music", "effects"] and config["neural"] and config["alignment"]
    assert sorted(config["kinds"]) == ["acoustic", "mel", "semantic"]
    scored = {(r["domain"], m) for r in result["rows"] for m in r["scores"]}
    for needed in [
        ("speech", "wer"),
        ("speech", "dnsmos_ovrl"),
        ("speech", "pesq"),
        ("music", "pitch_accuracy"),
    ]:
        assert needed in scored, needed
    assert set(result["alignment"]) == {f"{k}-{r}-mixture" for k in config["kinds"] for r in config["rates"]}
    assert set(result["references"]) == {"speech", "music", "effects"}
