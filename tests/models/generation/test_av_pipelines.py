"""The A2V and joint generators as suite models: whole 10 s clips, rates, windows, seeds and retrieval."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from avikit.data.synth import generate
from avikit.models.generation.a2v_network import A2VConfig, build_a2v, select_reference
from avikit.models.generation.a2v_pipeline import load_a2v
from avikit.models.generation.joint_network import JointConfig, build_joint, build_vocabulary
from avikit.models.generation.joint_pipeline import load_joint
from avikit.models.generation.retrieval_baselines import (
    A2VRetrieval,
    CaptionRetrieval,
    JointRetrieval,
    RetrievalIndex,
)
from avikit.models.generation.windows import window_starts
from avikit.models.protocol import Item, Model
from avikit.tasks import TaskInputs, get_task
from avikit.train.a2v import save_a2v
from avikit.train.joint import save_joint
from tests.model_fixtures import make_items

INDEX = RetrievalIndex(num_clips=6)


@pytest.fixture(scope="module")
def a2v_folder(tmp_path_factory):
    torch.manual_seed(0)
    config = A2VConfig(image_size=32, width=8, dim=16, sync_window=3)
    return save_a2v({"model": build_a2v(config), "config": config}, tmp_path_factory.mktemp("a2v"))


@pytest.fixture(scope="module")
def joint_folder(tmp_path_factory):
    torch.manual_seed(0)
    vocabulary = build_vocabulary(INDEX.load()["captions"] + ["an engine buzzes while a whistle hums"])
    config = JointConfig(dim=32, depth=1, heads=2)
    model = build_joint(config, len(vocabulary))
    with torch.no_grad():  # random outputs instead of the zero-initialised final layers
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    trained = {"model": model, "config": config, "vocabulary": vocabulary}
    return save_joint(trained, tmp_path_factory.mktemp("joint"), num_steps=2, vocoder_iterations=2)


def _task(name, scratch):
    task = get_task(name)
    task.scratch = str(scratch)
    return task


def _check(task, model, items):
    predictions = model.predict(task, items)
    for prediction, item in zip(predictions, items, strict=True):
        task.check_prediction(json.loads(json.dumps(prediction)), item.inputs, "test")
    return predictions


def test_window_starts_cover_the_clip_once_and_end_with_it():
    for count in (16, 17, 31, 80, 81):
        starts = window_starts(count)
        assert starts[-1] + 16 == count and starts == sorted(set(starts))
        covered = np.zeros(count, int)
        for s in starts:
            covered[s : s + 16] = 1
        assert covered.all()
    with pytest.raises(ValueError, match="at least 16 frames"):
        window_starts(15)


def test_a2v_model_writes_full_clips_and_keeps_each_windows_reference(tmp_path, a2v_folder):
    model = load_a2v(a2v_folder)
    assert isinstance(model, Model) and model.weights_hash != "untrained"
    task, items = _task("a2v", tmp_path), make_items("a2v", 1)
    prediction = _check(task, model, items)[0]
    video = np.load(prediction["video"])
    frames, waveform = items[0].media
    assert video.shape == frames.shape == (80, 128, 128, 3) and video.dtype == np.uint8
    assert prediction["video"] == str(tmp_path / f"{items[0].sample.id}_video.npy")
    # The untrained generator predicts no change: every frame is its window's quietest real frame.
    audio = torch.from_numpy(waveform).mean(0, keepdim=True)
    for start in range(0, 80, 16):
        window = torch.from_numpy(frames[start : start + 16]).permute(0, 3, 1, 2)[None].float()
        reference = select_reference(audio[None, :, start * 2000 : (start + 16) * 2000], window)[0]
        expected = reference.permute(1, 2, 0).numpy().astype(np.uint8)
        assert np.array_equal(video[start : start + 16], np.broadcast_to(expected, (16, 128, 128, 3)))


def test_a2v_model_needs_a_scratch_folder_and_its_task(a2v_folder):
    model, items = load_a2v(a2v_folder), make_items("a2v", 1)
    with pytest.raises(ValueError, match="task.scratch"):
        model.predict(get_task("a2v"), items)
    with pytest.raises(ValueError, match="not 'v2a'"):
        model.predict(get_task("v2a"), items)


def _training_items(task, indices, size=64):
    """Items whose media are training clips of the index, made again at ``size`` (2 s each)."""
    items, captions = [], INDEX.load()["captions"]
    for index in indices:
        sample = generate("train", index)[0]
        frames, audio = INDEX.clip(index, (size, size))
        media = ((frames.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy(), audio.numpy())
        inputs = TaskInputs(sample.id, tuple(range(16)), (0, 32000), (size, size), text=(captions[index],))
        items.append(Item(sample, inputs, lambda m=media: m, dict))
    return items, captions


def test_a2v_retrieval_finds_a_training_clip_from_its_own_audio(tmp_path):
    task = _task("a2v", tmp_path)
    items, _ = _training_items(task, [1, 4])
    predictions = A2VRetrieval(INDEX).predict(task, items)
    for prediction, item in zip(predictions, items, strict=True):
        assert np.array_equal(np.load(prediction["video"]), item.frames)


def test_joint_model_full_clip_is_seeded_by_sample_and_batch_independent(tmp_path, joint_folder):
    model = load_joint(joint_folder)
    task, items = _task("joint-generation", tmp_path), make_items("joint-generation", 2)
    both = _check(task, model, items)
    audio, video = np.load(both[1]["audio"]), np.load(both[1]["video"])
    assert audio.shape == (160000,) and audio.dtype == np.float32 and np.abs(audio).max() <= 1
    assert video.shape == (80, 128, 128, 3) and video.dtype == np.uint8
    task.scratch = str(tmp_path / "alone")
    alone = model.predict(task, items[1:])[0]
    assert np.array_equal(np.load(alone["audio"]), audio) and np.array_equal(np.load(alone["video"]), video)
    assert not np.array_equal(np.load(both[0]["video"]), video)  # another sample, another seed


def test_joint_retrieval_pairs_generated_frames_with_training_audio(tmp_path, joint_folder):
    task, items = _task("joint-generation", tmp_path), make_items("joint-generation", 1)
    joint = load_joint(joint_folder)
    prediction = _check(task, JointRetrieval(joint, INDEX), items)[0]
    task.scratch = str(tmp_path / "joint")
    generated = joint.predict(task, items)[0]
    assert np.array_equal(np.load(prediction["video"]), np.load(generated["video"]))
    audio = np.load(prediction["audio"])
    pool = np.stack([INDEX.clip(i, (128, 128))[1][0].numpy() for i in range(INDEX.num_clips)])
    for start in range(0, 160000, 32000):  # every 2 s window is one training clip's audio (made at 128 px)
        assert np.abs(pool - audio[start : start + 32000]).max(1).min() < 1e-6


def test_caption_retrieval_takes_the_clip_with_that_caption(tmp_path):
    task = _task("joint-generation", tmp_path)
    items, captions = _training_items(task, [2])
    prediction = _check(task, CaptionRetrieval(INDEX), items)[0]
    first = CaptionRetrieval(INDEX).nearest(captions[2], 1)[0]
    assert captions[first] == captions[2]  # the clip itself or one with the very same caption
    frames, audio = INDEX.clip(first, (64, 64))
    video = (frames.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(np.load(prediction["video"]), video)
    np.testing.assert_array_equal(np.load(prediction["audio"]), audio[0].numpy())
