"""Settings chosen on val: the variants change only their setting, the choice follows the criterion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avikit.eval.tables import selection_table
from avikit.studies.selection import SELECTIONS, _variants, run_selection


def test_a_sampling_variant_changes_only_its_setting() -> None:
    variants = _variants(SELECTIONS["v2a-flow-guidance"], None)
    assert sorted(float(v) for v, _ in variants.values()) == [2.0, 3.0, 4.0, 5.0, 7.0]
    assert {m.guidance for _, m in variants.values()} == {2.0, 3.0, 4.0, 5.0, 7.0}
    assert len({m.id for _, m in variants.values()}) == 5  # one cell per variant
    vocoders = _variants(SELECTIONS["v2a-flow-vocoder"], None)
    assert {value: m.vocoder is None for value, m in vocoders.values()} == {
        "istft": False,
        "griffin-lim": True,
    }
    joint = _variants(SELECTIONS["joint-guidance"], None)
    assert {m.checkpoint.guidance for _, m in joint.values()} == {2.0, 3.0, 4.0, 5.0, 7.0}


def test_a_trained_setting_needs_its_packages() -> None:
    from avikit.errors import UsageError

    with pytest.raises(UsageError, match="package folder"):
        _variants(SELECTIONS["a2v-sync-weight"], None)


@pytest.mark.slow
def test_the_vocoder_is_chosen_on_val_clips(tmp_path: Path) -> None:
    result = run_selection(SELECTIONS["v2a-flow-vocoder"], tmp_path, num_samples=3)
    assert result["split"] == "val" and {r["value"] for r in result["rows"]} == {"istft", "griffin-lim"}
    best = min(result["rows"], key=lambda r: float(r["scores"]["mel_distance"]))
    assert result["chosen"] == best["value"]
    shipped = next(v for v in result["vs_shipped"] if v["value"] == "istft")
    assert shipped["difference"] == 0.0 and shipped["ci"] == [0.0, 0.0]
    other = next(v for v in result["vs_shipped"] if v["value"] == "griffin-lim")
    rows = {r["value"]: np.mean(r["items"]["mel_distance"]) for r in result["rows"]}
    # lower is better: positive = the candidate's mel distance is below the shipped one's
    assert other["difference"] == pytest.approx(rows["istft"] - rows["griffin-lim"], rel=1e-9)
    header, table = selection_table(result)
    assert header[0] == "vocoder" and any("(shipped)" in row[0] for row in table)
