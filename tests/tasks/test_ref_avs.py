"""Ref-AVS tasks: closed-form scores of real clips, the null-set rule, the unseen split, targets vs pixels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avikit.data.synth import generate, load_clip
from avikit.data.synth.classes import COLOURS, OPEN_VOCAB_CLASSES, SEEN_CLASSES
from avikit.tasks import PredictionError, cut_media, encode_mask, get_task
from avikit.tasks.ref_avs import REF_AVS_TASKS, clip_expressions

SEEN = [generate("test", i)[0] for i in range(5)]
UNSEEN = [generate("open_test", i)[0] for i in range(3)]


def _score(name: str, samples, make) -> dict[str, float]:
    task = get_task(name)
    predictions, targets = [], []
    for i, sample in enumerate(samples):
        if not task.includes(sample):
            continue
        inputs, target = task.build_inputs(sample), task.build_target(sample)
        masks = [encode_mask(m) for m in make(inputs, target)]
        record = json.loads(json.dumps({"id": inputs.sample_id, "masks": masks}))
        predictions.append(task.check_prediction(record, inputs, f"p.jsonl:{i + 1}"))
        targets.append(target)
    return task.evaluate(predictions, targets).scores


def _full(inputs, target) -> np.ndarray:
    return np.ones((len(inputs.text) * len(inputs.frames), *inputs.frame_size), dtype=np.int64)


def test_full_frame_masks_score_their_closed_form():
    """Every pixel on: IoU = |G| / HW (0 on a frame without the object); F = 1.3 P / (0.3 P + 1), P = |G| / HW."""
    task = get_task("ref-avs-seen")
    masks = np.concatenate([task.build_target(s)["masks"] for s in SEEN])  # [V, T, H, W] pairs in order
    share = masks.sum(axis=(2, 3)) / (masks.shape[2] * masks.shape[3])  # [V, T]
    ious, fs = [], []
    for start in range(0, len(masks), 4):
        part = share[start : start + 4]
        ious.append(part.mean())
        present = part[part > 0]
        fs.append((1.3 * present / (0.3 * present + 1)).mean() if present.size else 0.0)
    scores = _score("ref-avs-seen", SEEN, _full)
    # float32 arithmetic against float64 closed forms over a few hundred frames
    assert scores["miou"] == pytest.approx(np.mean(ious), abs=1e-5)
    assert scores["f_score"] == pytest.approx(np.mean(fs), abs=1e-5)


def test_null_set_rule_empty_is_perfect_full_is_worst_half_is_root_half():
    empty = _score("ref-avs-null", SEEN, lambda i, t: np.zeros_like(_full(i, t)))
    full = _score("ref-avs-null", SEEN, _full)

    def half(inputs, target):
        masks = np.zeros_like(_full(inputs, target))
        masks[:, : inputs.frame_size[0] // 2] = 1
        return masks

    assert empty == {"s": 0.0, "miou": pytest.approx(1.0, abs=1e-6)}  # 1 up to the official 1e-7 epsilon
    assert full == {"s": 1.0, "miou": 0.0}
    assert _score("ref-avs-null", SEEN, half)["s"] == pytest.approx(np.sqrt(0.5), abs=1e-6)  # float32 sqrt


def test_oracle_is_perfect_and_chance_is_far_below_on_every_set():
    for name, samples in (("ref-avs-seen", SEEN), ("ref-avs-unseen", UNSEEN), ("ref-avs-null", SEEN)):
        oracle = _score(name, samples, lambda i, t: np.asarray(t["masks"]).reshape(-1, *i.frame_size))
        rng = np.random.default_rng(0)  # two clips: random masks run-length encode to ~8000 runs each
        chance = _score(name, samples[:2], lambda i, t, rng=rng: rng.integers(0, 2, _full(i, t).shape))
        if name == "ref-avs-null":
            assert oracle["s"] == 0.0
            # half the pixels on: sqrt(1/2) up to the binomial spread of ~10^5 pixels per batch
            assert chance["s"] == pytest.approx(np.sqrt(0.5), abs=0.01)
        else:
            assert oracle == pytest.approx({"miou": 1.0, "f_score": 1.0}, abs=1e-6)  # float32 rounding
            assert chance["miou"] < 0.3


def test_the_three_sets_split_as_ref_avs_does():
    seen, unseen, null = (get_task(name) for name in REF_AVS_TASKS)
    assert [t.spec.protocol.split for t in (seen, unseen, null)] == ["test", "open_test", "test"]
    assert null.spec.lower_is_better == ("s",) and null.spec.primary_metric == "s"
    assert not seen.includes(UNSEEN[0]) and not unseen.includes(SEEN[0])
    for sample in UNSEEN:
        words = " ".join(unseen.build_inputs(sample).text + null.build_inputs(sample).text)
        assert not any(f" {c} " in f" {words} " for c in SEEN_CLASSES)  # unseen clips never name a seen class
    for sample in SEEN:
        words = " ".join(seen.build_inputs(sample).text + null.build_inputs(sample).text)
        assert not any(f" {c} " in f" {words} " for c in OPEN_VOCAB_CLASSES)
        assert all(not m.any() for m in null.build_target(sample)["masks"])


def test_colour_expressions_mask_pixels_of_that_colour():
    """The target of "the <colour> object" covers rendered pixels whose nearest palette colour is that one."""
    task, palette = get_task("ref-avs-seen"), np.array(list(COLOURS.values()), dtype=float)
    checked = 0
    for sample in SEEN:
        frames, _ = cut_media(load_clip(sample), task.build_inputs(sample))  # [T, H, W, 3]
        target = task.build_target(sample)["masks"]
        for expression, mask in zip(clip_expressions(sample, False), target, strict=True):
            if expression["kind"] != "colour" or not mask.any():
                continue
            pixels = frames[mask == 1].astype(float)  # [P, 3]
            nearest = np.argmin(((pixels[:, None] - palette[None]) ** 2).sum(-1), axis=1)
            word = expression["text"].split()[1]
            assert list(COLOURS)[np.bincount(nearest).argmax()] == word, expression
            checked += 1
    assert checked >= 3


def test_a_prediction_needs_one_mask_per_frame_per_expression():
    task = get_task("ref-avs-seen")
    inputs = task.build_inputs(SEEN[0])
    masks = [encode_mask(np.zeros(inputs.frame_size, dtype=np.int64))] * len(inputs.frames)
    expected = len(inputs.text) * len(inputs.frames)
    assert len(inputs.text) > 1
    with pytest.raises(
        PredictionError, match=f"field 'masks': expected a list of {expected} run-length masks"
    ):
        task.check_prediction({"id": inputs.sample_id, "masks": masks}, inputs, "p.jsonl:1")
