"""Reports of runs: ``results.md``, a self-contained offline ``report.html`` and ``viewer.html``.

``report.html`` (inline SVG, no script, nothing fetched) shows a model-by-task heat map, the leaderboard
(clean condition, primary metric, 95% interval, gain over the strongest trivial baseline with its paired
interval), the AV gain = AV - max(audio-only, video-only) (audio-only is the ``video_blanked`` control,
video-only the ``audio_muted`` control, paired bootstrap interval over the same items), per task the bars
on the metric's declared range and the robustness curve over each AVSynth corruption with its clean point,
the energy per model when it was measured, and a run's generation section. With run folders it also writes
``viewer.html``, the per-sample viewer (:mod:`avikit.eval.viewer`), and links it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from avikit.data.manifest import atomic_writer
from avikit.data.synth.conditions import CONDITIONS
from avikit.errors import InputFileError
from avikit.eval.charts import Bar, Curve, bar_chart, heat_map, metric_range, robustness_chart
from avikit.eval.report_generation import generation_section
from avikit.eval.report_stats import cell_role, compute_av_gain, gain_over_baseline, strongest_baseline
from avikit.eval.report_tables import html_table, markdown_table

__all__ = ["CLEAN_LEVELS", "build_report", "compute_av_gain", "load_runs"]

Run = tuple[str, dict[str, Any]]
Row = tuple[str, dict[str, Any], dict[str, Any]]

CLEAN_LEVELS = {"noise_snr": math.inf}
"""The level of a corruption that means no corruption, where it is not 0 (an SNR is clean at infinity)."""

_STYLE = (
    "body{font-family:sans-serif;max-width:980px;margin:auto;padding:0 12px;color:#222}"
    "table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}"
    "table.gallery td{vertical-align:top}audio{width:150px}p.note{color:#555;font-size:13px}"
    "nav a{margin-right:12px}"
)


def load_runs(paths: Sequence[str | Path]) -> list[Run]:
    """``(run name, results)`` for each run folder (or ``results.json`` path).

    Raises:
        InputFileError: if a run has no ``results.json``, or it is not an evaluation run.
    """
    runs = []
    for path in map(Path, paths):
        file = path if path.suffix == ".json" else path / "results.json"
        if not file.is_file():
            raise InputFileError(f"{file} does not exist; run `avikit eval run --out {path}` first")
        results = json.loads(file.read_text(encoding="utf-8"))
        if "cells" not in results:
            raise InputFileError(
                f"{file} is not an evaluation run (an agent, embodied or streaming run?); its leaderboard.md "
                f"is its report, and `avikit eval view {path} --out FOLDER` shows its episodes or streams"
            )
        runs.append((file.parent.name, results))
    return runs


def _cells(runs: Sequence[Run]) -> dict[str, list[Row]]:
    """Task -> ``(run name, run results, cell)`` of every complete cell."""
    out: dict[str, list[Row]] = {}
    for name, results in runs:
        for cell in results["cells"]:
            if cell["complete"]:
                out.setdefault(cell["task"], []).append((name, results, cell))
    return out


def _spec(results: Mapping[str, Any], task: str) -> tuple[str, str, bool]:
    """``(primary metric, unit, lower is better)`` of a task."""
    spec = results["tasks"][task]
    metric = str(spec["primary_metric"])
    return metric, str(spec["unit"]), metric in spec.get("lower_is_better", ())


def _value(cell: Mapping[str, Any], metric: str) -> tuple[float, tuple[float, float] | None]:
    ci = cell["ci"].get(metric)
    return float(cell["scores"][metric]), ((float(ci[0]), float(ci[1])) if ci else None)


def _fmt(value: float, ci: tuple[float, float] | None) -> str:
    return f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _label(name: str, cell: Mapping[str, Any], runs: int) -> str:
    return f"{name}/{cell['model_id']}" if runs > 1 else str(cell["model_id"])


def _leaderboard(task: str, rows: Sequence[Row], runs: int) -> tuple[list[list[str]], list[Bar], str | None]:
    """Clean rows of a task with the gain over each run's strongest baseline; the bars; the baseline."""
    metric, _, lower = _spec(rows[0][1], task)
    table, bars, chosen = [], [], None
    for name in dict.fromkeys(n for n, _, _ in rows):
        clean = [c for n, _, c in rows if n == name and c["condition"] == "clean"]
        best = strongest_baseline(clean, metric, lower)
        if best is not None and chosen is None:
            chosen = _label(name, best, runs)
        for cell in clean:
            role = cell_role(cell)
            value, ci = _value(cell, metric)
            gain_text, significant = "-", None
            if best is not None and cell is not best and math.isfinite(value):
                results = next(r for n, r, c in rows if c is cell)
                gain, gain_ci, significant = _recorded(results, "vs_baseline", cell, best["model_id"]) or (
                    gain_over_baseline(cell, best, metric, lower)
                )
                mark = {True: " *", False: " n.s.", None: ""}[significant]
                gain_text = f"{_fmt(gain, gain_ci)}{mark} vs {best['model_id']}"
            table.append([task, name, str(cell["model_id"]), role, metric, _fmt(value, ci), gain_text])
            bars.append(
                Bar(_label(name, cell, runs), value, ci, role, significant if role == "model" else None)
            )
    return table, bars, chosen


