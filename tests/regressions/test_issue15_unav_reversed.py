"""Issue 15: UnAV-100 detections that end before they start are scored as the official scorer scores them.

Golden: ``libs/utils/metrics.py::ANETdetection.evaluate`` of ttgeng233/UnAV (1609deba4f) on predictions of
which every 5th is reversed, plus constructed cases (``unav_reversed.json``). Officially the tIoU of a
reversed detection is ``0 / union``: 0 (a miss) when the union is positive, -0.0 (a miss) when it is
negative, and NaN when the reversed length equals the event's, which passes every threshold (a hit).
"""

from __future__ import annotations

import logging

import pytest

from avikit.data.synth import generate
from avikit.metrics import evaluate_unav_detection
from avikit.tasks.dense_localization import DenseLocalizationTask
from tests.regressions._golden import inputs, load_golden


def test_reversed_detections_score_as_the_official_scorer(caplog):
    record, data = load_golden("unav_reversed"), inputs.unav_reversed_inputs()
    assert (
        inputs.digest(data["pred_segments"], data["pred_scores"], data["gt_segments"])
        == record["input_digest"]
    )
    with caplog.at_level(logging.WARNING, logger="avikit.metrics.detection"):
        assert evaluate_unav_detection(**data) == record["scores"]
    assert "end before they start" in caplog.text  # scored, and said so


def test_a_swapped_true_event_is_a_hit_and_other_reversed_ones_are_misses():
    gt = (["v", "v"], [[2.0, 5.0], [6.0, 7.0]], [0, 0])
    swapped = evaluate_unav_detection(*gt, ["v"], [[5.0, 2.0]], [0], [0.9])  # tIoU 0/0: a hit
    shorter = evaluate_unav_detection(*gt, ["v"], [[4.0, 2.0]], [0], [0.9])  # tIoU 0: a miss
    assert swapped["map@0.9"] == 0.5 and shorter["average_map"] == 0.0


def test_reversed_ground_truth_is_refused_with_its_row():
    with pytest.raises(ValueError, match=r"gt_segments row 1 ends before it starts \(3.0 > 1.0\)"):
        evaluate_unav_detection(["v", "v"], [[0.0, 1.0], [3.0, 1.0]], [0, 0], ["v"], [[0.0, 1.0]], [0], [1.0])


def test_the_task_accepts_and_scores_reversed_detections():
    task = DenseLocalizationTask()
    sample, _ = generate("test", 1)
    inputs_, target = task.build_inputs(sample), task.build_target(sample)
    label, start, end = target["events"][0]
    record = {"id": sample.id, "events": [{"label": label, "start": end, "end": start, "score": 0.9}]}
    prediction = task.check_prediction(record, inputs_, "predictions.jsonl:1")
    scores = task.evaluate([prediction], [target]).scores
    expected = evaluate_unav_detection(
        [0] * len(target["events"]), [[a, b] for _, a, b in target["events"]],
        [task.vocabularies()["classes"].index(c) for c, _, _ in target["events"]],
        [0], [[end, start]], [task.vocabularies()["classes"].index(label)], [0.9],
    )  # fmt: skip
    assert scores == expected and scores["map@0.9"] > 0  # the swapped true event is a hit, as officially
