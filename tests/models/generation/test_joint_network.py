"""Joint audio+video generation: tokens, learning on a tiny batch, guided sampling, task predictions, recipe."""

from __future__ import annotations

import pytest
import torch

from avikit.data.synth import SynthConfig, generate
from avikit.models.generation.clips import load_sources
from avikit.models.generation.joint_network import JointConfig, build_joint, build_vocabulary
from avikit.models.generation.joint_pipeline import caption_parts
from avikit.models.generation.joint_sampling import generate_joint
from avikit.nn.schedulers import FlowMatchingScheduler
from avikit.tasks.generation import JointGenerationTask
from avikit.train.generators import GenTrainConfig, save_predictions
from avikit.train.joint import evaluate_joint, sample_joint, train_joint

TINY = JointConfig(image_size=32, patch_size=16, dim=32, depth=1, heads=2)


@pytest.fixture(scope="module")
def pairs():
    return load_sources("train", 4, GenTrainConfig(duration=1), 32)


def test_tokens_round_trip_and_vocabulary(pairs):
    vocabulary = build_vocabulary(pairs["captions"])
    ids = vocabulary.encode([*pairs["captions"], "a zzz"])
    assert ids.shape[0] == 5 and int(ids[-1, 1]) == 1  # unknown word
    model = build_joint(TINY, len(vocabulary))
    mel = model.features(pairs["audio"])  # [4, 64, 32]
    audio, video = model.tokenize(mel, pairs["frames"])
    assert audio.shape == (4, 8, 2, 128) and video.shape == (4, 8, 4, 768)
    back_mel, back_frames = model.untokenize(audio, video)
    assert torch.equal(back_mel, mel) and torch.allclose(back_frames, pairs["frames"], atol=1e-6)


def test_caption_parts_name_each_sounding_source_once():
    for index in range(12):
        targets = generate("test", index, seed=0)[0].targets
        sounding = {
            o["id"] for e in targets["events"]["audio"] for o in targets["objects"] if o["id"] == e["object"]
        }
        if not sounding:
            continue
        parts = caption_parts(targets["caption"])
        named = [o["class"] for o in targets["objects"] if o["id"] in sounding]
        assert len(parts) == len(sounding)
        assert sorted(next(c for c in named if c in p.split()) for p in parts) == sorted(named)
        assert all("silent" not in p for p in parts)
    assert caption_parts("a silent cat is seen") == ["a silent cat is seen"]


def test_sampling_loop_runs_with_guidance_and_is_seeded(pairs):
    vocabulary = build_vocabulary(pairs["captions"])
    model = build_joint(TINY, len(vocabulary))
    ids = vocabulary.encode(pairs["captions"][:2])
    a, b = (
        generate_joint(model, ids, 8, 2, 3.0, FlowMatchingScheduler(), torch.Generator().manual_seed(1))
        for _ in "ab"
    )
    assert a[0].shape == (2, 64, 32) and a[1].shape == (2, 8, 3, 32, 32)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert sum(p.numel() for p in build_joint(JointConfig(), len(vocabulary)).parameters()) < 1_000_000


def test_a_few_steps_reduce_the_loss(pairs):
    torch.manual_seed(0)
    vocabulary = build_vocabulary(pairs["captions"])
    model, scheduler = build_joint(TINY, len(vocabulary)), FlowMatchingScheduler()
    ids, generator = vocabulary.encode(pairs["captions"]), torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def held_loss() -> float:  # fixed noise and times, no caption dropout
        with torch.no_grad():
            fixed = torch.Generator().manual_seed(5)
            return float(model.loss(pairs["audio"], pairs["frames"], ids, scheduler, 0.0, fixed))

    before = held_loss()
    for _ in range(30):
        loss = model.loss(pairs["audio"], pairs["frames"], ids, scheduler, 0.1, generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert held_loss() < 0.8 * before


def test_tiny_recipe_scores_and_predictions_validate(tmp_path):
    config = GenTrainConfig(num_train=6, num_test=2, duration=1, steps=3, batch_size=2, progress=False)
    trained = train_joint(config, TINY, tmp_path)
    assert (tmp_path / "joint_loss.svg").exists()
    results = evaluate_joint(trained, num_steps=2)
    assert set(results) == {"joint", "retrieval", "reference"} and results["joint"]["rtf"] > 0
    test = trained["data"]["test"]
    audio, frames = sample_joint(trained, test["captions"], num_steps=2)
    records = save_predictions(tmp_path / "pred", test["ids"], frames=frames, audio=audio)
    task, synth = JointGenerationTask(), SynthConfig(duration=1, size=32, max_objects=1)
    for index, record in enumerate(records):
        inputs = task.build_inputs(generate("test", index, seed=0, config=synth)[0])
        assert task.check_prediction(record, inputs, "line")["audio"].endswith(".npy")
