"""The text channel of the Ref-AVS tasks: a model reads the expressions and nothing that names the answer.

Ref-AVS gives a model text, a channel the other perception tasks do not open. Through the real runner, a
spy sees exactly the clip's expressions (no sample id, object id, kind or null flag), and a cheat that
mines the text for any of those scores like a model that never looks; given a text that did carry the
sample id, the same cheat would reach the oracle.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.synth import generate
from avikit.eval.runner import RunConfig, run_evaluation
from avikit.tasks import encode_mask, get_task

TASKS = ("ref-avs-seen", "ref-avs-null")
COUNT = 3


def _masks(item, value: int) -> list[dict[str, Any]]:
    shape = (len(item.inputs.text) * len(item.inputs.frames), *item.inputs.frame_size)
    return [encode_mask(m) for m in np.full(shape, value, np.int64)]


def _fixed(task, item) -> dict[str, Any]:
    return {"id": item.id, "masks": _masks(item, 0)}


class Constant:
    """Never looks: empty masks for every expression."""

    weights_hash, tasks = "none", TASKS

    def __init__(self) -> None:
        self.id = f"cheat-{type(self).__name__.lower()}"
        self.texts: list[tuple[str, ...]] = []

    def predict(self, task, batch):
        self.texts += [item.inputs.text for item in batch]
        return [self.guess(task, item) for item in batch]

    def guess(self, task, item) -> dict[str, Any]:
        return _fixed(task, item)


class ReadsText(Constant):
    """Mines the expressions for a sample id (then regenerates the truth), or else a null marker."""

    def guess(self, task, item):
        text = " ".join(item.inputs.text)
        found = re.search(r"(test|val|train)_(\d{6})", text)
        if found:
            sample = generate(found.group(1), int(found.group(2)))[0]
            return {**task.oracle_prediction(task.build_target(sample), item.inputs), "id": item.id}
        if re.search(r"\bnull\b|\bobjects?\s*[:=]|\[\d", text):  # a flag or an object list in the text
            return {"id": item.id, "masks": _masks(item, 1)}
        return _fixed(task, item)


def test_the_text_channel_carries_only_the_expressions(tmp_path: Path):
    models = {cls().id: cls() for cls in (Constant, ReadsText)}
    config = RunConfig(tasks=TASKS, models=tuple(models), num_samples=COUNT, batch_size=2)
    results = run_evaluation(config, tmp_path, models=models)
    expected = []
    for task_name in TASKS:
        task = get_task(task_name)
        samples = [s for s in (generate("test", i)[0] for i in range(COUNT)) if task.includes(s)]
        expected += [task.build_inputs(s).text for s in samples]
    seen = models["cheat-constant"].texts
    assert sorted(seen) == sorted(expected) and all(seen)
    for task_name in TASKS:
        cells = {c["model_id"]: c for c in results["cells"] if c["task"] == task_name}
        assert all(cell["complete"] for cell in cells.values())
        assert cells["cheat-readstext"]["scores"] == cells["cheat-constant"]["scores"], task_name


def test_the_cheat_would_win_if_the_text_named_the_clip():
    task, sample = get_task("ref-avs-seen"), generate("test", 1)[0]
    inputs = task.build_inputs(sample)

    view = inputs.model_view("item-1", task.spec.inputs)
    leaky = dataclasses.replace(view, text=(*view.text[:-1], f"{view.text[-1]} {sample.id}"))

    class Open:
        id, inputs = "item-1", leaky

    truth = task.oracle_prediction(task.build_target(sample), inputs)["masks"]
    assert ReadsText().guess(task, Open())["masks"] == truth
