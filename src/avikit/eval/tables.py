"""Result tables as text, from results files only: the leaderboard, open vocabulary, generation, selection.

Every table the README and the docs show is made here from a committed results file (``avikit bench``'s
``summary.json``, a run's ``results.json``, the selection study's file), so a table cannot say more than
its file: ``tools/doc_tables.py`` writes them into the Markdown files and a test fails when one differs.
Each function returns ``(header, rows)`` of strings; :func:`markdown_table` lays them out.

Conventions: a score is printed with its interval ``value [low, high]`` (95%, percentile bootstrap over the
task's resampling unit); a paired difference is signed, positive = better, and ends in ``(n.s.)`` when its
interval touches or crosses 0. Percent scores have one decimal, dB two, everything else three.

Example:
    >>> print(markdown_table(["a", "b"], [["1", "2"]]))
    | a | b |
    |---|---|
    | 1 | 2 |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from avikit.eval.comparisons import significance_mark

__all__ = [
    "Table",
    "cheat_table",
    "comparison_table",
    "format_difference",
    "format_score",
    "generation_comparison_table",
    "generation_table",
    "leaderboard_table",
    "markdown_table",
    "open_vocabulary_table",
    "run_table",
    "selection_table",
    "summarize_bench",
    "watermark_attack_table",
]

Table = tuple[list[str], list[list[str]]]

_DIGITS = {"percent": 1, "dB": 2}
_REFERENCE = {"v2a": ("mel_distance",), "joint-generation": ("mel_distance",), "a2v": ("psnr", "ssim"),
              "codec-reconstruction": ("mel_distance", "si_sdr")}  # fmt: skip
_HEADLINE = ("fd_audio", "fd_video", "alignment", "desync")
_NAMES = {"mel_distance": "mel distance", "si_sdr": "SI-SDR", "psnr": "PSNR", "ssim": "SSIM",
          "fd_audio": "FD audio", "fd_video": "FD video", "kl": "KL", "inception_score": "IS",
          "alignment": "alignment", "desync": "DeSync"}  # fmt: skip


def _number(value: float | str, unit: str = "") -> str:
    number = float(value)
    text = f"{number:.{_DIGITS.get(unit, 3)}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def format_score(value: float | str | None, ci: Sequence[float] | None = None, unit: str = "") -> str:
    """``"0.656 [0.598, 0.712]"`` (``"-"`` for a missing score).

    Example:
        >>> format_score(56.62, [50.1, 62.0], "percent"), format_score(None)
        ('56.6 [50.1, 62.0]', '-')
    """
    if value is None:
        return "-"
    text = _number(value, unit)
    return text + (f" [{_number(ci[0], unit)}, {_number(ci[1], unit)}]" if ci else "")


def format_difference(comparison: Mapping[str, Any] | None, unit: str = "") -> str:
    """``"+0.140 [0.098, 0.179]"``, with ``" (n.s.)"`` when the paired interval touches or crosses 0.

    Example:
        >>> format_difference({"difference": 0.1, "ci": [-0.02, 0.2], "significant": False})
        '+0.100 [-0.020, 0.200] (n.s.)'
    """
    if comparison is None:
        return "-"
    low, high = comparison["ci"]
    sign = "+" if float(comparison["difference"]) >= 0 else "-"
    magnitude = _number(abs(float(comparison["difference"])), unit)
    return f"{sign}{magnitude} [{_number(low, unit)}, {_number(high, unit)}]" + significance_mark(comparison)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table (no trailing newline)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def leaderboard_table(board: Sequence[Mapping[str, Any]]) -> Table:
    """The perception leaderboard of ``avikit bench`` (its ``leaderboard`` rows)."""
    header = [
        "task", "metric", "interval unit", "model [95% CI]", "strongest trivial baseline",
        "model - baseline [paired 95% CI]", "audio only", "video only", "AV gain [paired 95% CI]",
    ]  # fmt: skip
    rows = []
    for r in board:
        unit = r["unit"]
        base = r.get("baseline")
        baseline = "-" if base is None else f"{_number(base['score'], unit)} ({base['model']})"
        rows.append([
            r["task"], r["metric"], r.get("resampling_unit", "clip"), format_score(r["score"], r["ci"], unit),
            baseline, format_difference(r.get("vs_baseline"), unit), _number(r["audio_only"], unit),
            _number(r["video_only"], unit), format_difference(r.get("av_gain"), unit),
        ])  # fmt: skip
    return header, rows


def open_vocabulary_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """Seen (``test``) and held-out (``open_test``) classes with intervals and chance."""
    header = ["task", "model", "metric", "test (seen) [95% CI]", "open_test (held out) [95% CI]",
              "chance test / open_test"]  # fmt: skip
    out = []
    for r in rows:
        chance = r.get("chance") or {}
        level = " / ".join(_number(chance[k]) for k in ("test", "open_test") if k in chance) or "-"
        out.append([r["task"], r["model"], r["metric"], format_score(r["test"], r.get("test_ci")),
                    format_score(r["open_test"], r.get("open_test_ci")), level])  # fmt: skip
    return header, out


def _scored(row: Mapping[str, Any], metric: str, units: Mapping[str, str]) -> str:
    if metric not in row["scores"]:
        return "-"
    value = row["scores"][metric]
    if isinstance(value, str):
        return value
    return format_score(value, row["ci"].get(metric), units.get(metric, ""))


def _reference(row: Mapping[str, Any], units: Mapping[str, str]) -> str:
    metrics = [m for m in _REFERENCE.get(row["task"], ()) if m in row["scores"]]
    return "; ".join(f"{_NAMES[m]} {_scored(row, m, units)}" for m in metrics) or "-"


def _cost(row: Mapping[str, Any]) -> list[str]:
    if row["role"] == "real media" or "speed" not in row:
        return ["-", "-"]
    return [f"{row['speed']['real_time_factor']:.3f}", f"{row['parameters']:,}"]


def generation_table(section: Mapping[str, Any]) -> Table:
    """Every generation row (generators, retrieval baselines, real media) on its headline scores."""
    units = {m: info["unit"] for m, info in section["metrics"].items()}
    scores = [f"{_NAMES[m]} [95% CI]" for m in _HEADLINE]
    header = ["task", "model", "role", "reference metric [95% CI]", *scores, "RTF", "parameters"]
    rows = [
        [r["task"], r["model"], r["role"], _reference(r, units), *[_scored(r, m, units) for m in _HEADLINE],
         *_cost(r)]
        for r in section["rows"]
    ]  # fmt: skip
    return header, rows


def generation_comparison_table(
    section: Mapping[str, Any],
    kinds: Sequence[str] = ("vs_baseline", "paradigms"),
    metrics: Sequence[str] = (),
) -> Table:
    """Paired differences of the generation bench (positive = better), per task, model, metric."""
    header = ["task", "model", "against", "metric", "difference [paired 95% CI] (+ = better)"]
    units = {m: info["unit"] for m, info in section["metrics"].items()}
    rows = []
    for c in section.get("comparisons", []):
        if c["kind"] not in kinds or (metrics and c["metric"] not in metrics):
            continue
        against = c["reference"] + (" (strongest baseline)" if c["kind"] == "vs_baseline" else "")
        metric = _NAMES.get(c["metric"], c["metric"])
        rows.append(
            [c["task"], c["model"], against, metric, format_difference(c, units.get(c["metric"], ""))]
        )
    return header, rows


def run_table(results: Mapping[str, Any], conditions: Sequence[str] = ("clean",)) -> Table:
    """Every complete cell of a run (``results.json``) on its task's primary score, with the comparisons."""
    header = ["task", "model", "condition", "metric", "score [95% CI]", "model - strongest baseline",
              "AV gain"]  # fmt: skip
    rows = []
    for cell in results["cells"]:
        if not cell["complete"] or cell["condition"] not in conditions:
            continue
        spec = results["tasks"][cell["task"]]
        metric, unit = spec["primary_metric"], spec["unit"]
        found = {c["kind"]: c for c in results.get("comparisons", [])
                 if (c["task"], c["model"]) == (cell["task"], cell["model_id"])}  # fmt: skip
        baseline = "(baseline)" if cell.get("baseline") else format_difference(found.get("vs_baseline"), unit)
        rows.append([cell["task"], cell["model_id"], cell["condition"], metric,
                     format_score(cell["scores"].get(metric), cell["ci"].get(metric), unit), baseline,
                     format_difference(found.get("av_gain"), unit)])  # fmt: skip
    return header, rows


