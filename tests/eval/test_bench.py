"""A tiny bench end to end: two tasks, four clips, one corruption, with the packaged reference models."""

from __future__ import annotations

import json

from rich.console import Console

from avikit.eval.bench import run_bench


def test_tiny_bench_end_to_end(tmp_path):
    console = Console(record=True, width=160)
    results = run_bench(
        tmp_path, num_samples=4, conditions=("noise_snr=0",), tasks=("avel", "retrieval"), console=console
    )
    assert {row["task"] for row in results["leaderboard"]} == {"avel", "retrieval"}
    assert {row["model"] for row in results["open_vocabulary"]} == {"avikit/retrieval"}
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["leaderboard"] == results["leaderboard"]
    assert (tmp_path / "report.html").is_file() and (tmp_path / "results.md").is_file()
    conditions = {cell["condition"] for cell in on_disk["cells"]}
    assert conditions == {"clean", "video_blanked", "audio_muted", "noise_snr=0"}
    assert "avikit bench" in console.export_text()
