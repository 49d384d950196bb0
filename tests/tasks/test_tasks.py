"""Tasks: pinned inputs (snapshot), schemas and errors, oracle at the maximum, chance near chance."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

from avikit.data.synth import generate
from avikit.tasks import TASKS, PredictionError, Protocol, describe_task, get_task
from avikit.tasks.generation import GenerationTask
from avikit.tasks.language import LANGUAGE_TASKS

SAMPLES = [generate("test", i)[0] for i in range(12)]
SEGMENTS = ((0, 8, 0, 16000), (8, 16, 16000, 32000))
ALL = ((0, 1, 2), 79, 80, (0, 160000))
# (sample id, first three frames, last frame, frame count, audio window, first two segments, first text)
SNAPSHOT = {
    "avel": [("test_000000", *ALL, SEGMENTS, ()), ("test_000001", *ALL, SEGMENTS, ())],
    "avel-cross-modal": [("test_000000", *ALL, SEGMENTS, ()), ("test_000001", *ALL, SEGMENTS, ())],
    "avvp": [("test_000000", *ALL, SEGMENTS, ()), ("test_000001", *ALL, SEGMENTS, ())],
    "dense-localization": [("test_000000", *ALL, (), ()), ("test_000001", *ALL, (), ())],
    "avs-binary": [("test_000000", (7, 15, 23), 39, 5, (0, 80000), (), ()),
                   ("test_000001", (7, 15, 23), 39, 5, (0, 80000), (), ())],
    "avs-semantic": [("test_000000", (7, 15, 23), 39, 5, (0, 80000), (), ()),
                     ("test_000001", (7, 15, 23), 39, 5, (0, 80000), (), ())],
    "source-localization": [("test_000000", (19,), 19, 1, (14000, 62000), (), ()),
                            ("test_000001", (55,), 55, 1, (86000, 134000), (), ())],
    "retrieval": [("test_000000", *ALL, (), ()), ("test_000001", *ALL, (), ())],
    "classification": [("test_000000", *ALL, (), ()), ("test_000001", *ALL, (), ())],
    "classification-multilabel": [("test_000000", *ALL, (), ()), ("test_000001", *ALL, (), ())],
    "sync": [("test_000000", (20, 21, 22), 59, 40, (49600, 129600), (), ()),
             ("test_000001", (20, 21, 22), 59, 40, (68800, 148800), (), ())],
    "avqa": [("test_000000", *ALL, (), ("How many sound sources are heard throughout the video?",)),
             ("test_000001", *ALL, (), ("How many sound sources are heard throughout the video?",))],
    **{name: [("test_000000", *ALL, (), ("an engine buzzes in the middle while a whistle hums in the middle",)),
              ("test_000001", *ALL, (), ("a snake hisses on the right",))]
       for name in ("v2a", "a2v", "joint-generation", "codec-reconstruction")},
    **{name: [("test_000000", (0, 4, 8), 76, 20, (0, 160000), (), (first0,)),
              ("test_000001", (0, 4, 8), 76, 20, (0, 160000), (), (first1,))]
       for name, first0, first1 in (
           ("avqa-words", "How many sound sources are heard throughout the video? Answer in one word.",
            "How many sound sources are heard throughout the video? Answer in one word."),
           ("avqa-choice",
            "How many sound sources are heard throughout the video? (A) five (B) two (C) three (D) one Answer with the letter.",
            "How many sound sources are heard throughout the video? (A) one (B) four (C) two (D) three Answer with the letter."),
           ("av-caption", "Describe what you see and hear.", "Describe what you see and hear."),
           ("av-grounding", "When does the engine sound?", "When does the snake sound?"),
           ("av-hallucination", "Is there a sound of an engine? Answer yes or no.",
            "Is there a sound of a snake? Answer yes or no."),
           ("av-faithfulness",
            "How many sound sources are heard throughout the video? Answer in one word, then give the evidence.",
            "How many sound sources are heard throughout the video? Answer in one word, then give the evidence."))},
}  # fmt: skip
MAXIMUM = {"avs-semantic"}  # the official means run over all classes; the maximum is the share present
GENERATION = {"v2a", "a2v", "joint-generation", "codec-reconstruction"}
LANGUAGE = set(LANGUAGE_TASKS)  # scored from text by parsing rules: tests/tasks/test_language_tasks.py


@pytest.mark.parametrize("name", list(TASKS))
def test_inputs_snapshot(name: str) -> None:
    task = get_task(name)
    rows = []
    for sample in SAMPLES[:4]:
        if task.includes(sample):
            inp = task.build_inputs(sample)
            rows.append((sample.id, inp.frames[:3], inp.frames[-1], len(inp.frames), inp.audio, inp.segments[:2],
                         inp.text[:1]))  # fmt: skip
    assert rows[:2] == SNAPSHOT[name]


def test_registry_lists_every_required_task_with_its_source() -> None:
    required = {"avel", "avel-cross-modal", "avvp", "dense-localization", "avs-binary", "avs-semantic",
                "source-localization", "retrieval", "classification", "sync", "avqa"}  # fmt: skip
    assert required <= set(TASKS)
    info = describe_task("avvp")
    assert info["defined_in"] == "avikit.tasks.avvp:AVVPTask" and info["source"].endswith(
        ".py:" + info["source"].split(":")[-1]
    )
    assert info["version"] == 1 and len(info["protocol_hash"]) == 16


def test_protocol_hash_moves_with_the_protocol_not_the_prose() -> None:
    spec = get_task("avel").spec
    assert dataclasses.replace(spec, description="other words").protocol_hash == spec.protocol_hash
    assert dataclasses.replace(spec, protocol=Protocol(fps=25)).protocol_hash != spec.protocol_hash
    assert dataclasses.replace(spec, version=2).protocol_hash != spec.protocol_hash


def test_every_score_has_a_unit_and_generation_scores_their_own() -> None:
    for name in TASKS:
        spec = get_task(name).spec
        assert all(spec.unit_of(metric) for metric in spec.metrics)
    a2v, codec = get_task("a2v").spec, get_task("codec-reconstruction").spec
    assert (a2v.unit, a2v.unit_of("psnr"), a2v.unit_of("ssim")) == ("dB", "dB", "fraction")
    assert (codec.unit_of("mel_distance"), codec.unit_of("si_sdr")) == ("log10-mel L1", "dB")
    assert dataclasses.replace(a2v, metric_units={"ssim": "percent"}).protocol_hash != a2v.protocol_hash
    with pytest.raises(KeyError, match="has no score"):
        a2v.unit_of("mel_distance")
    with pytest.raises(ValueError, match="not scores of"):
        dataclasses.replace(a2v, metric_units={"fid": "squared distance"})
    with pytest.raises(ValueError, match="primary score"):
        dataclasses.replace(a2v, metric_units={"psnr": "fraction"})


def _run(name: str, kind: str) -> dict[str, float]:
    task = get_task(name)
    samples = [s for s in SAMPLES if task.includes(s)]
    rng = np.random.default_rng(0)
    preds, targets = [], []
    for i, sample in enumerate(samples):
        inputs, target = task.build_inputs(sample), task.build_target(sample)
        folder = (Path(tempfile.mkdtemp()),) if isinstance(task, GenerationTask) else ()
        raw = (
            task.oracle_prediction(target, inputs, *folder)
            if kind == "oracle"
            else task.chance_prediction(inputs, rng, *folder)
        )
        preds.append(task.check_prediction(json.loads(json.dumps(raw)), inputs, f"p.jsonl:{i + 1}"))
        targets.append(target)
    return task.evaluate(preds, targets).scores


@pytest.mark.parametrize("name", sorted(GENERATION))
def test_oracle_generation_is_a_perfect_reconstruction(name: str) -> None:
    best = {"mel_distance": 0.0, "ssim": 1.0, "psnr": np.inf}
    for key, value in _run(name, "oracle").items():
        if key == "si_sdr":
            assert value > 100.0  # float32 round-off only
        else:
            # float32 metrics of identical media: 0 or 1 up to float32 rounding
            assert value == pytest.approx(best[key], abs=1e-6), key


@pytest.mark.parametrize("name", sorted(set(TASKS) - MAXIMUM - GENERATION - LANGUAGE))
def test_oracle_reaches_the_maximum_of_every_metric(name: str) -> None:
    task = get_task(name)
    scores = _run(name, "oracle")
    best = 100.0 if task.spec.unit == "percent" else 1.0
    for key, value in scores.items():
        if np.isnan(value):
            continue
        expected = 1.0 if key in task.spec.lower_is_better else best
        # float32 metrics: 1 up to float32 rounding
        assert value == pytest.approx(expected, abs=1e-6), key


def test_semantic_oracle_reaches_the_share_of_classes_present() -> None:
    task = get_task("avs-semantic")
    present = set()
    for sample in SAMPLES:
        present |= set(np.unique(task.build_target(sample)["masks"]).tolist())
    scores = _run("avs-semantic", "oracle")
    assert scores["miou"] == pytest.approx(len(present) / 28, abs=1e-6)
    assert scores["f_score"] == pytest.approx(len(present) / 28, abs=1e-6)


@pytest.mark.parametrize(("name", "key", "high"), [("avel", "accuracy", 0.15), ("sync", "accuracy", 0.25),
                                                   ("classification", "top1_accuracy", 0.3), ("avqa", "overall", 20.0),
                                                   ("source-localization", "ciou", 0.5), ("avvp", "segment_type", 20.0)])  # fmt: skip
def test_chance_is_near_chance(name: str, key: str, high: float) -> None:
    assert _run(name, "chance")[key] <= high


def _avel_inputs():
    task = get_task("avel")
    return task, task.build_inputs(SAMPLES[0])


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([1, 2], "p.jsonl:3: expected a JSON object"),
        ({"labels": ["bell"] * 10}, "p.jsonl:3: field 'id': expected the sample id as a string"),
        ({"id": "test_000000"}, "p.jsonl:3: field 'labels' is missing"),
        (
            {"id": "test_000000", "labels": ["bell"] * 9},
            "p.jsonl:3: field 'labels': expected a list of 10 label",
        ),
        (
            {"id": "test_000000", "labels": ["bell"] * 9 + ["fog"]},
            "field 'labels': expected labels from the task's",
        ),
        ({"id": "test_000000", "labels": ["bell"] * 10, "x": 1}, "p.jsonl:3: unknown field(s) ['x']"),
        ({"id": "test_000001", "labels": ["bell"] * 10}, "field 'id': expected 'test_000000'"),
    ],
)
def test_bad_prediction_lines_name_line_field_and_expectation(record, message: str) -> None:
    task, inputs = _avel_inputs()
    with pytest.raises(PredictionError) as error:
        task.check_prediction(record, inputs, "p.jsonl:3")
    assert message in str(error.value)


def test_numeric_and_mask_errors() -> None:
    task = get_task("sync")
    inputs = task.build_inputs(SAMPLES[0])
    with pytest.raises(
        PredictionError, match=r"field 'logits': expected a 21 array of finite numbers .*shape \[20\]"
    ):
        task.check_prediction({"id": "test_000000", "logits": [0.0] * 20}, inputs, "f:1")
    with pytest.raises(PredictionError, match="NaN"):
        task.check_prediction({"id": "test_000000", "logits": [float("nan")] * 21}, inputs, "f:1")
    avs = get_task("avs-binary")
    masks = [{"size": [128, 128], "runs": [[0, 100]]}] * 5
    with pytest.raises(PredictionError, match="run counts that add up to H \\* W = 16384"):
        avs.check_prediction({"id": "test_000000", "masks": masks}, avs.build_inputs(SAMPLES[0]), "f:2")
    loc = get_task("source-localization")
    with pytest.raises(PredictionError, match="h dividing 128"):
        loc.check_prediction(
            {"id": "test_000000", "heatmap": [[0.0] * 3] * 3}, loc.build_inputs(SAMPLES[0]), "f:3"
        )
