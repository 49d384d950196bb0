"""A tiny bench end to end: two tasks, four clips, one corruption, with the packaged reference models."""

from __future__ import annotations

import json

from rich.console import Console

from avikit.eval.bench import run_bench
from avikit.models.baselines import OracleModel


class PerfectCodec(OracleModel):
    """A codec stand-in that gives the real audio back."""

    id = "perfect-codec"


def test_tiny_bench_end_to_end(tmp_path):
    console = Console(record=True, width=160)
    results = run_bench(
        tmp_path, num_samples=4, conditions=("noise_snr=0",), tasks=("avel", "retrieval"), console=console,
        models={"codec": PerfectCodec()}, generation_samples=3, generation_tasks=("codec-reconstruction",),
    )  # fmt: skip
    assert {row["task"] for row in results["leaderboard"]} == {"avel", "retrieval"}
    assert {row["model"] for row in results["open_vocabulary"]} == {
        "avikit/retrieval",
        "avikit/retrieval-minilm",
    }
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["leaderboard"] == results["leaderboard"]
    assert (tmp_path / "report.html").is_file() and (tmp_path / "results.md").is_file()
    conditions = {cell["condition"] for cell in on_disk["cells"]}
    assert conditions == {"clean", "video_blanked", "audio_muted", "noise_snr=0"}
    assert "avikit bench" in console.export_text()
    generation = on_disk["generation"]
    assert {(r["model"], r["role"]) for r in generation["rows"]} == {
        ("perfect-codec", "generator"),
        ("oracle", "real media"),
    }
    assert all(r["scores"]["mel_distance"] == 0.0 for r in generation["rows"])
    assert "<h2>Generation</h2>" in (tmp_path / "report.html").read_text()
