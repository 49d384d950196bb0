"""The report's comparisons: baseline roles, the strongest baseline, paired gains against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.errors import UsageError
from avikit.eval.report_stats import cell_role, gain_over_baseline, paired_gain, strongest_baseline


def _cell(model: str, score: float, items: list[float] | None = None, reads: bool = False) -> dict:
    cell = {"model_id": model, "scores": {"m": score}, "items": {"m": items} if items else {}}
    return {**cell, "reads_targets": True} if reads else cell


def test_roles_and_the_strongest_baseline() -> None:
    cells = [_cell("oracle", 1.0, reads=True), _cell("chance-seed0", 0.2, reads=True),
             _cell("chance-seed1", 0.3, reads=True), _cell("mine", 0.5)]  # fmt: skip
    assert [cell_role(c) for c in cells] == ["oracle", "baseline", "baseline", "model"]
    assert strongest_baseline(cells, "m")["model_id"] == "chance-seed1"
    assert strongest_baseline(cells, "m", lower_is_better=True)["model_id"] == "chance-seed0"
    assert strongest_baseline(cells[3:], "m") is None


def test_paired_gain_is_the_mean_difference_with_an_interval_around_it() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random(50), rng.random(50)
    gain, (low, high) = paired_gain(a, b, scale=100.0)
    assert gain == pytest.approx(100 * (a - b).mean(), rel=1e-12)  # closed form
    standard_error = 100 * (a - b).std(ddof=1) / np.sqrt(50)
    # the bootstrap interval is about +-1.96 standard errors; 25% slack for 1000 resamples of 50 items
    assert (high - low) == pytest.approx(2 * 1.96 * standard_error, rel=0.25)
    with pytest.raises(UsageError, match="the same items"):
        paired_gain([1.0], [1.0, 2.0])


def test_gain_significance_and_direction() -> None:
    clear = gain_over_baseline(_cell("m", 0.9, [1.0] * 9 + [0.0]), _cell("c", 0.0, [0.0] * 10), "m")
    assert clear[0] == pytest.approx(0.9) and clear[2] is True
    noise = gain_over_baseline(_cell("m", 0.5, [1, 0] * 5), _cell("c", 0.5, [0, 1] * 5), "m")
    assert noise[2] is False and noise[1][0] < 0 < noise[1][1]
    lower = gain_over_baseline(
        _cell("m", 1.0, [1.0] * 10), _cell("c", 3.0, [3.0] * 10), "m", lower_is_better=True
    )
    assert lower[0] == pytest.approx(2.0) and lower[2] is True
    no_items = gain_over_baseline(_cell("m", 0.4), _cell("c", 0.1), "m")
    assert no_items[0] == pytest.approx(0.3) and no_items[1] is None and no_items[2] is None
