"""Reference-parity tests: avikit's metrics against golden values made by running the official scorers."""

from __future__ import annotations

import golden_inputs as inputs
import numpy as np
import pytest

from avikit.metrics import (
    compute_average_precision,
    evaluate_ave_accuracy,
    evaluate_ave_cross_modal,
    evaluate_avqa,
    evaluate_avs_binary,
    evaluate_avs_semantic,
    evaluate_avvp,
    evaluate_classification_accuracy,
    evaluate_multilabel_map,
    evaluate_retrieval,
    evaluate_unav_detection,
)
from avikit.metrics.avvp import compute_avvp_statistics
from avikit.metrics.segmentation import AVSBENCH_F_THRESHOLDS


def test_every_golden_file_records_its_origin(golden):
    for name in ("llp", "ave", "unav", "avsbench", "music_avqa", "cav_mae"):
        record = golden(name)
        assert record["command"].startswith("python tools/golden/make_metrics_golden.py")
        assert len(record["upstream"]["commit"]) == 40
        assert all("reason" in tolerance for tolerance in record["tolerances"].values())


def test_llp_scores_are_bit_exact(golden, reference_data):
    record, data = golden("llp"), inputs.llp_inputs(reference_data)
    assert inputs.digest(data["pred_audio"], data["pred_visual"]) == record["input_digest"]
    assert inputs.digest(data["gt_audio"], data["gt_visual"]) == record["official_ground_truth_digest"]
    assert evaluate_avvp(**data) == record["scores"]
    statistics = compute_avvp_statistics(**data)
    first = record["per_video_first_20"]
    assert statistics["segment_event"][:20].tolist() == first["s"]
    assert statistics["event_audio_visual"][:20].tolist() == first["eav"]


def test_ave_accuracy_and_cross_modal(golden, reference_data):
    record, data = golden("ave"), inputs.ave_accuracy_inputs(reference_data)
    assert inputs.digest(data["scores"], data["labels"]) == record["accuracy_input_digest"]
    assert evaluate_ave_accuracy(data["scores"], data["labels"]) == record["accuracy"]
    labels = np.array([[int(c) for c in row] for row in record["cross_modal_event_labels"]])
    assert labels.shape == (402, 10)
    distances = inputs.ave_cross_modal_distances(labels)
    assert evaluate_ave_cross_modal(distances, labels) == record["cross_modal"]


def test_unav_map_is_bit_exact(golden):
    record, data = golden("unav"), inputs.unav_inputs()
    assert (
        inputs.digest(data["pred_segments"], data["pred_scores"], data["gt_segments"])
        == record["input_digest"]
    )
    assert evaluate_unav_detection(**data) == record["scores"]


def test_avsbench_thresholds_are_the_official_grid(golden):
    assert AVSBENCH_F_THRESHOLDS.tolist() == golden("avsbench")["f_thresholds"]


@pytest.mark.parametrize("batch_size", [1, 2, 4])
def test_avsbench_binary_per_batch_size(golden, batch_size):
    record, data = golden("avsbench"), inputs.avs_binary_inputs()
    expected = record["binary_by_batch_size"][str(batch_size)]
    scores = evaluate_avs_binary(data["logits"], data["masks"], batch_size=batch_size)
    tolerance = record["tolerances"]["binary"]["abs"]
    assert scores == pytest.approx(expected, abs=tolerance)


@pytest.mark.parametrize("batch_size", [1, 2])
def test_avsbench_semantic(golden, batch_size):
    record, data = golden("avsbench"), inputs.avs_semantic_inputs()
    expected = record["semantic_by_batch_size"][str(batch_size)]
    scores = evaluate_avs_semantic(data["predictions"], data["labels"], num_classes=12, batch_size=batch_size)
    tolerance = record["tolerances"]["semantic"]["abs"]
    assert {key: scores[key] for key in expected} == pytest.approx(expected, abs=tolerance)


def test_music_avqa(golden, reference_data):
    record, data = golden("music_avqa"), inputs.avqa_inputs(reference_data)
    kinds = [question.question_type for question in data["questions"]]
    scores = evaluate_avqa(data["logits"], data["labels"], kinds)
    assert scores["overall"] == record["overall"]
    printed = dict(record["printed"])
    # printed with 2 decimals
    assert printed.pop("overall_printed") == pytest.approx(scores["overall"], abs=0.005)
    assert {key: scores[key] for key in printed} == pytest.approx(
        printed, abs=record["tolerances"]["printed"]["abs"]
    )


def test_retrieval_matches_cav_mae_with_ties(golden):
    record = golden("cav_mae")
    scores = evaluate_retrieval(inputs.retrieval_inputs())
    for direction, official in record["retrieval"].items():
        assert scores[f"{direction}_r1"] == official["R1"]
        assert scores[f"{direction}_r5"] == official["R5"]
        assert scores[f"{direction}_r10"] == official["R10"]
        assert scores[f"{direction}_median_rank"] == official["MR"]


def test_classification_matches_cav_mae_and_sklearn(golden):
    record, data = golden("cav_mae"), inputs.classification_inputs()
    ap = compute_average_precision(data["scores"], data["targets"])
    tolerance = record["tolerances"]["multilabel_ap"]["abs"]
    assert ap.tolist() == pytest.approx(record["multilabel_ap"], abs=tolerance)
    assert evaluate_multilabel_map(data["scores"], data["targets"]) == pytest.approx(
        record["multilabel_map"], abs=tolerance
    )
    first = evaluate_classification_accuracy(data["scores"], data["single_labels"], top_k=(1,))
    assert first["top1_accuracy"] == record["single_label_accuracy"]
    last = evaluate_classification_accuracy(
        data["scores"], data["single_labels"], top_k=(1, 5), tie_rule="last"
    )
    assert last["top1_accuracy"] == record["top_k_accuracy_sklearn"]["1"]
    assert last["top5_accuracy"] == record["top_k_accuracy_sklearn"]["5"]
