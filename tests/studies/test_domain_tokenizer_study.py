"""The domain tokenizer study at a tiny setting: corpus, grid, rows, references, pairing, report and CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest
from typer.testing import CliRunner

from avikit.errors import DataError, InputFileError, UsageError
from avikit.studies.domain_tokenizer_docs import BEGIN, END, results_section, update_results_page
from avikit.studies.domain_tokenizer_report import conclusion, render_domain_report
from avikit.studies.domain_tokenizer_study import (
    DomainStudyConfig,
    merge_domain_results,
    run_domain_tokenizer_study,
    tokenizer_grid,
)
from avikit.studies.domain_tokenizers import TrainSettings

TINY = DomainStudyConfig(
    domains=("speech", "effects"),
    train_clips=1,
    test_clips=2,
    seconds=3,
    kinds=("acoustic", "mel"),
    rates=(64, 16),
    per_domain_rates=(16,),
    judged_codebooks=(1,),
    train=TrainSettings(codebook_size=16, num_codebooks=2, steps=4, batch_size=2, crop_samples=4000),
    neural=False,
    alignment=False,
    rtf_clips=1,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("domain_study")
    return out, run_domain_tokenizer_study(TINY, out)


def test_grid_is_mixture_at_every_rate_and_domains_at_theirs():
    names = [spec.name for spec in tokenizer_grid(TINY)]
    assert names == [
        "acoustic-64-mixture",
        "acoustic-16-mixture",
        "mel-64-mixture",
        "mel-16-mixture",
        "acoustic-16-speech",
        "acoustic-16-effects",
        "mel-16-speech",
        "mel-16-effects",
    ]
    with pytest.raises(UsageError, match="per_domain_rates"):
        DomainStudyConfig(rates=(16,), per_domain_rates=(64,))
    with pytest.raises(UsageError, match="unknown domain"):
        DomainStudyConfig(domains=("speech", "jazz"))


def test_rows_cover_every_served_domain_and_codebook_count(tiny):
    _, result = tiny
    rows = result["rows"]
    # mixture-trained tokenizers serve both domains, domain-trained ones their own: (4 * 2 + 4) * 2 counts
    assert len(rows) == (4 * 2 + 4) * 2
    speech = [r for r in rows if r["domain"] == "speech" and r["tokenizer"] == "acoustic-64-mixture"]
    assert [r["bitrate"] for r in speech] == [64 * q * 4 for q in (1, 2)]
    assert {"mel_distance", "si_sdr", "pesq", "stoi"} <= set(speech[0]["scores"])
    assert set(next(r for r in rows if r["domain"] == "effects")["scores"]) == {"mel_distance", "si_sdr"}
    for row in rows:
        score = row["scores"]["mel_distance"]
        assert score["low"] <= score["mean"] <= score["high"] and len(score["per_clip"]) == 2


def test_references_ceiling_pairs_and_costs(tiny):
    _, result = tiny
    noise, silence = (result["references"]["speech"][k]["mel_distance"]["mean"] for k in ("noise", "silence"))
    assert noise > 0 and silence > 0
    assert set(result["vocoder_ceiling"]) == {"speech", "effects"}
    paired = {
        (p["kind"], p["rate"], p["domain"], p["num_codebooks"], p["metric"]): p for p in result["paired"]
    }
    entry = paired[("acoustic", 16, "speech", 2, "mel_distance")]
    mixture = next(
        r
        for r in result["rows"]
        if r["tokenizer"] == "acoustic-16-mixture" and r["domain"] == "speech" and r["num_codebooks"] == 2
    )["scores"]["mel_distance"]["per_clip"]
    own = next(
        r for r in result["rows"] if r["tokenizer"] == "acoustic-16-speech" and r["num_codebooks"] == 2
    )["scores"]["mel_distance"]["per_clip"]
    assert entry["mixture_minus_domain"] == pytest.approx(np.mean(np.subtract(mixture, own)))
    for name, record in result["tokenizers"].items():
        assert record["encode_rtf"] > 0 and record["decode_rtf"] > 0, name
    assert result["costs"]["corpus_seconds"] > 0


def test_report_files_rerender_from_json_and_the_cli(tiny, tmp_path):
    out, _ = tiny
    markdown = (out / "domain_study.md").read_text()
    assert "### speech (2 test clips)" in markdown and "**Conclusion.**" in markdown
    assert "mel → vocoder, unquantized" in markdown and "noise audio" in markdown
    for svg in out.glob("domain_study_*.svg"):
        ET.fromstring(svg.read_text())  # well-formed SVG
    assert (out / "domain_study_speech_pesq.svg").is_file()
    render_domain_report(out / "domain_study.json", tmp_path / "again")
    assert (tmp_path / "again" / "domain_study.md").read_text() == markdown
    assert "effects: at 2 codebooks" in conclusion(json.loads((out / "domain_study.json").read_text()))
    from avikit.cli.app import app

    ran = CliRunner().invoke(
        app, ["tokenizers", "report", str(out / "domain_study.json"), "--out", str(tmp_path / "cli")]
    )
    assert ran.exit_code == 0 and "### effects" in ran.output
    from avikit.cli.app import main

    with pytest.raises(SystemExit) as stopped:
        main(["tokenizers", "report", str(tmp_path / "none.json")])
    assert stopped.value.code == 2


def test_shards_by_kind_merge_back_into_the_whole(tiny, tmp_path):
    _, result = tiny
    shards = []
    for kind in ("acoustic", "mel"):
        shard = json.loads(json.dumps(result))
        shard["config"]["kinds"] = [kind]
        shard["config"]["references"] = kind == "acoustic"
        shard["rows"] = [r for r in result["rows"] if r["kind"] == kind]
        shard["tokenizers"] = {n: t for n, t in result["tokenizers"].items() if t["kind"] == kind}
        if kind == "mel":
            shard["references"] = {}
        else:
            shard["vocoder_ceiling"] = {}
        shards.append(shard)
    merged = merge_domain_results(shards)
    assert merged["rows"] == result["rows"] and merged["paired"] == result["paired"]
    assert list(merged["tokenizers"]) == list(result["tokenizers"])
    assert (
        merged["references"] == result["references"]
        and merged["vocoder_ceiling"] == result["vocoder_ceiling"]
    )
    assert merged["config"]["kinds"] == ["acoustic", "mel"] and len(merged["costs"]["shards"]) == 2
    shards[1]["config"]["seed"] = 1
    with pytest.raises(UsageError, match="different settings"):
        merge_domain_results(shards)


class _Tags(HTMLParser):
    """Counts start tags and collects the text of table cells, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.rows: list[list[str]] = []
        self.inside = False

    def handle_endtag(self, tag):
        self.inside = self.inside and tag not in ("td", "th")

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self.rows[-1].append("")
            self.inside = True

    def handle_data(self, data):
        if self.inside:
            self.rows[-1][-1] += data


