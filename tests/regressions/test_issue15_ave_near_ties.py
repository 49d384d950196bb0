"""Issue 15: AVE A2V/V2A sum distances in float32, as the official Keras model's outputs are summed.

Golden: the evaluation loop of YapengTian/AVE-ECCV18 ``cmm_test.py`` (93f843fed7) run on constructed
distances whose window sums tie in float32 but not in float64 (``ave_near_ties.json``). Predictions read
from JSON arrive as float64; the score must still be the official one.
"""

from __future__ import annotations

import json

import numpy as np

from avikit.metrics import evaluate_ave_cross_modal
from avikit.tasks.avel import AVELCrossModalTask
from tests.regressions._golden import inputs, load_golden


def test_golden_inputs_are_the_recipe():
    record, data = load_golden("ave_near_ties"), inputs.ave_cross_modal_near_ties()
    assert np.array_equal(np.array(record["distances"], dtype=np.float32), data["distances"])
    assert record["event_labels"] == data["event_labels"].tolist()
    assert record["tolerances"]["cross_modal"]["abs"] == 0.0


def test_float64_distances_from_json_score_as_the_official_float32_sums():
    record = load_golden("ave_near_ties")
    distances = np.array(json.loads(json.dumps(record["distances"])))  # float64, as read from a file
    assert distances.dtype == np.float64
    labels = np.array(record["event_labels"])
    assert evaluate_ave_cross_modal(distances, labels) == record["cross_modal"]
    assert evaluate_ave_cross_modal(distances.astype(np.float32), labels) == record["cross_modal"]


def test_the_task_scores_json_predictions_as_the_official_code():
    record = load_golden("ave_near_ties")
    task = AVELCrossModalTask()
    predictions = [{"distances": np.array(d)} for d in record["distances"]]
    targets = [{"events": np.array(e)} for e in record["event_labels"]]
    assert task.evaluate(predictions, targets).scores == record["cross_modal"]
