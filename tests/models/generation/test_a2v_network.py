"""Audio-to-video: shapes, learning on a tiny batch, the sync expert, task predictions and the recipe."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
import torch

from avikit.data.synth import SynthConfig, generate
from avikit.data.synth.scene import sample_scene
from avikit.models.generation.a2v_network import (
    CHANGE_THRESHOLD,
    A2VConfig,
    _misplace,
    build_a2v,
    build_sync_expert,
    change_loss,
    select_reference,
    sync_expert_loss,
)
from avikit.models.generation.a2v_sampling import generate_a2v
from avikit.models.generation.clips import load_scenes, load_sources
from avikit.tasks.generation import A2VTask
from avikit.train.a2v import evaluate_a2v, train_a2v
from avikit.train.generators import GenTrainConfig, save_predictions

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
    first, last = _first_last(
        lambda: model.loss(reference, audio, frames, expert, 0.1, generator, 0.5), model
    )
    assert last < 0.9 * first


def test_misplaced_windows_keep_the_scene_and_move_the_change_far():
    frames = torch.rand(6, 3, 3, 16, 16)
    moved = _misplace(frames, torch.Generator().manual_seed(0))
    torch.testing.assert_close(moved.mean(1), frames.mean(1))
    change, moved_change = frames - frames.mean(1, keepdim=True), moved - frames.mean(1, keepdim=True)
    for before, after in zip(change, moved_change, strict=True):
        rolls = [
            (dy, dx)
            for dy in range(16)
            for dx in range(16)
            if torch.allclose(torch.roll(before, (dy, dx), (-2, -1)), after, atol=1e-5)
        ]
        assert len(rolls) == 1 and all(4 <= d <= 12 for d in rolls[0])  # a quarter to three quarters


def test_sync_warmup_delays_the_expert_loss():
    config = GenTrainConfig(num_train=4, num_test=1, duration=1, steps=4, batch_size=2, progress=False)
    plain = train_a2v(config, replace(TINY, sync_weight=0.0))["model"].state_dict()
    late = train_a2v(config, replace(TINY, sync_weight=0.5, sync_warmup=1.0))["model"].state_dict()
    early = train_a2v(config, replace(TINY, sync_weight=0.5, sync_warmup=0.0))["model"].state_dict()
    assert all(torch.equal(plain[k], late[k]) for k in plain)  # the expert never acts
    assert not all(torch.equal(plain[k], early[k]) for k in plain)


def test_change_loss_averages_the_error_over_changing_pixels_only():
    rng = np.random.default_rng(0)
    reference = rng.random((2, 3, 6, 6))
    frames = np.repeat(reference[:, None], 4, axis=1)  # [2, 4, 3, 6, 6]
    moved = rng.random((2, 4, 6, 6)) < 0.2
    frames[:, :, 1][moved] += 0.5  # one channel of these pixels changes
    frames[:, :, 2][~moved] += CHANGE_THRESHOLD / 2  # below the threshold: not a change
    generated = frames + rng.normal(0, 0.1, frames.shape)
    error = np.abs(generated - frames)
    expected = sum(error[b, t, :, y, x].sum() for b, t, y, x in zip(*np.nonzero(moved), strict=True))
    expected /= 3 * moved.sum()
    as_tensor = [torch.tensor(a, dtype=torch.float64) for a in (generated, frames, reference)]
    assert float(change_loss(*as_tensor)) == pytest.approx(expected, rel=1e-9)
    still = torch.tensor(np.repeat(reference[:, None], 4, axis=1))
    assert float(change_loss(still + 0.01, still, torch.tensor(reference))) == 0.0


def test_scenes_are_still_multi_object_clips_resized_from_128_px():
    config = GenTrainConfig(duration=1)
    scenes = load_scenes("train", 6, config, 32)
    assert scenes["frames"].shape == (6, 8, 3, 32, 32) and scenes["audio"].shape == (6, 1, 16000)
    synth = SynthConfig(duration=Fraction(1), size=128, p_moving=0.0)
    drawn = generate("train", 0, seed=0, config=synth)[1].require_frames().astype(np.float64) / 255
    blocks = drawn.reshape(8, 32, 4, 32, 4, 3).mean((2, 4)).transpose(0, 3, 1, 2)  # 4 x 4 area mean
    np.testing.assert_allclose(scenes["frames"][0].numpy(), blocks, atol=1e-5)
    objects = [obj for i in range(6) for obj in sample_scene("train", i, 0, synth).objects]
    assert len(objects) > 6 and all(obj.vx == obj.vy == 0 for obj in objects)


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
    trained = train_a2v(config, replace(TINY, sync_weight=0.1), tmp_path)
    assert (tmp_path / "a2v_loss.svg").exists() and (tmp_path / "sync_expert_loss.jsonl").exists()
    assert (
        train_a2v(config, replace(TINY, sync_weight=0.0))["training"]["sync_expert"] is None
    )  # no expert loss: not trained
    results = evaluate_a2v(trained)
    assert set(results) == {"a2v", "retrieval", "static", "reference"}
    assert results["reference"]["psnr"] == 100.0 and results["a2v"]["rtf"] > 0