def test_report_html_holds_every_table_row_and_plot(tiny):
    out, _ = tiny
    tags = _Tags()
    tags.feed((out / "report.html").read_text(encoding="utf-8"))
    markdown = (out / "domain_study.md").read_text(encoding="utf-8").splitlines()
    rows = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in markdown
        if line.startswith("|") and not set(line) <= {"|", "-"}
    ]
    assert tags.rows == rows
    assert tags.counts["svg"] == len(list(out.glob("domain_study_*.svg")))
    assert tags.counts["table"] == sum(1 for line in markdown if line.startswith("|---"))


def test_results_page_section_is_written_between_its_markers_and_nowhere_else(tiny, tmp_path):
    out, result = tiny
    page = tmp_path / "RESULTS.md"
    page.write_text(f"# Results\n\nby hand above\n\n{BEGIN}\nstale\n{END}\n\nby hand below\n")
    update_results_page(page, result, "plots")
    text = page.read_text()
    section = results_section(result, "plots")
    assert text == f"# Results\n\nby hand above\n\n{section}\nby hand below\n"
    assert "1 training and 2 test clips of 3 s per domain" in section and "4 steps of 2 crops" in section
    assert "(plots/domain_study_speech_pesq.svg)" in section and "neural judges off" in section
    update_results_page(page, result, "plots")
    assert page.read_text() == text  # idempotent
    page.write_text("# Results without markers\n")
    with pytest.raises(DataError, match="BEGIN domain tokenizer study"):
        update_results_page(page, result)
    with pytest.raises(InputFileError, match="not found"):
        update_results_page(tmp_path / "none.md", result)
    from avikit.cli.app import app

    page.write_text(f"{BEGIN}\n{END}\n")
    args = ["tokenizers", "report", str(out / "domain_study.json"), "--out", str(tmp_path / "out")]
    ran = CliRunner().invoke(app, [*args, "--results-md", str(page)])
    assert ran.exit_code == 0, ran.output
    assert page.read_text() == results_section(result, "out")


def test_conclusion_names_ties_instead_of_one_best(tiny):
    _, result = tiny
    tied = json.loads(json.dumps(result))
    for row in tied["rows"]:
        if row["domain"] == "effects":
            row["scores"]["mel_distance"]["mean"] = 0.5
    assert (
        "effects: at 2 codebooks, by mel distance, acoustic at 64, acoustic at 16, mel at 64, mel at 16 "
        in (conclusion(tied))
    )
    assert "effects: at 2 codebooks the best mixture-trained tokenizer by mel distance is" in conclusion(
        result
    )
