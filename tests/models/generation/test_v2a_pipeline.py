"""Packaged video-to-audio models: full-length files through ``predict``, seeding, save/load, retrieval."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from avikit.data.synth import generate
from avikit.models.generation.retrieval_baselines import (
    RetrievalConfig,
    build_v2a_retrieval,
    retrieval_from_pretrained,
)
from avikit.models.generation.v2a_network import V2AConfig
from avikit.models.generation.v2a_pipeline import (
    PARADIGMS,
    V2AModelConfig,
    build_v2a_generator,
    from_pretrained,
    save_v2a,
)
from avikit.models.protocol import Item, Model
from avikit.models.registry import MODELS, get_model
from avikit.tasks.generation import A2VTask, V2ATask

TINY = V2AConfig(dim=16, depth=1, heads=2, n_mels=32, codebook_size=16)


def _tiny(paradigm: str, window_frames: int = 16) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_v2a_generator(V2AModelConfig(paradigm, TINY, window_frames, num_steps=2))


def _item(split: str, index: int) -> Item:
    sample, clip = generate(split, index, 0)[:2]  # the bench's clips: 10 s, 8 fps, 128 px, 16 kHz
    task = V2ATask()
    sample = replace(sample, split=task.spec.protocol.split)
    media = (clip.require_frames(), clip.require_waveform())
    return Item(sample, task.build_inputs(sample), lambda: media, lambda: task.build_target(sample))


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return [_item("test", 0), _item("test", 1)]


def _task(folder) -> V2ATask:
    task = V2ATask()
    task.scratch = str(folder)
    return task


def test_predict_writes_full_length_audio_at_the_task_rate(items, tmp_path):
    model = _tiny("maskgit")
    assert isinstance(model, Model)
    records = model.predict(_task(tmp_path), items[:1])
    assert records[0]["id"] == items[0].sample.id
    assert records[0]["audio"] == str(tmp_path / f"{items[0].sample.id}_audio.npy")
    audio = np.load(records[0]["audio"])
    assert audio.dtype == np.float32 and audio.shape == (160000,)  # 10 s at 16 kHz, mono
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0


def test_generation_is_seeded_per_sample_and_independent_of_the_batch(items, tmp_path):
    model = _tiny("maskgit")
    together = model.predict(_task(tmp_path / "a"), items)
    alone = model.predict(_task(tmp_path / "b"), items[1:])
    first, second, again = (np.load(r["audio"]) for r in (*together, *alone))
    np.testing.assert_array_equal(second, again)
    assert not np.array_equal(first, second)  # another sample id, another seed (and other frames)


@pytest.mark.parametrize("paradigm", PARADIGMS)
def test_windows_cover_a_clip_that_is_not_a_multiple_of_the_window(paradigm):
    model = _tiny(paradigm, window_frames=6)  # short windows: the autoregressive loop is quadratic
    assert model.paradigm == paradigm
    frames = np.random.default_rng(0).integers(0, 255, (20, 64, 64, 3), dtype=np.uint8)  # 3.33 windows
    audio = model.generate(frames)
    assert audio.shape == (40000,) and audio.dtype == np.float32 and np.isfinite(audio).all()


def test_bad_tasks_are_refused_with_a_clear_error(items, tmp_path):
    model = _tiny("flow")
    with pytest.raises(ValueError, match="task.scratch"):
        model.predict(V2ATask(), items[:1])
    task = A2VTask()
    task.scratch = str(tmp_path)
    with pytest.raises(ValueError, match="not 'a2v'"):
        model.predict(task, items[:1])


def test_saved_generator_loads_with_half_precision_weights_and_samples_the_same(tmp_path):
    model = _tiny("maskgit")
    config = V2AModelConfig("maskgit", TINY, window_frames=16, num_steps=2)
    loaded = from_pretrained(save_v2a(model, config, tmp_path / "v2a-tiny"), watermark=False)
    assert loaded.id == "avikit/v2a-tiny" and len(loaded.weights_hash) == 16
    rounded = {  # stored as float16, loaded back as float32
        name: tensor.half().float() if tensor.is_floating_point() else tensor
        for name, tensor in model.state_dict().items()
    }
    for name, tensor in rounded.items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, rtol=0, atol=0)
    model.load_state_dict(rounded)
    frames = np.zeros((16, 32, 32, 3), np.uint8)
    np.testing.assert_array_equal(model.generate(frames, seed=5), loaded.generate(frames, seed=5))


def test_retrieval_returns_the_audio_of_the_nearest_bank_clip(tmp_path):
    bank = build_v2a_retrieval(RetrievalConfig(bank_size=3)).fill()
    loaded = retrieval_from_pretrained(save_v2a(bank, RetrievalConfig(bank_size=3), tmp_path / "bank"))
    query = _item("train", 2)  # a bank clip itself: its own audio comes back
    record = loaded.predict(_task(tmp_path), [query])[0]
    np.testing.assert_allclose(np.load(record["audio"]), query.waveform.mean(0), atol=1e-7)
    assert loaded.nearest(np.stack([_item("train", i).frames for i in range(3)])).tolist() == [0, 1, 2]


def test_packaged_models_are_registered_and_load():
    assert {"v2a", "v2a-ar", "v2a-flow", "v2a-retrieval"} <= set(MODELS)
    model = get_model("v2a")
    assert model.tasks == ("v2a",) and model.paradigm in PARADIGMS
    assert isinstance(get_model("v2a-retrieval"), Model)
