"""Small inline SVG charts for the offline report: bars with interval whiskers, and line curves.

Example:
    >>> svg = bar_chart("t", [("a", 0.5, (0.4, 0.6))], "accuracy")
    >>> svg.startswith("<svg") and "0.500" in svg
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart", "line_chart"]

_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7")


def _scale(values: Sequence[float]) -> tuple[float, float]:
    low, high = min([0.0, *values]), max([1e-9, *values])
    return low, high if high > low else low + 1.0


def bar_chart(title: str, bars: Sequence[tuple[str, float, tuple[float, float] | None]], unit: str) -> str:
    """Horizontal bars ``(label, value, interval or None)`` with whiskers for the intervals."""
    width, row, left = 640, 22, 260
    height = 30 + row * len(bars)
    extent = [v for _, v, ci in bars for v in ((v,) if ci is None else (v, *ci)) if math.isfinite(v)]
    low, high = _scale(extent)

    def x(value: float) -> float:
        return left + (value - low) / (high - low) * (width - left - 70)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="11" '
        f'font-family="sans-serif"><text x="4" y="14" font-weight="bold">'
        f"{escape(title)} ({escape(unit)})</text>"
    ]
    for k, (label, value, ci) in enumerate(bars):
        y = 24 + k * row
        colour = _COLOURS[k % len(_COLOURS)]
        parts.append(f'<text x="4" y="{y + 13}">{escape(label[:42])}</text>')
        if not math.isfinite(value):  # e.g. the PSNR of identical frames: no bar, the value as text
            parts.append(f'<text x="{width - 66}" y="{y + 13}">{value}</text>')
            continue
        parts.append(
            f'<rect x="{x(min(0.0, value)):.1f}" y="{y + 3}" width="{abs(x(value) - x(0.0)):.1f}" '
            f'height="{row - 8}" fill="{colour}"/>'
        )
        if ci is not None:
            parts.append(
                f'<line x1="{x(ci[0]):.1f}" x2="{x(ci[1]):.1f}" y1="{y + row / 2:.1f}" '
                f'y2="{y + row / 2:.1f}" stroke="black"/>'
            )
        parts.append(f'<text x="{width - 66}" y="{y + 13}">{value:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _levels(xs: Sequence[float]) -> str:
    """The x levels as text: each level when there are few, else the range."""
    unique = sorted(set(xs))
    if len(unique) <= 6:
        return ", ".join(f"{x:g}" for x in unique)
    return f"{unique[0]:g} .. {unique[-1]:g}"


def line_chart(title: str, xlabel: str, series: Sequence[tuple[str, Sequence[tuple[float, float]]]]) -> str:
    """Curves ``(label, [(x, y), ...])`` on shared axes, with a legend."""
    width, height, pad = 640, 260, 50
    xs = [p[0] for _, points in series for p in points]
    ys = [p[1] for _, points in series for p in points]
    if xs and max(xs) > min(xs):
        x_low, x_high = min(xs), max(xs)
    else:  # one level only: centre it
        middle = xs[0] if xs else 0.0
        x_low, x_high = middle - 1.0, middle + 1.0
    y_low, y_high = _scale(ys)

    def point(px: float, py: float) -> str:
        sx = pad + (px - x_low) / (x_high - x_low) * (width - 2 * pad - 140)
        sy = height - pad - (py - y_low) / (y_high - y_low) * (height - 2 * pad)
        return f"{sx:.1f},{sy:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="11" '
        f'font-family="sans-serif"><text x="4" y="14" font-weight="bold">{escape(title)}</text>',
        f'<text x="{width / 2 - 60:.0f}" y="{height - 10}">{escape(xlabel)}: {_levels(xs)}</text>',
        f'<text x="4" y="{pad}">{y_high:.3g}</text><text x="4" y="{height - pad}">{y_low:.3g}</text>',
    ]
    left, bottom, right = pad, height - pad, width - pad - 140
    axes = f"{left},{pad} {left},{bottom} {right},{bottom}"
    parts.append(f'<polyline points="{axes}" fill="none" stroke="#888"/>')
    for k, (label, points) in enumerate(series):
        colour = _COLOURS[k % len(_COLOURS)]
        path = " ".join(point(px, py) for px, py in sorted(points))
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for px, py in points:  # markers, so a sweep of one level still shows, with its value and level
            cx, cy = point(px, py).split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="3.5" fill="{colour}"/>')
            tx, ty = float(cx) + 5, float(cy) - 5
            parts.append(f'<text x="{tx:.1f}" y="{ty:.1f}" fill="{colour}">{py:.3g} @ {px:g}</text>')
        parts.append(f'<text x="{width - 180}" y="{30 + 14 * k}" fill="{colour}">{escape(label[:30])}</text>')
    parts.append("</svg>")
    return "".join(parts)
