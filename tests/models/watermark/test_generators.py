"""Generators watermark their audio unless told not to; the runner's flag turns it off."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from avikit.data.synth import generate
from avikit.models.generation.v2a_network import V2AConfig
from avikit.models.generation.v2a_pipeline import V2AModelConfig, build_v2a_generator
from avikit.models.protocol import Item
from avikit.models.watermark import message_for
from avikit.models.watermark.spread_spectrum import SpreadSpectrumWatermarker
from avikit.tasks.generation import V2ATask
from tests.model_fixtures import items_of


def _item(folder) -> Item:
    sample, clip = generate("test", 0, 0)[:2]
    task = V2ATask()
    sample = replace(sample, split=task.spec.protocol.split)
    return items_of(task, [(sample, clip)], folder)[0]


def test_v2a_output_carries_its_message_only_when_watermarking(tmp_path):
    torch.manual_seed(0)
    tiny = V2AConfig(dim=16, depth=1, heads=2, n_mels=32, codebook_size=16)
    model = build_v2a_generator(V2AModelConfig("maskgit", tiny, 16, num_steps=2))
    marker, task = SpreadSpectrumWatermarker(), V2ATask()
    plain = np.load(model.predict(task, [_item(tmp_path / "off")])[0]["audio"])
    bare_hash = model.weights_hash
    model.watermarker = marker
    marked = np.load(model.predict(task, [_item(tmp_path / "on")])[0]["audio"])
    assert model.weights_hash == f"{bare_hash}+wm-spread-spectrum-{marker.weights_hash[:8]}"
    expected = np.clip(marker.embed(plain, message_for(model.id)), -1, 1)
    np.testing.assert_allclose(marked, expected, atol=1e-7)  # the same float32 operations
    found = marker.detect(marked)
    assert found.score > 8 and (found.message == message_for("avikit/v2a")).all()
    assert marker.detect(plain).score < 6


def test_runner_flag_turns_the_watermark_off(tmp_path):
    from avikit.eval.runner import RunConfig, run_evaluation

    torch.manual_seed(0)
    tiny = V2AConfig(dim=16, depth=1, heads=2, n_mels=32, codebook_size=16)
    model = build_v2a_generator(V2AModelConfig("maskgit", tiny, 16, num_steps=2))
    model.watermarker = SpreadSpectrumWatermarker()
    config = RunConfig(tasks=("v2a",), models=("tiny",), num_samples=1, watermark=False)
    results = run_evaluation(config, tmp_path, models={"tiny": model})
    assert model.watermarker is None and "+wm" not in results["cells"][0]["weights_hash"]
    assert results["run"]["config"]["watermark"] is False
