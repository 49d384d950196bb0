"""Shared pieces of the reference-model tests: a tiny random encoder and one check per contract."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from avikit.data.synth import generate
from avikit.eval.predict import ItemFactory, OpaqueIds
from avikit.models.encoders.av_encoder import build_av_encoder
from avikit.models.encoders.trunk import load_encoder
from avikit.models.protocol import Model
from avikit.nn import save_pretrained
from avikit.tasks import get_task
from avikit.train.feature_sets import build_feature_set
from avikit.train.pretrain import KIND as ENCODER_KIND
from avikit.train.pretrain import PretrainConfig
from avikit.train.recipes import _HEADS, tiny_recipe, train_recipe


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory):
    """A tiny random joint encoder saved as a weights folder (32 px frames, 32 mel bands, width 32)."""
    folder = tmp_path_factory.mktemp("encoder")
    torch.manual_seed(0)
    save_pretrained(
        build_av_encoder(PretrainConfig.tiny().model), PretrainConfig.tiny().model, folder, ENCODER_KIND
    )
    return folder


@pytest.fixture
def feature_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AVIKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def make_samples(task_name, count=2, split="test"):
    """``(sample, clip)`` of the first ``count`` clips of ``split`` that the task scores."""
    task, pairs, index = get_task(task_name), [], 0
    while len(pairs) < count:
        sample, clip = generate(split, index)[:2]
        index += 1
        if task.includes(sample):
            pairs.append((sample, clip))
    return pairs


def items_of(task, pairs, output_dir=None):
    """The items the harness gives a model for ``(sample, clip)`` pairs: opaque ids, declared inputs only."""
    clips = {sample.id: clip for sample, clip in pairs}
    factory = ItemFactory(task, lambda sample: clips[sample.id], OpaqueIds(b"tests"))
    samples = [sample for sample, _ in pairs]
    return [factory.item(samples, i, output_dir=output_dir) for i in range(len(samples))]


def make_items(task_name, count=2, split="test", output_dir=None):
    """Evaluation items of the first ``count`` clips the task scores, as the harness makes them."""
    return items_of(get_task(task_name), make_samples(task_name, count, split), output_dir)


def train_tiny(name, encoder, out, steps=30):
    """Train the tiny recipe of ``name``; return (full-data loss before, after, result)."""
    spec = _HEADS[name]
    recipe = tiny_recipe(name, encoder)
    recipe = replace(recipe, fit=replace(recipe.fit, steps=steps, lr=1e-2))
    task = get_task(spec.task)
    data = spec.data(
        build_feature_set(
            task, load_encoder(encoder), "train", recipe.train_clips, spec.segments, show_progress=False
        ),
        task,
    )
    torch.manual_seed(recipe.fit.seed)
    before_head = spec.build(recipe.model)
    with torch.no_grad():
        before = float(spec.loss(before_head.eval(), data)["loss"])
    result = train_recipe(name, out, recipe, show_progress=False)
    return before, data, result


def check_model(model, tasks, count=2):
    """Protocol conformance and schema-valid predictions on a few test items of every task."""
    assert isinstance(model, Model)
    assert model.weights_hash != "untrained"
    for task_name in tasks:
        task = get_task(task_name)
        items = make_items(task_name, count)
        predictions = model.predict(task, items)
        assert len(predictions) == len(items)
        for prediction, item in zip(predictions, items, strict=True):
            task.check_prediction(json.loads(json.dumps(prediction)), item.inputs, "test")