def comparison_table(results: Mapping[str, Any], kinds: Sequence[str] = ()) -> Table:
    """The paired comparisons of a run's ``results.json`` (of ``kinds``; all when empty), positive = better.

    Example:
        >>> results = {"tasks": {"t": {"unit": "percent"}}, "comparisons": [{"kind": "vs_baseline",
        ...     "task": "t", "model": "m", "reference": "prior", "metric": "overall", "difference": 9.73,
        ...     "ci": [4.8, 15.27], "significant": True}]}
        >>> comparison_table(results)[1]
        [['t', 'm', 'prior', 'overall', '+9.7 [4.8, 15.3]']]
    """
    header = ["task", "model", "against", "metric", "difference [paired 95% CI] (+ = better)"]
    rows = []
    for c in results.get("comparisons", []):
        if kinds and c["kind"] not in kinds:
            continue
        unit = results["tasks"][c["task"]]["unit"]
        rows.append([c["task"], c["model"], c["reference"], c["metric"], format_difference(c, unit)])
    return header, rows


_SELECTION_COLUMNS = {
    "a2v": (("alignment", "alignment"), ("desync", "DeSync"), ("psnr", "PSNR"), ("fd_video", "FD")),
    "default": (("alignment", "alignment"), ("desync", "DeSync"), ("mel_distance", "mel distance"),
                ("fd_audio", "FD")),
}  # fmt: skip
"""The scores a selection table shows beside the deciding one, by the setting's task."""


