"""Reports of one or several runs: ``results.md`` and a self-contained, offline ``report.html``.

They show the leaderboard (clean condition, primary metric, 95% interval over the task's resampling unit,
the strongest trivial baseline and the paired difference to it), every condition per task, the robustness
curves over each AVSynth corruption, and the AV gain = AV - max(audio-only, video-only), where the audio-only
score is the ``video_blanked`` control and the video-only score the ``audio_muted`` control, with a paired
bootstrap interval over the same units (:mod:`avikit.eval.comparisons`). A difference whose interval
touches or crosses 0 is marked ``(n.s.)``. A run with a ``generation`` section (``avikit bench``) adds
the generation leaderboard (every score with its unit and interval), the worst clips of every set metric and,
in ``report.html``, playable samples of each generator next to the real clip (:mod:`avikit.eval.gallery`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from avikit.data.manifest import atomic_writer
from avikit.errors import InputFileError
from avikit.eval.comparisons import significance_mark
from avikit.eval.gallery import gallery_html
from avikit.eval.svg import bar_chart, line_chart
from avikit.eval.tables import generation_comparison_table

__all__ = ["build_report", "load_runs"]

Run = tuple[str, dict[str, Any]]


def load_runs(paths: Sequence[str | Path]) -> list[Run]:
    """``(run name, results)`` for each run folder (or ``results.json`` path).

    Raises:
        FileNotFoundError: if a run has no ``results.json``.
    """
    runs = []
    for path in map(Path, paths):
        file = path if path.suffix == ".json" else path / "results.json"
        if not file.is_file():
            raise InputFileError(f"{file} does not exist; run `avikit eval run --out {path}` first")
        runs.append((file.parent.name, json.loads(file.read_text(encoding="utf-8"))))
    return runs


def _cells(runs: Sequence[Run]) -> dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]]:
    """Task -> ``(run name, run results, cell)`` of every complete cell."""
    out: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
    for name, results in runs:
        for cell in results["cells"]:
            if cell["complete"]:
                out.setdefault(cell["task"], []).append((name, results, cell))
    return out


def _primary(results: Mapping[str, Any], task: str) -> str:
    return str(results["tasks"][task]["primary_metric"])


def _value(cell: Mapping[str, Any], metric: str) -> tuple[float, tuple[float, float] | None]:
    ci = cell["ci"].get(metric)
    return float(cell["scores"][metric]), ((float(ci[0]), float(ci[1])) if ci else None)


def _fmt(value: float, ci: tuple[float, float] | None) -> str:
    return f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _comparison(results: Mapping[str, Any], kind: str, task: str, model: str) -> dict[str, Any] | None:
    return next((c for c in results.get("comparisons", [])
                 if (c["kind"], c["task"], c["model"]) == (kind, task, model)), None)  # fmt: skip


def _difference(comparison: Mapping[str, Any] | None) -> str:
    """``"+0.123 [0.045, 0.201]"``, with `` (n.s.)`` where the paired interval touches or crosses 0."""
    if comparison is None:
        return "-"
    low, high = comparison["ci"]
    text = f"{comparison['difference']:+.3f} [{_number(low)}, {_number(high)}]"
    return text + significance_mark(comparison)


def _baseline(results: Mapping[str, Any], task: str) -> str:
    best = results.get("baselines", {}).get(task)
    return "-" if best is None else f"{_number(best['score'])} ({best['model']})"


def _gain_rows(rows: Sequence[tuple[str, dict[str, Any], dict[str, Any]]]) -> list[list[str]]:
    out = []
    for name, results, cell in rows:
        gain = _comparison(results, "av_gain", cell["task"], cell["model_id"])
        if cell["condition"] == "clean" and gain is not None:
            out.append([cell["task"], name, cell["model_id"], gain["metric"], _difference(gain)])
    return out


def _robustness(
    task: str, rows: Sequence[tuple[str, dict[str, Any], dict[str, Any]]]
) -> dict[str, list[tuple[str, list[tuple[float, float]]]]]:
    """Corruption name -> curves ``(run/model, [(value, score)])`` over the single-corruption conditions."""
    curves: dict[str, dict[str, list[tuple[float, float]]]] = {}
    metric = _primary(rows[0][1], task)
    for name, _, cell in rows:
        parts = [p.split("=") for p in cell["condition"].split(",")] if "=" in cell["condition"] else []
        if len(parts) == 1:
            curves.setdefault(parts[0][0], {}).setdefault(f"{name}/{cell['model_id']}", []).append(
                (float(parts[0][1]), float(cell["scores"][metric])))  # fmt: skip
    return {kind: list(series.items()) for kind, series in curves.items()}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


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
        title = f"{task} (clean, {section['num_samples']} clips, 95% percentile CI over clips)"
        tables.append((title, header, board))
        for r in rows:
            if r["role"] == "real media":
                continue
            index = {sample: k for k, sample in enumerate(section["samples"])}
            for metric, ids in r["worst"].items():
                values = ", ".join(f"{i} ({_number(r['items'][metric][index[i]])})" for i in ids)
                worst.append([task, r["model"], metric, values])
    tables.append(("Worst clips (per-clip value; FD: leave-one-out contribution)",
                   ["task", "model", "metric", "worst clips"], worst))  # fmt: skip
    header, rows = generation_comparison_table(section)
    tables.append(("Paired differences over the same clips (+ = better; n.s.: the interval touches or "
                   "crosses 0)", header, rows))  # fmt: skip
    return tables


def _generation(name: str, results: Mapping[str, Any], folder: Path | None) -> tuple[list[str], list[str]]:
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


def _sections(runs: Sequence[Run], folders: Sequence[Path | None] = ()) -> tuple[list[str], list[str]]:
    markdown = [f"# avikit evaluation report\n\nRuns: {', '.join(n for n, _ in runs)}\n"]
    html = [f"<h1>avikit evaluation report</h1><p>Runs: {escape(', '.join(n for n, _ in runs))}</p>"]
    for name, results in runs:
        run = results["run"]
        info = f"{name}: avikit {run['package_version']}, git {run['git_revision'][:12]}, seed {run['seed']}"
        markdown.append(
            f"- {info}; data: {', '.join(c['name'] + ' (' + c['licence'] + ')' for c in run['datasets'])}"
        )
        html.append(f"<p>{escape(info)}</p>")
    cells = _cells(runs)
    board = [[task, name, c["model_id"], _primary(r, task), _fmt(*_value(c, _primary(r, task))),
              _baseline(r, task), "-" if c.get("baseline") else
              _difference(_comparison(r, "vs_baseline", task, c["model_id"]))]
             for task, rows in cells.items() for name, r, c in rows if c["condition"] == "clean"]  # fmt: skip
    header = ["task", "run", "model", "metric", "clean score [95% CI]", "strongest trivial baseline",
              "vs baseline [paired 95% CI]"]  # fmt: skip
    markdown += ["\n## Leaderboard (clean)\n", _table(header, board)]
    html += ["<h2>Leaderboard (clean)</h2>", _html_table(header, board)]
    gains = [row for rows in cells.values() for row in _gain_rows(rows)]
    gain_header = ["task", "run", "model", "metric", "AV gain [paired 95% CI]"]
    markdown += ["\n## AV gain = AV - max(audio-only, video-only)\n", _table(gain_header, gains)]
    html += ["<h2>AV gain = AV &minus; max(audio-only, video-only)</h2>", _html_table(gain_header, gains)]
    for task, rows in cells.items():
        metric = _primary(rows[0][1], task)
        unit = rows[0][1]["tasks"][task]["unit"]
        bars = [(f"{n}/{c['model_id']}/{c['condition']}", *_value(c, metric)) for n, _, c in rows]
        markdown += [
            f"\n## {task} ({metric}, {unit})\n",
            _table(["run/model/condition", "score [95% CI]"], [[b[0], _fmt(b[1], b[2])] for b in bars]),
        ]
        html += [f"<h2>{escape(task)}</h2>", bar_chart(f"{task}: {metric}", bars, unit)]
        for kind, series in _robustness(task, rows).items():
            html.append(line_chart(f"{task}: {metric} under {kind}", kind, series))
            points = [[label, ", ".join(f"{x:g}: {y:.3f}" for x, y in sorted(p))] for label, p in series]
            markdown += [f"\nRobustness to {kind}:\n", _table(["run/model", "value: score"], points)]
    for (name, results), folder in zip(runs, [*folders, *[None] * len(runs)], strict=False):
        if "generation" in results:
            more_markdown, more_html = _generation(name, results, folder)
            markdown += more_markdown
            html += more_html
    return markdown, html


def build_report(runs: Sequence[str | Path], out: str | Path) -> tuple[Path, Path]:
    """Write ``results.md`` and ``report.html`` for one or several runs side by side; return their paths."""
    folders = [Path(p).parent if Path(p).suffix == ".json" else Path(p) for p in runs]
    markdown, html = _sections(load_runs(runs), folders)
    style = ("body{font-family:sans-serif;max-width:960px;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}"
             "table.gallery td{vertical-align:top}audio{width:150px}")  # fmt: skip
    folder = Path(out)
    with atomic_writer(folder / "results.md") as f:
        f.write("\n".join(markdown) + "\n")
    with atomic_writer(folder / "report.html") as f:
        f.write(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>avikit report</title>"
                f"<style>{style}</style></head><body>{''.join(html)}</body></html>\n")  # fmt: skip
    return folder / "results.md", folder / "report.html"
