"""Reference-parity tests: localisation (LVS, EZ-VSL) and sync (Synchformer) against their golden files."""

from __future__ import annotations

import golden_inputs as inputs
import numpy as np
import pytest

from avikit.metrics import compute_localization_statistics, evaluate_localization, evaluate_sync
from avikit.metrics.sync import compute_sync_statistics


def test_golden_files_record_their_origin(golden):
    for name in ("localization", "sync"):
        record = golden(name)
        assert record["command"].startswith("python tools/golden/make_localization_sync_golden.py")
        assert len(record["upstream"]["commit"]) == 40
        assert all("reason" in tolerance for tolerance in record["tolerances"].values())
    assert len(golden("localization")["upstream"]["also"]["commit"]) == 40


@pytest.fixture(scope="module")
def localization_data():
    return inputs.localization_inputs()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rule", ["lvs", "ezvsl"])
def test_localization_is_bit_exact(golden, localization_data, dtype, rule):
    record = golden("localization")
    assert (
        inputs.digest(localization_data["heatmaps"], localization_data["gt_maps"]) == record["input_digest"]
    )
    official = record["results"][dtype][rule]
    heatmaps = localization_data["heatmaps"].astype(dtype)
    ciou = compute_localization_statistics(heatmaps, localization_data["gt_maps"], rule)["ciou"]
    np.testing.assert_array_equal(ciou, np.array(official["ciou_per_image"]))
    scores = evaluate_localization(heatmaps, localization_data["gt_maps"], rule)
    assert scores["ciou"] == official["ciou"]
    assert scores["auc"] == official["auc"]
    if "mean_ciou" in official:  # EZ-VSL's "Avg-cIoU"
        assert scores["mean_ciou"] == official["mean_ciou"]


def test_lvs_keeps_pixels_at_the_maximum(golden, localization_data):
    """Saturated (image 3) and constant (images 7, 17) maps follow the official LVS mask, not a strict '>'."""
    official = golden("localization")["results"]["float32"]["lvs"]["ciou_per_image"]
    ciou = compute_localization_statistics(localization_data["heatmaps"], localization_data["gt_maps"])[
        "ciou"
    ]
    assert ciou[3] == official[3] > 0
    assert ciou[7] == official[7] > 0  # all-zero map: full mask
    assert ciou[17] == official[17] == 0  # all -1 map: empty mask


def test_sync_distinct_and_binary_are_exact(golden):
    record, data = golden("sync"), inputs.sync_inputs()
    assert inputs.digest(data["logits"], data["tied_logits"], data["binary_logits"]) == record["input_digest"]
    for name, prefix in (("distinct", ""), ("binary", "binary_")):
        official = record["sets"][name]
        scores = evaluate_sync(data[f"{prefix}logits"], data[f"{prefix}labels"])
        assert scores["accuracy"] == official["accuracy_1"]
        assert scores["accuracy_within_one"] == official["accuracy_1_tol1"]


def test_sync_with_exact_ties(golden):
    """Acc@1 follows sklearn's last-index rule; ±1 class is compared where torch.topk's order is defined."""
    official, data = golden("sync")["sets"]["tied"], inputs.sync_inputs()
    logits, labels = data["tied_logits"], data["tied_labels"]
    assert evaluate_sync(logits, labels)["accuracy"] == official["accuracy_1"]
    untied = np.sum(logits == logits.max(axis=1, keepdims=True), axis=1) == 1
    assert 50 < untied.sum() < len(labels)
    top1 = np.array(official["topk_top1"])
    expected = (np.abs(top1 - labels) <= 1).astype(np.float64)
    within = compute_sync_statistics(logits, labels)["within_one_correct"]
    np.testing.assert_array_equal(within[untied], expected[untied])
    assert np.all(logits[np.arange(len(top1)), top1] == logits.max(axis=1))  # torch picks one of the maxima