def _recorded(
    results: Mapping[str, Any], kind: str, cell: Mapping[str, Any], reference: str | None = None
) -> tuple[float, tuple[float, float], bool] | None:
    """The run's own paired comparison of ``cell`` (resampled over the task's unit), if it recorded one."""
    for c in results.get("comparisons", []):
        if (c["kind"], c["task"], c["model"]) == (kind, cell["task"], cell["model_id"]) and (
            reference is None or c["reference"] == reference
        ):
            low, high = c["ci"]
            return float(c["difference"]), (float(low), float(high)), bool(c["significant"])
    return None


def _gain_rows(task: str, rows: Sequence[Row]) -> list[list[str]]:
    by_key: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for name, _, cell in rows:
        by_key.setdefault((name, cell["model_id"]), {})[cell["condition"]] = cell
    out = []
    metric = _spec(rows[0][1], task)[0]
    results = {name: r for name, r, _ in rows}
    for (name, model), cells in by_key.items():
        if not {"clean", "audio_muted", "video_blanked"} <= set(cells):
            continue
        recorded = _recorded(results[name], "av_gain", cells["clean"])
        if recorded is not None:
            out.append([task, name, model, metric, _fmt(recorded[0], recorded[1])])
            continue
        items = [cells[c]["items"].get(metric) for c in ("clean", "video_blanked", "audio_muted")]
        if any(i is None for i in items) or len({len(i) for i in items if i is not None}) != 1:
            gain = cells["clean"]["scores"][metric] - max(
                cells[c]["scores"][metric] for c in ("audio_muted", "video_blanked")
            )
            out.append([task, name, model, metric, f"{gain:.3f}"])
            continue
        scale = cells["clean"].get("scale", {}).get(metric, 1.0)
        gain, ci = compute_av_gain(*items, scale=scale)  # type: ignore[misc]
        out.append([task, name, model, metric, _fmt(gain, ci)])
    return out


def _robustness(task: str, rows: Sequence[Row], runs: int) -> dict[str, list[Curve]]:
    """Corruption name -> one curve per run/model over its single-corruption conditions and clean."""
    metric = _spec(rows[0][1], task)[0]
    points: dict[str, dict[str, list[tuple[float, float, tuple[float, float] | None]]]] = {}
    clean: dict[str, tuple[float, tuple[float, float] | None]] = {}
    for name, _, cell in rows:
        label = _label(name, cell, runs)
        if cell["condition"] == "clean":
            clean[label] = _value(cell, metric)
        parts = [p.split("=") for p in cell["condition"].split("+")] if "=" in cell["condition"] else []
        if len(parts) == 1:
            points.setdefault(parts[0][0], {}).setdefault(label, []).append(
                (float(parts[0][1]), *_value(cell, metric))
            )
    return {
        kind: [Curve(label, clean.get(label), p) for label, p in series.items()]
        for kind, series in points.items()
    }


