"""Inline SVG charts of the offline report: bars on a metric's range, robustness curves, a heat map.

Every chart draws its axes with ticks; bars start at the low end of the metric's declared range (a fraction
on [0, 1], a percentage on [0, 100]), so a 0.786 looks like 79% of the way, not like the longest bar. The
strongest trivial baseline is a dashed line across the bars, and a bar whose gain over it is not
significant is drawn hatched with ``n.s.``. Robustness curves show the clean point (joined to the curve, or
apart at the right end when clean is an infinite level, as for ``noise_snr``) and the 95% intervals as
bands. Labels never overlap: each bar has its own row, long labels are cut with the full text in a tooltip.

Example:
    >>> svg = bar_chart("avel: accuracy", [Bar("avel-model", 0.786, (0.70, 0.85))], "fraction", (0.0, 1.0))
    >>> svg.startswith("<svg") and "0.786" in svg and ">1<" in svg
    True
    >>> nice_ticks(0.0, 1.0)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

__all__ = [
    "COLOURS",
    "Bar",
    "Curve",
    "bar_chart",
    "heat_map",
    "metric_range",
    "nice_ticks",
    "robustness_chart",
]

COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7")
"""The series colours (Tableau 10), in order."""

_FONT = 'font-size="11" font-family="sans-serif"'


@dataclass(frozen=True)
class Bar:
    """One bar: ``label``, ``value``, 95% ``ci`` and its role.

    Attributes:
        role: ``"model"``, ``"baseline"`` (a trivial baseline) or ``"oracle"`` (an upper bound).
        significant: whether the gain over the strongest baseline is significant (``None``: not tested).
    """

    label: str
    value: float
    ci: tuple[float, float] | None = None
    role: str = "model"
    significant: bool | None = None


@dataclass(frozen=True)
class Curve:
    """One robustness curve: the ``clean`` point and ``points`` ``(level, value, ci or None)``."""

    label: str
    clean: tuple[float, tuple[float, float] | None] | None
    points: Sequence[tuple[float, float, tuple[float, float] | None]]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]`` with about ``count`` steps of 1, 2 or 5 x 10^k."""
    if not high > low:
        return [low]
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    k = 0
    while first + k * step <= high + step * 1e-9:
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


def metric_range(unit: str, values: Sequence[float]) -> tuple[float, float]:
    """The declared range of a score in ``unit``, else the values' range with 0 included.

    A fraction lies on [0, 1] and a percentage on [0, 100]; any other unit gets its values' range with 0 in
    it, widened to round ticks.

    Example:
        >>> metric_range("percent", [3.0]), metric_range("dB", [12.3, 31.0])
        ((0.0, 100.0), (0.0, 40.0))
    """
    if unit == "fraction":
        return 0.0, 1.0
    if unit == "percent":
        return 0.0, 100.0
    finite = [v for v in values if math.isfinite(v)]
    low, high = min([0.0, *finite]), max([0.0, *finite])
    if high <= low:
        high = low + 1.0
    ticks = nice_ticks(low, high)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return float(min(low, ticks[0])), float(max(high, ticks[-1] if ticks[-1] >= high else ticks[-1] + step))


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _tick_label(value: float) -> str:
    return f"{value:g}"


def _x_axis(x0: float, x1: float, y: float, low: float, high: float, top: float) -> list[str]:
    """A horizontal axis at ``y`` from ``low`` (at ``x0``) to ``high`` (at ``x1``), grid up to ``top``."""
    parts = [f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#444"/>']
    for tick in nice_ticks(low, high):
        x = x0 + (tick - low) / (high - low) * (x1 - x0)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y:.1f}" y2="{y + 4:.1f}" stroke="#444"/>')
        parts.append(_text(x, y + 15, _tick_label(tick), "middle"))
    return parts


