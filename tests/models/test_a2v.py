"""Audio-to-video: shapes, learning on a tiny batch, the sync expert, task predictions and the recipe."""

from __future__ import annotations

import pytest
import torch

from avikit.data.synth import SynthConfig, generate
from avikit.models.a2v import (
    A2VConfig,
    build_a2v,
    build_sync_expert,
    generate_a2v,
    select_reference,
    sync_expert_loss,
)
from avikit.models.gen_recipes import GenTrainConfig
from avikit.models.gen_recipes_av import evaluate_a2v, load_sources, save_predictions, train_a2v
from avikit.tasks.generation import A2VTask

TINY = A2VConfig(image_size=32, width=8, dim=16, sync_window=3)


@pytest.fixture(scope="module")
def pairs():
    return load_sources("train", 4, GenTrainConfig(duration=1), 32)


def test_generator_returns_frames_in_range(pairs):
    model = build_a2v(TINY)
    reference = select_reference(pairs["audio"], pairs["frames"])
    assert reference.shape == (4, 3, 32, 32)
    frames = generate_a2v(model, reference, pairs["audio"])
    assert frames.shape == pairs["frames"].shape  # [4, 8, 3, 32, 32]
    assert float(frames.min()) >= 0 and float(frames.max()) <= 1
    assert torch.allclose(frames, reference[:, None].expand_as(frames))  # zero-initialised change
    assert sum(p.numel() for p in build_a2v(A2VConfig()).parameters()) < 1_000_000


def _first_last(loss_fn, model, steps: int = 30) -> tuple[float, float]:
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return sum(losses[:3]) / 3, sum(losses[-3:]) / 3


def test_generator_and_expert_learn_a_tiny_batch(pairs):
    torch.manual_seed(0)
    audio, frames = pairs["audio"], pairs["frames"]
    reference = select_reference(audio, frames)
    model, expert = build_a2v(TINY), build_sync_expert(TINY)
    mel = model.features(audio).detach()
    generator = torch.Generator().manual_seed(0)
    first, last = _first_last(lambda: sync_expert_loss(expert, frames, mel, generator, min_shift=1), expert)
    assert last < first
    expert.requires_grad_(False)
    first, last = _first_last(lambda: model.loss(reference, audio, frames, expert, 0.1, generator), model)
    assert last < 0.9 * first


def test_predictions_validate_against_the_a2v_schema(tmp_path, pairs):
    config = SynthConfig(duration=pairs["audio"].shape[-1] // 16000, size=32, max_objects=1)
    sample = generate("train", 0, seed=0, config=config)[0]
    task = A2VTask()
    inputs = task.build_inputs(sample)
    frames = generate_a2v(build_a2v(TINY), pairs["frames"][:1, 0], pairs["audio"][:1])
    record = save_predictions(tmp_path, [sample.id], frames=frames)[0]
    assert task.check_prediction(record, inputs, "line 1")["video"] == record["video"]


def test_tiny_recipe_trains_and_scores(tmp_path):
    config = GenTrainConfig(num_train=6, num_test=3, duration=1, steps=3, batch_size=2, progress=False)
    trained = train_a2v(config, TINY, tmp_path)
    assert (tmp_path / "a2v_loss.svg").exists() and (tmp_path / "sync_expert_loss.jsonl").exists()
    results = evaluate_a2v(trained)
    assert set(results) == {"a2v", "retrieval", "static", "reference"}
    assert results["reference"]["psnr"] == 100.0 and results["a2v"]["rtf"] > 0
