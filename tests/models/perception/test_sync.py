"""Tests of the sync reference model: training, weights round trip, protocol and schema."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avikit.models.perception import sync
from avikit.tasks import cut_media, get_task
from tests.model_fixtures import check_model, make_samples, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("sync", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = sync.from_pretrained(result.out_dir)
    assert isinstance(model, sync.SyncModel)
    from avikit.train.recipes import _HEADS

    with torch.no_grad():
        after = float(_HEADS["sync"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["sync"])


def test_packaged_weights_load_and_predict():
    check_model(sync.from_pretrained(), ["sync"], count=1)


def test_audio_frames_put_a_burst_on_its_25_ms_steps():
    waveform = np.zeros((1, 2, 80000), np.float32)
    waveform[0, :, 8000:12000] = np.sin(2 * np.pi * 500 * np.arange(4000) / 16000)  # 0.5-0.75 s
    frames = sync.compute_audio_frames(waveform)
    assert frames.shape == (1, 32, 200)
    loud = frames[0].amax(0)  # [200]
    # step t is centred on sample 400 t with an 800-sample window: steps 21-29 lie inside the burst,
    # steps up to 18 and from 32 on never touch it
    assert bool((loud[21:30] > loud[:19].max() + 10).all())
    assert float(loud[:19].max()) == float(loud[32:].max()) == float(loud.min())


def test_packaged_model_finds_the_offset_the_audio_was_cut_at():
    # the same clips cut at several offsets by hand: the predicted class follows the applied offset
    model, task = sync.from_pretrained(), get_task("sync")
    correct = total = 0
    for sample, clip in make_samples("sync", 3):
        inputs = task.build_inputs(sample)
        frames = cut_media(clip, inputs)[0][None]
        protocol = task.build_target(sample)["label"]
        for label in (2, 7, 10, 13, 18):
            start = inputs.audio[0] + (label - protocol) * 3200  # 0.2 s per class at 16 kHz
            wave = clip.require_waveform()[None, :, start : start + 80000]
            correct += int(model.compute_logits(frames, wave).argmax()) == label
            total += 1
    assert correct >= 0.6 * total


def test_compute_logits_rejects_other_windows():
    model = sync.from_pretrained()
    with pytest.raises(ValueError, match="5 s windows"):
        model.compute_logits(np.zeros((1, 24, 128, 128, 3), np.uint8), np.zeros((1, 2, 80000), np.float32))
    with pytest.raises(ValueError, match="5 s of audio"):
        model.compute_logits(np.zeros((1, 40, 128, 128, 3), np.uint8), np.zeros((1, 2, 48000), np.float32))