def selection_table(result: Mapping[str, Any]) -> Table:
    """One setting chosen on ``val``: each candidate's scores, its paired difference to the shipped value."""
    selection = result["selection"]
    metric = selection["criterion"]
    columns = _SELECTION_COLUMNS.get(selection["task"], _SELECTION_COLUMNS["default"])
    vs = {str(v["value"]): v for v in result["vs_shipped"]}
    header = [selection["parameter"], f"{_NAMES.get(metric, metric)} [95% CI] (decides)",
              f"vs shipped {selection['shipped']} [paired 95% CI] (+ = better)",
              *[name for _, name in columns]]  # fmt: skip
    rows = []
    for r in result["rows"]:
        marks = [" (shipped)" if r["value"] == selection["shipped"] else "",
                 " (chosen)" if r["value"] == result["chosen"] else ""]  # fmt: skip
        rows.append([f"{r['value']}{''.join(marks)}", format_score(r["scores"][metric], r["ci"].get(metric)),
                     format_difference(vs.get(str(r["value"]))),
                     *[format_score(r["scores"].get(key)) for key, _ in columns]])  # fmt: skip
    return header, rows


def cheat_table(summary: Mapping[str, Any]) -> Table:
    """The cheat suite per task: its strongest trivial baseline, a model that never looks, the best cheat.

    ``summary`` is what ``tools/cheat_table.py`` writes. Per condition the table gives the best cheat's
    primary score (the cheat named); the last column is the best cheat's score minus the strongest trivial
    baseline's, the largest over the conditions (lower-is-better scores turned around: positive = the cheat
    did better).

    Example:
        >>> row = {"task": "sync", "condition": "clean", "metric": "accuracy", "lower_is_better": False,
        ...        "reference": 0.125, "cheats": {"cheat-readsids": 0.25}, "baselines": {"prior": 0.25}}
        >>> cheat_table({"conditions": ["clean"], "rows": [row]})[1]
        [['sync', 'accuracy', '0.250 (prior)', '0.125', '0.250 (readsids)', '+0.000']]
    """
    conditions = summary["conditions"]
    header = ["task", "metric", "strongest trivial baseline", "never looks (clean)",
              *[f"best cheat, {c}" for c in conditions], "best cheat - baseline (largest)"]  # fmt: skip
    by_task: dict[str, dict[str, Any]] = {}
    for row in summary["rows"]:
        by_task.setdefault(row["task"], {})[row["condition"]] = row
    rows = []
    for task, per in by_task.items():
        clean = per.get("clean") or next(iter(per.values()))
        sign = -1.0 if clean["lower_is_better"] else 1.0
        scored = {m: float(v) for m, v in clean["baselines"].items() if v is not None}
        best = max(scored.items(), key=lambda kv: sign * kv[1], default=None)
        cells, margins = [], []
        for condition in conditions:
            row = per.get(condition)
            found = {} if row is None else {m: float(v) for m, v in row["cheats"].items() if v is not None}
            if row is None or len(found) < len(row["cheats"]):
                cells.append("-" if row is None else "incomplete")
                continue
            name, score = max(found.items(), key=lambda kv: sign * kv[1])
            cells.append(f"{format_score(score)} ({name.removeprefix('cheat-')})")
            if best is not None:
                margins.append(sign * (score - best[1]))
        baseline = "-" if best is None else f"{format_score(best[1])} ({best[0]})"
        metric = clean["metric"] + (" (lower is better)" if clean["lower_is_better"] else "")
        margin = f"{max(margins):+.3f}" if margins else "-"
        rows.append([task, metric, baseline, format_score(clean["reference"]), *cells, margin])
    return header, rows


