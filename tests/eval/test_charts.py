"""The report's SVG charts: bars on the metric's declared range, axes with ticks, clean points, bands."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest

from avikit.eval.charts import Bar, Curve, bar_chart, heat_map, metric_range, nice_ticks, robustness_chart

NS = {"s": "http://www.w3.org/2000/svg"}


def _tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # also checks the SVG is well-formed XML


@pytest.mark.parametrize(("low", "high"), [(0, 1), (0, 100), (-3.2, 47.0), (0.001, 0.0042), (-20, 60)])
def test_nice_ticks_cover_the_range_with_round_equal_steps(low: float, high: float) -> None:
    ticks = nice_ticks(low, high)
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1 and 3 <= len(ticks) <= 11
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 2.5, 5)
    assert (
        ticks[0] >= low - 1e-9
        and ticks[0] - step < low
        and ticks[-1] <= high + 1e-9
        and ticks[-1] + step > high
    )


def test_metric_range_is_declared_for_fractions_and_percentages() -> None:
    assert metric_range("fraction", [0.3]) == (0.0, 1.0)
    assert metric_range("percent", [3.0, 7.0]) == (0.0, 100.0)
    low, high = metric_range("dB", [12.3, 31.0])
    assert low == 0.0 and high >= 31.0


def test_a_bar_is_as_long_as_its_value_on_the_declared_range() -> None:
    """0.786 on [0, 1] fills 78.6% of the plot, not the whole of it (the old charts scaled to the maximum)."""
    svg = bar_chart("t", [Bar("model", 0.786, (0.7, 0.85)), Bar("chance", 0.1, None, "baseline")], "fraction",
                    (0.0, 1.0), baseline="chance")  # fmt: skip
    root = _tree(svg)
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("height") == "16"]
    axis = next(r for r in root.iter("{http://www.w3.org/2000/svg}line") if r.get("stroke") == "#444")
    plot = float(axis.get("x2")) - float(axis.get("x1"))
    assert float(bars[0].get("width")) / plot == pytest.approx(0.786, abs=1e-3)  # 0.1 px rounding of 470 px
    assert float(bars[1].get("width")) / plot == pytest.approx(0.1, abs=1e-3)
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert {"0", "0.2", "0.4", "0.6", "0.8", "1"} <= set(labels)
    dashed = root.find(".//s:line[@class='baseline']", NS)
    assert dashed is not None and float(dashed.get("x1")) == pytest.approx(
        float(axis.get("x1")) + 0.1 * plot, abs=0.1
    )


def test_a_gain_that_is_not_significant_is_hatched_and_marked() -> None:
    svg = bar_chart("t", [Bar("weak", 0.12, None, "model", False), Bar("good", 0.6, None, "model", True)],
                    "fraction", (0.0, 1.0))  # fmt: skip
    assert svg.count('fill="url(#hatch)"') == 1 and "0.120 n.s." in svg and "0.600 n.s." not in svg


def test_robustness_curve_has_the_clean_point_apart_for_an_snr_and_bands() -> None:
    curve = Curve("m", (0.9, (0.85, 0.95)), [(0.0, 0.4, (0.3, 0.5)), (10.0, 0.7, (0.6, 0.8))])
    svg = robustness_chart("t", "noise_snr (dB)", [curve], (0.0, 1.0), math.inf)
    root = _tree(svg)
    clean = root.findall(".//s:rect[@class='clean']", NS)
    assert len(clean) == 1 and ">clean<" in svg and "//" in svg
    band = root.find(".//s:polygon[@class='band']", NS)
    assert band is not None and len(band.get("points").split()) == 6  # 3 levels, upper then lower edge
    line = next(p for p in root.iter("{http://www.w3.org/2000/svg}polyline"))
    xs = [float(p.split(",")[0]) for p in line.get("points").split()]
    assert xs == sorted(xs) and float(clean[0].get("x")) + 4 == pytest.approx(xs[-1], abs=0.1)


def test_robustness_curve_puts_a_zero_clean_level_on_the_axis() -> None:
    curve = Curve("m", (0.9, None), [(0.25, 0.6, None), (0.5, 0.3, None)])
    root = _tree(robustness_chart("t", "occlusion", [curve], (0.0, 1.0), 0.0))
    line = next(p for p in root.iter("{http://www.w3.org/2000/svg}polyline"))
    assert len(line.get("points").split()) == 3 and ">clean<" not in ET.tostring(root, encoding="unicode")


def test_heat_map_shades_by_position_and_leaves_missing_pairs_blank() -> None:
    svg = heat_map(
        ["a", "b"], ["t1", "t2"], {("a", "t1"): (1.0, 1.0), ("b", "t1"): (0.0, 0.0), ("a", "t2"): (5.0, 0.5)}
    )
    fills = re.findall(r'<g class="cell"><title>([^<]*)</title><rect [^>]*fill="(#[0-9a-f]{6})"', svg)
    shade = dict(fills)
    assert shade["a / t1: 1.000"] == "#1f4e8c" and shade["b / t1: 0.000"] == "#ffffff"
    assert svg.count('fill="#f6f6f6"') == 1  # b / t2 did not run
