"""Generation tasks: inputs, targets, file predictions, oracle beats chance, schema errors."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from avikit.data.synth import SynthConfig, avsynth_profile, generate
from avikit.tasks.generation import A2VTask, CodecReconstructionTask, JointGenerationTask, V2ATask
from avikit.tasks.schema import PredictionError

CONFIG = SynthConfig(duration=Fraction(2), size=32)
PROFILE = avsynth_profile(CONFIG)  # the tasks read the geometry of the set they score


@pytest.fixture(scope="module")
def sample():
    return generate("test", 0, config=CONFIG)[0]


@pytest.mark.parametrize("task_class", [V2ATask, A2VTask, JointGenerationTask, CodecReconstructionTask])
def test_oracle_beats_chance(task_class, sample, tmp_path):
    task = task_class().for_dataset(PROFILE)
    inputs = task.build_inputs(sample)
    assert inputs.audio == (0, 32000) and len(inputs.frames) == 16
    target = task.build_target(sample)
    oracle = task.check_prediction(task.oracle_prediction(target, inputs, tmp_path), inputs, "oracle")
    chance = task.chance_prediction(inputs, np.random.default_rng(0), tmp_path)
    best, worst = task.evaluate([oracle], [target]).scores, task.evaluate([chance], [target]).scores
    for key in task.spec.metrics:
        better = best[key] < worst[key] if key in task.spec.lower_is_better else best[key] > worst[key]
        assert better, key
    assert task.spec.pillar == "generation" and task.spec.primary_metric in best


def test_missing_file_is_a_prediction_error(sample):
    task = V2ATask().for_dataset(PROFILE)
    target = task.build_target(sample)
    with pytest.raises(PredictionError):
        task.evaluate([{"id": sample.id, "audio": "nowhere.npy"}], [target])
