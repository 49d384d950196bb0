"""The generation section of the report.

The metric legend, one leaderboard per task, the worst clips and, in ``report.html``, playable samples of
each generator next to the real clip (:mod:`avikit.eval.gallery`).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from avikit.eval.gallery import gallery_html
from avikit.eval.report_tables import html_table as _html_table
from avikit.eval.report_tables import markdown_table as _table

__all__ = ["generation_section"]


def _number(value: float | str) -> str:
    text = f"{float(value):.3f}"
    return "0.000" if text == "-0.000" else text


def _scored(row: Mapping[str, Any], metric: str) -> str:
    if metric not in row["scores"]:
        return "-"
    ci = row["ci"].get(metric)
    return _number(row["scores"][metric]) + (f" [{_number(ci[0])}, {_number(ci[1])}]" if ci else "")


def _cost(row: Mapping[str, Any]) -> list[str]:
    """A generation row's real-time factor (``predict`` seconds per second of clip) and parameter count."""
    if row["role"] == "real media" or "speed" not in row:  # the real media costs nothing; older runs lack it
        return ["-", "-"]
    return [f"{row['speed']['real_time_factor']:.3f}", f"{row['parameters']:,}"]


def _generation_tables(section: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """``(title, header, rows)``: the metric legend, one leaderboard per task, the worst clips."""
    metrics = section["metrics"]

    def bound(value: float | None, infinity: str) -> str:
        return infinity if value is None else f"{value:g}"

    legend = [[name, info["unit"], f"{bound(info['low'], '-inf')} .. {bound(info['high'], 'inf')}",
               "higher" if info["higher_is_better"] else "lower", info["definition"]]
              for name, info in metrics.items()]  # fmt: skip
    tables = [("Generation metrics", ["metric", "unit", "range", "better", "definition"], legend)]
    worst = []
    for task in dict.fromkeys(row["task"] for row in section["rows"]):
        rows = [r for r in section["rows"] if r["task"] == task]
        used = [m for m in metrics if any(m in r["scores"] for r in rows)]
        arrows = {m: "↑" if metrics[m]["higher_is_better"] else "↓" for m in used}
        header = ["model", "role", *[f"{m} {arrows[m]}" for m in used], "RTF", "parameters"]
        board = [[r["model"], r["role"], *[_scored(r, m) for m in used], *_cost(r)] for r in rows]
        tables.append((f"{task} (clean, {section['num_samples']} clips, 95% CI)", header, board))
        for r in rows:
            if r["role"] == "real media":
                continue
            index = {sample: k for k, sample in enumerate(section["samples"])}
            for metric, ids in r["worst"].items():
                values = ", ".join(f"{i} ({_number(r['items'][metric][index[i]])})" for i in ids)
                worst.append([task, r["model"], metric, values])
    tables.append(("Worst clips (per-clip value; FD: leave-one-out contribution)",
                   ["task", "model", "metric", "worst clips"], worst))  # fmt: skip
    return tables


def generation_section(
    name: str, results: Mapping[str, Any], folder: Path | None
) -> tuple[list[str], list[str]]:
    """Markdown and HTML of a run's generation section (HTML with playable samples when media is there)."""
    section = results["generation"]
    embedders = ", ".join(f"{role}: {e['name']}" for role, e in section["embedders"].items())
    skipped = ", ".join(section["skipped"]) or "none"
    intro = (f"{name}: {section['num_samples']} clean AVSynth test clips; set metrics with the reference "
             f"embedders ({embedders}). Skipped (no such model): {skipped}.")  # fmt: skip
    markdown, html = ["\n## Generation\n", intro], ["<h2>Generation</h2>", f"<p>{escape(intro)}</p>"]
    for title, header, rows in _generation_tables(section):
        markdown += [f"\n### {title}\n", _table(header, rows)]
        html += [f"<h3>{escape(title)}</h3>", _html_table(header, rows)]
    if folder is not None:
        html.append(gallery_html(section, folder / section["folder"]))
    return markdown, html
