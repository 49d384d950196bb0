"""Packaged video-to-audio models: full-length files through ``predict``, seeding, save/load, retrieval."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from avikit.data.synth import generate
from avikit.errors import MissingStreamError, UsageError
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
from tests.model_fixtures import items_of

TINY = V2AConfig(dim=16, depth=1, heads=2, n_mels=32, codebook_size=16)


def _tiny(paradigm: str, window_frames: int = 16) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_v2a_generator(V2AModelConfig(paradigm, TINY, window_frames, num_steps=2))


def _pair(split: str, index: int) -> tuple:
    sample, clip = generate(split, index, 0)[:2]  # the bench's clips: 10 s, 8 fps, 128 px, 16 kHz
    return replace(sample, split=V2ATask.spec.protocol.split), clip


PAIRS = [_pair("test", 0), _pair("test", 1)]


def _items(folder, pairs=PAIRS) -> list[Item]:
    return items_of(V2ATask(), pairs, folder)


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return _items(None)


def test_predict_writes_full_length_audio_at_the_task_rate(tmp_path):
    model = _tiny("maskgit")
    assert isinstance(model, Model)
    items = _items(tmp_path)
    records = model.predict(V2ATask(), items[:1])
    assert records[0]["id"] == items[0].id
    assert records[0]["audio"] == str(tmp_path / f"{items[0].id}_audio.npy")
    with pytest.raises(MissingStreamError):
        _ = items[0].waveform  # the task gives the frames only
    audio = np.load(records[0]["audio"])
    assert audio.dtype == np.float32 and audio.shape == (160000,)  # 10 s at 16 kHz, mono
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0


def test_generation_is_seeded_per_sample_and_independent_of_the_batch(tmp_path):
    model = _tiny("maskgit")
    together = model.predict(V2ATask(), _items(tmp_path / "a"))
    alone = model.predict(V2ATask(), _items(tmp_path / "b", PAIRS[1:]))
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
    with pytest.raises(UsageError, match="item.output_dir"):
        model.predict(V2ATask(), items[:1])
    with pytest.raises(UsageError, match="not 'a2v'"):
        model.predict(A2VTask(), _items(tmp_path)[:1])


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
    pairs = [_pair("train", i) for i in range(3)]
    query = _items(tmp_path, pairs[2:])[0]  # a bank clip itself: its own audio comes back
    record = loaded.predict(V2ATask(), [query])[0]
    real = pairs[2][1].require_waveform().mean(0)
    np.testing.assert_allclose(np.load(record["audio"]), real, atol=1e-7)
    assert loaded.nearest(np.stack([item.frames for item in _items(None, pairs)])).tolist() == [0, 1, 2]


def test_packaged_models_are_registered_and_load():
    assert {"v2a", "v2a-ar", "v2a-flow", "v2a-retrieval"} <= set(MODELS)
    model = get_model("v2a")
    assert model.tasks == ("v2a",) and model.paradigm in PARADIGMS
    assert isinstance(get_model("v2a-retrieval"), Model)