def watermark_attack_table(table: Mapping[str, Any], watermarker: str) -> Table:
    """One watermarker's attack table (``avikit.eval.watermark.evaluate_watermarks``' result), per attack.

    Example:
        >>> row = {"attack": "none", "tpr@fpr=0.01": 0.9, "tpr@fpr=0.01_ci": [0.8, 1.0], "auc": 0.99,
        ...        "bit_accuracy": 0.75, "p_value": 0.04, "attacked_clean_fpr@0.01": 0.01,
        ...        "localization_iou": 0.7}
        >>> table = {"chance": {"tpr@fpr=0.01": 0.01}, "watermarkers": {"w": {"rows": [row]}}}
        >>> watermark_attack_table(table, "w")[1]
        [['none', '0.900 [0.80, 1.00]', '0.990', '0.750', '4.0e-02', '0.010', '0.700']]
    """
    fprs = [k.removeprefix("tpr@fpr=") for k in table["chance"] if k.startswith("tpr@fpr=")]
    header = ["attack", *[f"TPR@FPR {f} [95% CI]" for f in fprs], "AUC", "bit acc.", "median p",
              "FPR attacked clean", "loc. IoU"]  # fmt: skip
    rows = []
    for r in table["watermarkers"][watermarker]["rows"]:
        tprs = ["{:.3f} [{:.2f}, {:.2f}]".format(r[f"tpr@fpr={f}"], *r[f"tpr@fpr={f}_ci"]) for f in fprs]
        clean = next(v for k, v in r.items() if k.startswith("attacked_clean_fpr"))
        rows.append([r["attack"], *tprs, f"{r['auc']:.3f}", f"{r['bit_accuracy']:.3f}", f"{r['p_value']:.1e}",
                     f"{clean:.3f}", f"{r['localization_iou']:.3f}"])  # fmt: skip
    return header, rows


def summarize_bench(results: Mapping[str, Any]) -> dict[str, Any]:
    """What the result tables of ``avikit bench`` need (its ``summary.json``): no per-clip data, no paths."""
    run = results["run"]
    out: dict[str, Any] = {
        "run": {k: run[k] for k in ("config", "package_version", "git_revision", "seed") if k in run},
        "tasks": results["tasks"],
        "leaderboard": results.get("leaderboard", []),
        "open_vocabulary": results.get("open_vocabulary", []),
        "seconds": results.get("seconds"),
    }
    if "generation" in results:
        section = results["generation"]
        keep = ("task", "name", "model", "role", "scores", "ci", "speed", "parameters")
        out["generation"] = {
            "num_samples": section["num_samples"],
            "split": section.get("split", "test"),
            "metrics": section["metrics"],
            "rows": [{k: r[k] for k in keep if k in r} for r in section["rows"]],
            "comparisons": section.get("comparisons", []),
            "seconds": section.get("seconds"),
        }
    return out
