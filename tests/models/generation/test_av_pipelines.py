"""The A2V and joint generators as suite models: whole 10 s clips, rates, windows, seeds and retrieval."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from avikit.errors import UsageError
from avikit.models.generation.a2v_network import A2VConfig, build_a2v
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
from avikit.tasks import TaskInputs, get_task, model_media
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


def _task(name, scratch=None):
    return get_task(name)


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


def test_a2v_model_writes_full_clips_from_the_one_reference_frame_it_is_given(tmp_path, a2v_folder):
    model = load_a2v(a2v_folder)
    assert isinstance(model, Model) and model.weights_hash != "untrained"
    task, items = _task("a2v"), make_items("a2v", 1, output_dir=tmp_path)
    prediction = _check(task, model, items)[0]
    video = np.load(prediction["video"])
    frames, waveform = items[0].media
    assert frames.shape == (1, 128, 128, 3) and waveform.shape == (1, 160000)  # the protocol's inputs only
    assert video.shape == (80, 128, 128, 3) and video.dtype == np.uint8
    assert prediction["video"] == str(tmp_path / f"{items[0].id}_video.npy")
    # The untrained generator predicts no change: every frame is the reference (first) frame.
    assert np.array_equal(video, np.broadcast_to(frames[0], (80, 128, 128, 3)))


def test_a2v_model_needs_an_output_folder_and_its_task(a2v_folder, tmp_path):
    model = load_a2v(a2v_folder)
    with pytest.raises(UsageError, match="item.output_dir"):
        model.predict(get_task("a2v"), make_items("a2v", 1))
    with pytest.raises(UsageError, match="not 'v2a'"):
        model.predict(get_task("v2a"), make_items("a2v", 1, output_dir=tmp_path))


def _training_items(task, indices, folder, size=64):
    """Items whose media are training clips of the index, made again at ``size`` (2 s each), as the
    task gives them; with the clips' full frames."""
    items, full, captions = [], [], INDEX.load()["captions"]
    for index in indices:
        frames, audio = INDEX.clip(index, (size, size))
        video = (frames.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()
        media = model_media(video, audio.numpy(), task.spec.inputs)
        inputs = TaskInputs(
            f"item-{index}", tuple(range(16)), (0, 32000), (size, size), text=(captions[index],)
        )
        view = inputs.model_view(f"item-{index}", task.spec.inputs)
        items.append(Item(view.sample_id, view, media, folder))
        full.append(video)
    return items, full, captions


def test_a2v_retrieval_finds_a_training_clip_from_its_own_audio(tmp_path):
    task = _task("a2v")
    items, full, _ = _training_items(task, [1, 4], tmp_path)
    predictions = A2VRetrieval(INDEX).predict(task, items)
    for prediction, video in zip(predictions, full, strict=True):
        assert np.array_equal(np.load(prediction["video"]), video)


def test_joint_model_full_clip_is_seeded_by_sample_and_batch_independent(tmp_path, joint_folder):
    model = load_joint(joint_folder)
    task, items = _task("joint-generation"), make_items("joint-generation", 2, output_dir=tmp_path)
    both = _check(task, model, items)
    audio, video = np.load(both[1]["audio"]), np.load(both[1]["video"])
    assert audio.shape == (160000,) and audio.dtype == np.float32 and np.abs(audio).max() <= 1
    assert video.shape == (80, 128, 128, 3) and video.dtype == np.uint8
    alone = model.predict(task, make_items("joint-generation", 2, output_dir=tmp_path / "alone")[1:])[0]
    assert np.array_equal(np.load(alone["audio"]), audio) and np.array_equal(np.load(alone["video"]), video)
    assert not np.array_equal(np.load(both[0]["video"]), video)  # another sample, another seed


def test_joint_retrieval_pairs_generated_frames_with_training_audio(tmp_path, joint_folder):
    task, items = _task("joint-generation"), make_items("joint-generation", 1, output_dir=tmp_path)
    joint = load_joint(joint_folder)
    prediction = _check(task, JointRetrieval(joint, INDEX), items)[0]
    generated = joint.predict(task, make_items("joint-generation", 1, output_dir=tmp_path / "joint"))[0]
    assert np.array_equal(np.load(prediction["video"]), np.load(generated["video"]))
    audio = np.load(prediction["audio"])
    pool = np.stack([INDEX.clip(i, (128, 128))[1][0].numpy() for i in range(INDEX.num_clips)])
    for start in range(0, 160000, 32000):  # every 2 s window is one training clip's audio (made at 128 px)
        assert np.abs(pool - audio[start : start + 32000]).max(1).min() < 1e-6


def test_caption_retrieval_takes_the_clip_with_that_caption(tmp_path):
    task = _task("joint-generation")
    items, _, captions = _training_items(task, [2], tmp_path)
    prediction = _check(task, CaptionRetrieval(INDEX), items)[0]
    first = CaptionRetrieval(INDEX).nearest(captions[2], 1)[0]
    assert captions[first] == captions[2]  # the clip itself or one with the very same caption
    frames, audio = INDEX.clip(first, (64, 64))
    video = (frames.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(np.load(prediction["video"]), video)
    np.testing.assert_array_equal(np.load(prediction["audio"]), audio[0].numpy())