def _cut(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(
    title: str, bars: Sequence[Bar], unit: str, value_range: tuple[float, float], baseline: str | None = None
) -> str:
    """Horizontal ``bars`` with 95% interval whiskers on ``value_range`` (in ``unit``), under ``title``.

    ``baseline`` is the label of the strongest trivial baseline among the bars, drawn as a dashed line.
    """
    width, row, left, right = 720, 24, 250, 80
    top = 24
    height = top + row * len(bars) + 40
    low, high = value_range
    plot = width - left - right

    def x(value: float) -> float:
        return left + (min(max(value, low), high) - low) / (high - low) * plot

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" {_FONT} role="img">',
             '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="6" height="6" fill="#c9d6e8"/>'
             '<line x1="0" y1="0" x2="0" y2="6" stroke="#4e79a7" stroke-width="2"/></pattern></defs>',
             _text(4, 14, f"{title} ({unit})", extra=' font-weight="bold"')]  # fmt: skip
    bottom = top + row * len(bars)
    parts += _x_axis(left, left + plot, bottom + 4, low, high, top)
    for k, bar in enumerate(bars):
        y = top + k * row
        colour = {"baseline": "#9c9c9c", "oracle": "#59a14f"}.get(bar.role, COLOURS[0])
        fill = "url(#hatch)" if bar.significant is False else colour
        parts.append(f"<g><title>{escape(bar.label)}</title>{_text(4, y + 15, _cut(bar.label, 38))}</g>")
        if not math.isfinite(bar.value):  # e.g. the PSNR of identical frames: no bar, the value as text
            parts.append(_text(width - right + 6, y + 15, str(bar.value)))
            continue
        length = x(bar.value) - x(low)
        parts.append(
            f'<rect x="{x(low):.1f}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" fill="{fill}"/>'
        )
        if bar.ci is not None:
            mid = y + row / 2
            ends = f'x1="{x(bar.ci[0]):.1f}" x2="{x(bar.ci[1]):.1f}"'
            parts.append(f'<line {ends} y1="{mid:.1f}" y2="{mid:.1f}" stroke="black"/>')
        mark = {"baseline": " baseline", "oracle": " oracle"}.get(bar.role, "")
        mark += " n.s." if bar.significant is False else ""
        parts.append(_text(width - right + 6, y + 15, f"{bar.value:.3f}{mark}"))
    chosen = [b for b in bars if b.label == baseline and math.isfinite(b.value)]
    if chosen:
        bx = x(chosen[0].value)
        parts.append(f'<line class="baseline" x1="{bx:.1f}" x2="{bx:.1f}" y1="{top - 2}" y2="{bottom + 4}" '
                     'stroke="#333" stroke-dasharray="4 3"/>')  # fmt: skip
    note = "dashed: strongest baseline; hatched, n.s.: gain over it not significant (paired 95% CI)"
    parts.append(_text(left, height - 4, note, extra=' fill="#555"'))
    parts.append("</svg>")
    return "".join(parts)


def _positions(levels: Sequence[float], clean: float) -> tuple[float, float, bool]:
    """The numeric x range of the sweep and whether the clean level sits apart (an infinite level)."""
    finite = [*levels, *([clean] if math.isfinite(clean) else [])]
    low, high = min(finite), max(finite)
    if high <= low:  # one level: from 0 (or up to 0) to it
        low, high = min(low, 0.0), max(high, 0.0)
        high = high if high > low else low + 1.0
    return low, high, not math.isfinite(clean)


