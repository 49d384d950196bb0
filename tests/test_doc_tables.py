"""The README's and the docs' result tables equal what their committed results files make."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("doc_tables", ROOT / "tools" / "doc_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_table_equals_its_results_file() -> None:
    tool = _tool()
    marked = [p for p in tool.documents() if tool.MARKER.search(p.read_text(encoding="utf-8"))]
    assert Path(ROOT / "README.md") in marked  # the README's results are generated
    assert tool.update(check=True) == [], "run `python tools/doc_tables.py` after changing a results file"


def test_a_changed_results_file_or_a_hand_edit_is_caught(tmp_path: Path) -> None:
    tool = _tool()
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    shutil.copy(ROOT / tool.BENCH_RESULTS, tmp_path / tool.BENCH_RESULTS)
    doc = tmp_path / "README.md"
    doc.write_text(
        f"intro\n<!-- table bench-leaderboard {tool.BENCH_RESULTS} -->\nstale\n<!-- end table -->\n"
    )
    assert tool.update(tmp_path) == ["README.md: table bench-leaderboard (benchmarks/results/bench.json)"]
    assert tool.update(tmp_path, check=True) == []  # rewritten: now equal
    data = json.loads((tmp_path / tool.BENCH_RESULTS).read_text())
    data["leaderboard"][0]["score"] += 0.5
    (tmp_path / tool.BENCH_RESULTS).write_text(json.dumps(data))
    assert len(tool.update(tmp_path, check=True)) == 1
    assert "| " in doc.read_text() and doc.read_text().startswith("intro\n")


def test_a_section_missing_from_its_results_file_is_said_not_measured(tmp_path: Path) -> None:
    tool = _tool()
    (tmp_path / "r.json").write_text(json.dumps({"leaderboard": []}))
    text = tool.render("bench-generation", "r.json", tmp_path)
    assert text.splitlines()[0] == "| not measured |" and "no `generation` section" in text
    (tmp_path / "r.json").write_text(json.dumps({"comparisons": [], "tasks": {}}))
    assert tool.render("comparisons/vs_shipped", "r.json", tmp_path).count("\n") == 1  # header only
