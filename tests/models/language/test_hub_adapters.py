"""Hub AV-LLM adapters on tiny random models from their config classes: the audio must reach the model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from avikit.models.language.hub_adapters import (
    audio_token_count,
    patchify_video,
    tiny_llava_onevision,
    tiny_qwen2_5_omni,
    tiny_qwen2_audio,
)
from avikit.models.protocol import Model
from avikit.tasks import get_task
from tests.model_fixtures import make_items

RNG = np.random.default_rng(0)
FRAMES = RNG.integers(0, 255, (8, 64, 64, 3), dtype=np.uint8)  # 4 s at the preset's 2 fps
WAVE = (0.1 * RNG.standard_normal((1, 4 * 16000))).astype(np.float32)


def runs(adapter):
    ids = adapter.last_inputs["input_ids"][0].tolist()
    return [(adapter.tokenizer.convert_ids_to_tokens(k), len(list(g))) for k, g in itertools.groupby(ids)]


def logits(adapter, waveform):
    adapter.answer(FRAMES, waveform, 16000, "What is heard?")
    inputs = dict(adapter.last_inputs)
    extra = {"use_audio_in_video": adapter.use_audio_in_video} if adapter.family == "qwen2.5-omni" else {}
    with torch.no_grad():
        return adapter.model(**inputs, **extra).logits[0, -1]


@pytest.fixture(scope="module")
def omni():
    return tiny_qwen2_5_omni()


def test_qwen_omni_reads_audio_in_video_chunked(omni):
    omni.answer(FRAMES, WAVE, 16000, "What is heard?")
    body = runs(omni)[3:11]
    # 4 s: 4 grid steps of 2 frames (56 px -> 2 x 2 merged tokens each), 100 audio tokens, 2 s chunks
    assert body == [
        ("<|vision_bos|>", 1),
        ("<|audio_bos|>", 1),
        ("<|VIDEO|>", 8),
        ("<|AUDIO|>", 50),
        ("<|VIDEO|>", 8),
        ("<|AUDIO|>", 50),
        ("<|audio_eos|>", 1),
        ("<|vision_eos|>", 1),
    ]
    assert audio_token_count(400) == 100


def test_the_audio_reaches_qwen_omni(omni):
    """Changing only the sound changes the logits: the audio is not dropped (with and without chunking)."""
    silent = np.zeros_like(WAVE)
    assert not torch.allclose(logits(omni, WAVE), logits(omni, silent))
    separate = tiny_qwen2_5_omni(use_audio_in_video=False)
    assert not torch.allclose(logits(separate, WAVE), logits(separate, silent))
    assert ("<|AUDIO|>", 100) in runs(separate)


def test_audio_only_and_video_only_models_declare_it():
    audio = tiny_qwen2_audio()
    assert audio.inputs == ("audio", "text")
    assert not torch.allclose(logits(audio, WAVE), logits(audio, np.zeros_like(WAVE)))
    video = tiny_llava_onevision()
    assert video.inputs == ("video", "text")
    video.answer(FRAMES, WAVE, 16000, "What is seen?")
    assert ("<video>", 8 * 2 * 2 + 1) in runs(video)  # 8 frames of 4 x 4 patches pooled to 2 x 2, + newline


def test_patchify_follows_qwen2_vl_layout():
    frames = np.zeros((3, 56, 56, 3), np.uint8)
    frames[..., 0] = 255  # red: after CLIP normalization channel 0 is (1 - mean) / std
    patches, grid = patchify_video(frames, patch=14, merge=2, temporal=2, size=56)
    assert grid.tolist() == [[2, 4, 4]] and patches.shape == (2 * 16, 3 * 2 * 14 * 14)
    first = patches[0].reshape(3, 2, 14, 14)
    assert torch.allclose(first[0], torch.full((2, 14, 14), (1 - 0.48145466) / 0.26862954))


def test_the_adapter_is_a_model(omni):
    assert isinstance(omni, Model)
    task, items = get_task("av-hallucination"), make_items("av-hallucination", 1)
    (prediction,) = omni.predict(task, items)
    task.check_prediction(prediction, items[0].inputs, "test")