def robustness_chart(
    title: str, corruption: str, curves: Sequence[Curve], value_range: tuple[float, float], clean_level: float
) -> str:
    """Score on ``value_range`` against the level of ``corruption``, one of ``curves`` per model.

    The clean point sits at ``clean_level``, the level that equals no corruption (0 for most; ``inf`` for an
    SNR, drawn apart at the right end); 95% intervals are bands.
    """
    width, height, left, top, bottom_pad, legend = 720, 280, 56, 26, 46, 190
    levels = [p[0] for c in curves for p in c.points]
    x_low, x_high, apart = _positions(levels or [0.0], clean_level)
    plot_right = width - legend - (50 if apart else 10)
    bottom = height - bottom_pad
    y_low, y_high = value_range

    def sx(level: float) -> float:
        if not math.isfinite(level):
            return plot_right + 36
        return left + (level - x_low) / (x_high - x_low) * (plot_right - left)

    def sy(value: float) -> float:
        return bottom - (min(max(value, y_low), y_high) - y_low) / (y_high - y_low) * (bottom - top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" {_FONT} role="img">',
             _text(4, 14, title, extra=' font-weight="bold"')]  # fmt: skip
    parts += _x_axis(left, plot_right, bottom, x_low, x_high, top)
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="#444"/>')
    for tick in nice_ticks(y_low, y_high):
        parts.append(f'<line x1="{left - 4}" x2="{plot_right}" y1="{sy(tick):.1f}" y2="{sy(tick):.1f}" '
                     'stroke="#eee"/>')  # fmt: skip
        parts.append(_text(left - 6, sy(tick) + 4, _tick_label(tick), "end"))
    if apart:
        parts.append(_text(sx(clean_level), bottom + 15, "clean", "middle"))
        parts.append(_text(plot_right + 18, bottom + 4, "//", "middle"))
    parts.append(
        _text((left + plot_right) / 2, height - 8, f"{corruption}, clean = {clean_level:g}", "middle")
    )
    for k, curve in enumerate(curves):
        colour = COLOURS[k % len(COLOURS)]
        points = sorted(curve.points)
        if curve.clean is not None:
            points = sorted([*points, (clean_level, *curve.clean)], key=lambda p: p[0])
        band = [(lv, ci) for lv, _, ci in points if ci is not None]
        if len(band) >= 2:
            outline = [f"{sx(lv):.1f},{sy(ci[1]):.1f}" for lv, ci in band]
            outline += [f"{sx(lv):.1f},{sy(ci[0]):.1f}" for lv, ci in reversed(band)]
            parts.append(f'<polygon class="band" points="{" ".join(outline)}" fill="{colour}" '
                         'fill-opacity="0.18" stroke="none"/>')  # fmt: skip
        path = " ".join(f"{sx(lv):.1f},{sy(v):.1f}" for lv, v, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for lv, v, ci in points:
            shape = "rect" if lv == clean_level else "circle"
            tip = f"{curve.label}: {v:.3f} at {'clean' if lv == clean_level else f'{lv:g}'}"
            tip += f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
            if shape == "rect":
                mark = (f'<rect class="clean" x="{sx(lv) - 4:.1f}" y="{sy(v) - 4:.1f}" width="8" height="8" '
                        f'fill="{colour}"/>')  # fmt: skip
            else:
                mark = f'<circle cx="{sx(lv):.1f}" cy="{sy(v):.1f}" r="3.5" fill="{colour}"/>'
            parts.append(f"<g><title>{escape(tip)}</title>{mark}</g>")
        name = _text(width - legend + 8, top + 8 + 15 * k, _cut(curve.label, 30), extra=f' fill="{colour}"')
        parts.append(f"<g><title>{escape(curve.label)}</title>{name}</g>")
    parts.append(
        _text(width - legend + 8, top + 8 + 15 * len(curves), "■ clean, band: 95% CI", extra=' fill="#555"')
    )
    parts.append("</svg>")
    return "".join(parts)


def _shade(fraction: float) -> str:
    """White (0) to dark blue (1)."""
    f = min(max(fraction, 0.0), 1.0)
    rgb = [round(255 + (c - 255) * f) for c in (0x1F, 0x4E, 0x8C)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def heat_map(
    rows: Sequence[str], columns: Sequence[str], cells: Mapping[tuple[str, str], tuple[float, float]]
) -> str:
    """A model-by-task grid: ``cells[(row, column)] = (value, position on its range in [0, 1])``.

    The position is where the value lies on its metric's range, 1 being best (already flipped for a
    lower-is-better score); blank cells are model-task pairs that did not run.
    """
    cell_w, cell_h, left, top = max(56, min(92, 720 // max(1, len(columns)))), 24, 220, 90
    width, height = left + cell_w * len(columns) + 80, top + cell_h * len(rows) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" {_FONT} role="img">',
             _text(4, 14, "clean primary score per model and task (colour: position on the metric's range)",
                   extra=' font-weight="bold"')]  # fmt: skip
    for j, column in enumerate(columns):
        cx = left + j * cell_w + cell_w / 2
        parts.append(f'<g><title>{escape(column)}</title><text x="{cx:.1f}" y="{top - 6}" '
                     f'transform="rotate(-30 {cx:.1f} {top - 6})">{escape(_cut(column, 22))}'
                     "</text></g>")  # fmt: skip
    for i, row in enumerate(rows):
        y = top + i * cell_h
        parts.append(f"<g><title>{escape(row)}</title>{_text(4, y + 16, _cut(row, 34))}</g>")
        for j, column in enumerate(columns):
            x = left + j * cell_w
            if (row, column) not in cells:
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="#f6f6f6"/>'
                )
                continue
            value, position = cells[(row, column)]
            fill = _shade(position)
            ink = "white" if position > 0.55 else "black"
            tip = escape(f"{row} / {column}: {value:.3f}")
            number = _text(x + cell_w / 2 - 1, y + 16, f"{value:.3g}", "middle", f' fill="{ink}"')
            parts.append(f'<g class="cell"><title>{tip}</title><rect x="{x}" y="{y}" width="{cell_w - 2}" '
                         f'height="{cell_h - 2}" fill="{fill}"/>{number}</g>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)
