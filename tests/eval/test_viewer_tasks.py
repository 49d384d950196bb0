"""The viewer's lanes: an oracle's predicted lanes equal the true lanes; spans are the targets' own times."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.eval.source import load_eval_data
from avikit.eval.viewer_media import MediaSink
from avikit.eval.viewer_tasks import sample_details
from avikit.tasks import get_task


@pytest.fixture(scope="module")
def sample():
    return load_eval_data(None, "test", 1, 0).samples[0]


def _details(task_name: str, sample, tmp_path, oracle: bool = True) -> dict:
    task = get_task(task_name)
    inputs, target = task.build_inputs(sample), task.build_target(sample)
    prediction = (
        task.oracle_prediction(target, inputs)
        if oracle
        else task.chance_prediction(inputs, np.random.default_rng(0))
    )
    checked = task.check_prediction(prediction, inputs, sample.id)
    media = {
        "frames": None,
        "fps": 8.0,
        "sample_rate": 16000,
        "duration": 10.0,
        "sink": MediaSink(tmp_path, 0),
        "key": "k",
    }
    return sample_details(task, inputs, target, checked, media)


@pytest.mark.parametrize("task", ["avel", "avvp"])
def test_an_oracles_predicted_lanes_equal_the_true_lanes(task: str, sample, tmp_path) -> None:
    lanes = _details(task, sample, tmp_path)["lanes"]
    truth = [lane["segments"] for lane in lanes if lane["kind"] == "truth"]
    predicted = [lane["segments"] for lane in lanes if lane["kind"] == "pred"]
    assert truth == predicted and any(truth)


def test_dense_localization_lanes_are_the_target_events(sample, tmp_path) -> None:
    lanes = _details("dense-localization", sample, tmp_path, oracle=False)["lanes"]
    events = get_task("dense-localization").build_target(sample)["events"]
    assert lanes[0]["kind"] == "truth" and lanes[0]["segments"] == [[s, e, label] for label, s, e in events]
    assert len(lanes[1]["segments"]) <= 20


def test_questions_carry_answers_and_evidence(sample, tmp_path) -> None:
    details = _details("avqa", sample, tmp_path, oracle=False)
    qa, truth = details["qa"], sample.target("qa")
    assert [q["question"] for q in qa] == [t["question"] for t in truth]
    assert [q["truth"] for q in qa] == [t["answer"] for t in truth]
    assert [q["evidence_truth"] for q in qa] == [
        [t["evidence"]["start"], t["evidence"]["end"]] for t in truth
    ]
