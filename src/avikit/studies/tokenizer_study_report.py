"""The tokenizer study's report: a markdown table and a two-panel SVG plot of its results.

:func:`write_study_report` writes ``tokenizer_study.json``, ``tokenizer_study.md`` (one row per codec and
codebook count, the silence and noise floors, the retrieval references and chance, the frame tokenizer) and
``tokenizer_study.svg`` (bitrate against mel distance and against the retrieval mean rank, one line per
codec) for the result of :func:`avikit.studies.tokenizer_study.run_tokenizer_study`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["render_study_markdown", "render_study_svg", "write_study_report"]


def _interval(row: dict[str, Any], key: str, digits: int = 3) -> str:
    return f"{row[key]:.{digits}f} [{row[key + '_low']:.{digits}f}, {row[key + '_high']:.{digits}f}]"


def render_study_markdown(
    audio_rows: list[dict[str, Any]],
    visual: dict[str, Any],
    baselines: dict[str, dict[str, float]],
    references: dict[str, dict[str, float]],
) -> str:
    """The study's markdown tables: audio codecs and floors, retrieval references and chance, frames.

    Args:
        audio_rows: one row per codec and codebook count (``codec``, ``frame_rate``, ``bitrate``, ...).
        visual: the frame tokenizer's scores.
        baselines: ``{"silence" | "noise": {"mel_distance"[, "si_sdr"]}}``.
        references: retrieval reference name -> its ``av_*`` scores.
    """
    head = (
        "| codec | codes/s | K | Q | kbit/s | mel dist ↓ | SI-SDR dB ↑ | usage | perplexity "
        "| A→V R@1 ↑ | A→V R@5 [95% CI] ↑ | A→V mean rank [95% CI] ↓ |"
    )
    lines = [head, "|" + "---|" * 12]
    for row in audio_rows:
        lines.append(
            f"| {row['codec']} | {row['frame_rate']:.0f} | {row['codebook_size']} | {row['num_codebooks']} | "
            f"{row['bitrate'] / 1000:.2f} | {row['mel_distance']:.3f} | {row['si_sdr']:.2f} | "
            f"{row['usage']:.2f} | {row['perplexity']:.1f} | {row['av_r1']:.3f} | "
            f"{_interval(row, 'av_r5')} | {_interval(row, 'av_mean_rank', 1)} |"
        )
    for name, row in baselines.items():
        si_sdr = f"{row['si_sdr']:.2f}" if "si_sdr" in row else "-"
        lines.append(f"| {name} | - | - | - | 0 | {row['mel_distance']:.3f} | {si_sdr} | - | - | - | - | - |")
    any_row = next(iter(references.values()))
    lines += [
        "",
        f"| retrieval reference ({any_row['av_num_clips']:.0f} test clips) | A→V R@1 [95% CI] | "
        "A→V R@5 [95% CI] | A→V mean rank [95% CI] |",
        "|---|---|---|---|",
    ]
    for name, row in references.items():
        lines.append(
            f"| {name} | {_interval(row, 'av_r1')} | {_interval(row, 'av_r5')} | "
            f"{_interval(row, 'av_mean_rank', 1)} |"
        )
    lines.append(
        f"| chance | {any_row['av_chance_r1']:.3f} | {any_row['av_chance_r5']:.3f} | "
        f"{any_row['av_chance_mean_rank']:.1f} |"
    )
    lines += [
        "",
        "| frames | codes/s | K | kbit/s | PSNR dB ↑ | SSIM ↑ | usage | perplexity |",
        "|---|---|---|---|---|---|---|---|",
        f"| VQ | {visual['frame_rate']:.0f} | {visual['codebook_size']} | {visual['bitrate'] / 1000:.2f} | "
        f"{visual['psnr']:.2f} | {visual['ssim']:.3f} | {visual['usage']:.2f} | {visual['perplexity']:.1f} |",
    ]
    return "\n".join(lines) + "\n"


_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _panel(
    rows: list[dict[str, Any]],
    key: str,
    label: str,
    left: float,
    size: tuple[float, float],
    guides: dict[str, float],
) -> list[str]:
    """One panel: log bitrate (x) against ``row[key]`` (y), a polyline per codec, dashed ``guides``."""
    width, height = size
    xs = [math.log10(row["bitrate"]) for row in rows]
    ys = [row[key] for row in rows] + list(guides.values())
    x0, x1, y0, y1 = min(xs), max(xs) + 1e-9, min(ys), max(ys) + 1e-9

    def at(bits: float, value: float) -> tuple[float, float]:
        x = left + 40 + (math.log10(bits) - x0) / (x1 - x0) * (width - 60)
        return x, height - 40 - (value - y0) / (y1 - y0) * (height - 80)

    parts = [
        f'<text x="{left + width / 2 - 70}" y="{height - 8}">bitrate (bit/s, log scale)</text>',
        f'<text x="{left + 4}" y="14">{label} ({y0:.2f}..{y1:.2f})</text>',
    ]
    for name, value in guides.items():
        _, y = at(10**x0, value)
        parts.append(
            f'<line x1="{left + 40}" x2="{left + width - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#888" '
            f'stroke-dasharray="4 3"/><text x="{left + 44}" y="{y - 3:.1f}" fill="#888">{name}</text>'
        )
    groups = list(dict.fromkeys((row["codec"], row["frame_rate"], row["codebook_size"]) for row in rows))
    for index, group in enumerate(groups):
        points = [
            at(r["bitrate"], r[key])
            for r in rows
            if (r["codec"], r["frame_rate"], r["codebook_size"]) == group
        ]
        colour = _COLOURS[index % len(_COLOURS)]
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{line}"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in points]
    return parts


def render_study_svg(rows: list[dict[str, Any]], references: dict[str, dict[str, float]]) -> str:
    """Two panels drawn without a plotting library: bitrate against mel distance and A→V mean rank."""
    width, height = 440, 360
    first = next(iter(references.values()))
    guides = {
        "chance": first["av_chance_mean_rank"],
        **{n: ref["av_mean_rank"] for n, ref in references.items()},
    }
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="{height + 20}" font-size="11">'
    ]
    parts += _panel(rows, "mel_distance", "mel distance, lower is better", 0, (width, height), {})
    parts += _panel(
        rows, "av_mean_rank", "A→V mean rank from tokens, lower is better", width, (width, height), guides
    )
    groups = list(dict.fromkeys((row["codec"], row["frame_rate"], row["codebook_size"]) for row in rows))
    for index, (codec, rate, size) in enumerate(groups):
        colour = _COLOURS[index % len(_COLOURS)]
        parts.append(
            f'<text x="{width - 170}" y="{34 + 14 * index}" fill="{colour}">'
            f"{codec} {rate:.0f}/s, K={size}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_study_report(out: Path, result: dict[str, Any]) -> None:
    """Write the study's ``result`` as ``tokenizer_study.json``, ``.md`` and ``.svg`` into ``out``."""
    (out / "tokenizer_study.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    table = render_study_markdown(
        result["audio"], result["visual"], result["baselines"], result["references"]
    )
    (out / "tokenizer_study.md").write_text(table, encoding="utf-8")
    (out / "tokenizer_study.svg").write_text(
        render_study_svg(result["audio"], result["references"]), encoding="utf-8"
    )