def _heat(cells: Mapping[str, Sequence[Row]], runs: int) -> str:
    grid: dict[tuple[str, str], tuple[float, float]] = {}
    for task, rows in cells.items():
        metric, unit, lower = _spec(rows[0][1], task)
        values = [float(c["scores"][metric]) for _, _, c in rows if c["condition"] == "clean"]
        low, high = metric_range(unit, values)
        for name, _, cell in rows:
            value = float(cell["scores"][metric])
            if cell["condition"] == "clean" and math.isfinite(value):
                position = (value - low) / (high - low)
                grid[(_label(name, cell, runs), task)] = (value, 1.0 - position if lower else position)
    models = list(dict.fromkeys(model for model, _ in grid))
    return heat_map(models, list(cells), grid) if grid else ""


def _energy(runs: Sequence[Run]) -> tuple[list[str], list[list[str]]]:
    header = ["run", "model", "energy (Wh)", "CO2 (g)", "seconds", "power source"]
    rows = []
    for name, results in runs:
        energy = results.get("energy")
        if not energy:
            continue
        for model, total in energy["per_model"].items():
            co2 = "-" if total["emissions_kg"] is None else f"{1000 * total['emissions_kg']:.4f}"
            rows.append([name, model, f"{1000 * total['energy_kwh']:.4f}", co2, f"{total['seconds']:.1f}",
                         ", ".join(energy.get("power_source", [])) or "-"])  # fmt: skip
    return header, rows


def _task_section(task: str, rows: Sequence[Row], runs: int) -> tuple[list[str], list[str]]:
    metric, unit, lower = _spec(rows[0][1], task)
    _, bars, baseline = _leaderboard(task, rows, runs)
    value_range = metric_range(unit, [v for b in bars for v in (b.value, *(b.ci or ()))])
    direction = "lower is better" if lower else "higher is better"
    html = [f"<h2 id='task-{escape(task)}'>{escape(task)}</h2>",
            f"<p class='note'>{escape(metric)} in {escape(unit)}, {direction}; axis: the metric's range "
            f"{value_range[0]:g} .. {value_range[1]:g}</p>"]  # fmt: skip
    if bars:
        html.append(bar_chart(f"{task}: {metric}, clean", bars, unit, value_range, baseline))
    all_rows = [[_label(n, c, runs), c["condition"], _fmt(*_value(c, metric))] for n, _, c in rows]
    markdown = [
        f"\n## {task} ({metric}, {unit})\n",
        markdown_table(["model", "condition", "score [95% CI]"], all_rows),
    ]
    for kind, curves in _robustness(task, rows, runs).items():
        axis = f"{kind} ({CONDITIONS[kind].unit})" if kind in CONDITIONS else kind
        html.append(robustness_chart(f"{task}: {metric} under {kind}", axis, curves, value_range,
                                     CLEAN_LEVELS.get(kind, 0.0)))  # fmt: skip
        table = [[c.label, ", ".join(f"{x:g}: {y:.3f}" for x, y, _ in sorted(c.points))] for c in curves]
        markdown += [f"\nRobustness to {kind}:\n", markdown_table(["model", "value: score"], table)]
    html.append(html_table(["model", "condition", "score [95% CI]"], all_rows))
    return markdown, html


