"""Language tasks: inputs follow the preset, the oracle reaches the maximum, chance does not, bad lines fail."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.data.synth import generate
from avikit.tasks import PredictionError, get_task
from avikit.tasks.language import LANGUAGE_TASKS

MAXIMUM = {
    "avqa-words": 100.0,
    "avqa-choice": 100.0,
    "av-caption": 10.0,
    "av-hallucination": 100.0,
    "av-faithfulness": 100.0,
    "av-grounding": 95.0,
}  # grounding answers are written to 0.1 s


def scored(task, count=6):
    samples = [s for s in (generate("test", i)[0] for i in range(count)) if task.includes(s)]
    return [task.build_inputs(s) for s in samples], [task.build_target(s) for s in samples]


@pytest.mark.parametrize("name", LANGUAGE_TASKS)
def test_oracle_beats_chance_and_the_schema_holds(name):
    task = get_task(name)
    inputs, targets = scored(task)
    oracle = [
        task.check_prediction(task.oracle_prediction(t, i), i, "o")
        for t, i in zip(targets, inputs, strict=True)
    ]
    rng = np.random.default_rng(0)
    chance = [task.check_prediction(task.chance_prediction(i, rng), i, "c") for i in inputs]
    primary = task.spec.primary_metric
    best = task.evaluate(oracle, targets).scores[primary]
    assert best >= MAXIMUM[name]
    assert task.evaluate(chance, targets).scores[primary] < best
    with pytest.raises(PredictionError, match="answers"):
        task.check_prediction({"id": inputs[0].sample_id, "answers": ["x"] * 99}, inputs[0], "bad line")


def test_inputs_follow_the_preset_2fps_whole_audio():
    task = get_task("av-caption")
    inputs = task.build_inputs(generate("test", 1)[0])
    assert inputs.frames == tuple(range(0, 80, 4)) and inputs.audio == (0, 160000)
    assert task.spec.protocol.params["preset"] == "qwen3-omni-eval"


def test_unparsed_choices_count_as_wrong_and_are_reported():
    task = get_task("avqa-choice")
    inputs, targets = scored(task, 3)
    answers = [{"id": i.sample_id, "answers": ["I am not sure"] * len(i.text)} for i in inputs]
    scores = task.evaluate(answers, targets).scores
    assert scores["overall"] == 0.0 and scores["unparsed"] == 100.0


def test_a_refusal_to_everything_scores_zero_grounding():
    task = get_task("av-grounding")
    inputs, targets = scored(task, 4)
    answers = [{"id": i.sample_id, "answers": ["There is no such sound."] * len(i.text)} for i in inputs]
    scores = task.evaluate(answers, targets).scores
    assert scores["miou"] == 0.0 and 0.0 < scores["refusal_accuracy"] < 100.0


@pytest.mark.parametrize("name", LANGUAGE_TASKS)
def test_interval_values_are_the_score_items_grouped_by_clip(name):
    """The bootstrap resamples clips of the same question-weighted mean the score is (not of clip means)."""
    task = get_task(name)
    inputs, targets = scored(task)
    rng = np.random.default_rng(1)
    chance = [task.check_prediction(task.chance_prediction(i, rng), i, "c") for i in inputs]
    evaluation = task.evaluate(chance, targets)
    assert evaluation.item_values, "a language task's primary score needs an interval"
    for key, (values, scale) in evaluation.item_values.items():
        # the same values summed in another order: float64 rounding of a mean of <100 terms is below 1e-12
        assert values.mean() * scale == pytest.approx(evaluation.scores[key], abs=1e-9)
        clips = evaluation.item_samples[key]
        assert len(clips) == len(values) and set(clips.tolist()) <= set(range(len(targets)))
        assert (np.diff(clips) >= 0).all()  # each clip's items in one run, in clip order
