"""The trivial baselines: schema-valid answers, priors fit on training targets only, the blind AVQA prior."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from avikit.data.synth import generate, load_clip
from avikit.eval.predict import ItemFactory, OpaqueIds, is_reference_baseline, predict_records
from avikit.models.baselines import ConstantModel, PriorModel, is_trivial_baseline
from avikit.models.registry import get_model
from avikit.tasks import get_task

TRAIN = [generate("train", i)[0] for i in range(40)]
TEST = [generate("test", i)[0] for i in range(6)]


def _records(task_name: str, model, samples=TEST):
    task = get_task(task_name)
    chosen = [s for s in samples if task.includes(replace(s, split=task.spec.protocol.split))]
    factory = ItemFactory(
        task, lambda s: load_clip(s), OpaqueIds(b"k"), load_target=lambda s: task.build_target(s)
    )
    return task, chosen, predict_records(task, model, chosen, factory)


@pytest.mark.parametrize("task_name", ConstantModel.tasks)
def test_the_constant_answers_are_valid_and_read_nothing(task_name: str) -> None:
    _, _, records = _records(task_name, ConstantModel())
    assert all("error" not in r for r in records)
    predictions = [r["prediction"] for r in records]
    # the same answer for every clip of the same geometry: nothing of the clip is read
    assert all({k: v for k, v in p.items() if k != "id"} == {k: v for k, v in predictions[0].items() if k != "id"}
               for p in predictions)  # fmt: skip
    if task_name == "avel":
        assert set(predictions[0]["labels"]) == {"background"}


def test_the_prior_is_fit_on_training_targets_and_never_reads_the_test_targets() -> None:
    prior = PriorModel(samples=TRAIN)
    task = get_task("classification")
    counts = Counter(task.build_target(s)["label"] for s in TRAIN if task.includes(replace(s, split="test")))
    _, _, records = _records("classification", prior)
    scores = np.array(records[0]["prediction"]["scores"])
    assert int(np.argmax(scores)) == counts.most_common(1)[0][0]  # the training majority
    assert scores == pytest.approx(
        np.bincount(list(counts.elements()), minlength=27) / counts.total(), abs=1e-6
    )
    # a prior that saw other test targets answers the same: the test targets play no part
    swapped_task = get_task("classification")
    factory = ItemFactory(
        swapped_task, lambda s: load_clip(s), OpaqueIds(b"k"), load_target=lambda s: {"label": 0}
    )
    chosen = [s for s in TEST if swapped_task.includes(s)]
    again = predict_records(swapped_task, prior, chosen, factory)
    assert [r["prediction"] for r in again] == [r["prediction"] for r in records]


def test_the_avqa_prior_answers_the_majority_of_each_question_template() -> None:
    prior = PriorModel(samples=TRAIN)
    _, chosen, records = _records("avqa", prior)
    by_template: dict[str, Counter] = {}
    for sample in TRAIN:
        for q in sample.target("qa"):
            by_template.setdefault(q["question_content"], Counter())[q["answer"]] += 1
    for sample, record in zip(chosen, records, strict=True):
        for q, answer in zip(sample.target("qa"), record["prediction"]["answers"], strict=True):
            expected = by_template.get(q["question_content"])
            if expected is not None:
                assert answer == expected.most_common(1)[0][0], q["question"]


def test_the_mask_prior_is_the_thresholded_training_mean() -> None:
    prior = PriorModel(samples=TRAIN[:12])
    _, _, records = _records("avs-binary", prior)
    assert all("error" not in r for r in records)
    from avikit.tasks.schema import decode_mask

    mask = decode_mask(records[0]["prediction"]["masks"][0], 1, "test")
    assert mask.shape == (128, 128) and 0 < mask.mean() < 1  # a central region, not empty, not full


def test_baselines_are_registered_and_marked() -> None:
    assert is_trivial_baseline(get_model("constant")) and is_trivial_baseline(get_model("chance"))
    assert is_trivial_baseline(get_model("prior")) and not is_trivial_baseline(get_model("oracle"))
    # only chance (seeded by the sample) and the oracle get reference items; the prior reads training data
    assert [is_reference_baseline(get_model(n)) for n in ("oracle", "chance", "constant", "prior")] == [
        True,
        True,
        False,
        False,
    ]