def _sections(
    runs: Sequence[Run], folders: Sequence[Path | None], viewer: bool
) -> tuple[list[str], list[str]]:
    markdown = [f"# avikit evaluation report\n\nRuns: {', '.join(n for n, _ in runs)}\n"]
    html = [f"<h1>avikit evaluation report</h1><p>Runs: {escape(', '.join(n for n, _ in runs))}</p>"]
    if viewer:
        html.append(
            "<nav><a id='viewer-link' href='viewer.html'>Per-sample viewer (worst clips first)</a></nav>"
        )
    for name, results in runs:
        run = results["run"]
        info = f"{name}: avikit {run['package_version']}, git {run['git_revision'][:12]}, seed {run['seed']}"
        data = ", ".join(c["name"] + " (" + c["licence"] + ")" for c in run["datasets"])
        markdown.append(f"- {info}; data: {data}")
        html.append(f"<p>{escape(info)}; data: {escape(data)}</p>")
    cells = _cells(runs)
    html += ["<h2>Model by task</h2>", _heat(cells, len(runs))]
    board = [row for task, rows in cells.items() for row in _leaderboard(task, rows, len(runs))[0]]
    header = [
        "task",
        "run",
        "model",
        "role",
        "metric",
        "clean score [95% CI]",
        "gain over strongest baseline",
    ]
    note = ("Gain: paired difference with the strongest trivial baseline on the same clips, 95% bootstrap "
            "interval; * significant, n.s. not significant; no interval where the score is not a mean "
            "over clips.")  # fmt: skip
    markdown += ["\n## Leaderboard (clean)\n", markdown_table(header, board), "", note]
    html += ["<h2>Leaderboard (clean)</h2>", html_table(header, board), f"<p class='note'>{escape(note)}</p>"]
    gains = [row for task, rows in cells.items() for row in _gain_rows(task, rows)]
    gain_header = ["task", "run", "model", "metric", "AV gain [95% CI]"]
    markdown.append("\n## AV gain = AV - max(audio-only, video-only)\n")
    html.append("<h2>AV gain = AV &minus; max(audio-only, video-only)</h2>")
    if gains:
        markdown.append(markdown_table(gain_header, gains))
        html.append(html_table(gain_header, gains))
    else:
        text = ("No model ran under both controls; add `--conditions clean,audio_muted,video_blanked` "
                "to measure the AV gain.")  # fmt: skip
        markdown.append(text)
        html.append(f"<p class='note'>{escape(text)}</p>")
    for task, rows in cells.items():
        more_markdown, more_html = _task_section(task, rows, len(runs))
        markdown += more_markdown
        html += more_html
    energy_header, energy_rows = _energy(runs)
    if energy_rows:
        markdown += ["\n## Energy per model\n", markdown_table(energy_header, energy_rows)]
        html += ["<h2>Energy per model</h2>", html_table(energy_header, energy_rows)]
    for (name, results), folder in zip(runs, [*folders, *[None] * len(runs)], strict=False):
        if "generation" in results:
            more_markdown, more_html = generation_section(name, results, folder)
            markdown += more_markdown
            html += more_html
    return markdown, html


def build_report(
    runs: Sequence[str | Path], out: str | Path, viewer: bool = True, inline_limit: int | None = None
) -> tuple[Path, Path]:
    """Write ``results.md``, ``report.html`` and (``viewer``) ``viewer.html`` for ``runs`` into ``out``.

    Media files up to ``inline_limit`` bytes are embedded in ``viewer.html``, larger ones are written
    beside it (default :data:`avikit.eval.viewer.INLINE_LIMIT`).

    Returns:
        The paths of ``results.md`` and ``report.html``.
    """
    folders = [Path(p).parent if Path(p).suffix == ".json" else Path(p) for p in runs]
    loaded = load_runs(runs)
    folder = Path(out)
    if viewer:
        from avikit.eval.viewer import INLINE_LIMIT, write_viewer

        write_viewer(folders, folder, INLINE_LIMIT if inline_limit is None else inline_limit)
    markdown, html = _sections(loaded, folders, viewer)
    with atomic_writer(folder / "results.md") as f:
        f.write("\n".join(markdown) + "\n")
    with atomic_writer(folder / "report.html") as f:
        f.write(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>avikit report</title>"
                f"<style>{_STYLE}</style></head><body>{''.join(html)}</body></html>\n")  # fmt: skip
    return folder / "results.md", folder / "report.html"
