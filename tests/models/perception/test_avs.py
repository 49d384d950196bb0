"""Tests of the avs reference model: training, weights round trip, protocol and schema."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from scipy import ndimage

from avikit.data.synth import generate
from avikit.data.synth.classes import CLASS_NAMES
from avikit.media import mel_filterbank
from avikit.models.encoders.trunk_encoding import encode_items
from avikit.models.perception import avs
from avikit.tasks import get_task
from avikit.train.perception import avs as avs_train
from tests.model_fixtures import check_model, make_items, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("avs", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = avs.from_pretrained(result.out_dir)
    assert isinstance(model, avs.AVSModel)
    from avikit.train.recipes import _HEADS

    with torch.no_grad():
        after = float(_HEADS["avs"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["avs-binary", "avs-semantic"])


def test_packaged_weights_load_and_predict():
    check_model(avs.from_pretrained(), ["avs-binary", "avs-semantic"], count=1)


def test_segment_spectra_put_a_tone_in_its_part_and_band():
    waveform = np.zeros((1, 2, 160000), np.float32)
    waveform[0, :, 64000:96000] = np.sin(2 * np.pi * 1000 * np.arange(32000) / 16000)  # 4-6 s: part 2 of 5
    spectra = avs.segment_spectra(waveform, 5)  # [1, 5, 128]: mean then max over 64 Mel bands
    mean = spectra[0, :, : avs.N_MELS]
    assert int(mean.amax(1).argmax()) == 2
    centres = mel_filterbank(16000, 1024, avs.N_MELS).argmax(axis=1) * 16000 / 1024  # peak Hz of each band
    assert int(mean[2].argmax()) == int(np.abs(centres - 1000).argmin())
    # parts 0 and 4 are silent (the floor, log 1e-6); parts 1 and 3 only catch the window's edge
    assert spectra[0, [0, 4]].numpy() == pytest.approx(np.log(1e-6), abs=1e-5)
    assert bool((mean[[1, 3]].amax(1) < mean[2].amax() - 3).all())


def test_frame_colours_are_block_means():
    frames = np.random.default_rng(0).integers(0, 256, (2, 3, 128, 128, 3), dtype=np.uint8)
    expected = frames.reshape(2, 3, 32, 4, 32, 4, 3).mean(axis=(3, 5)) / 255  # [2, 3, 32, 32, 3]
    got = avs.frame_colours(frames).permute(0, 1, 3, 4, 2).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_heard_targets_cover_exactly_the_classes_that_sound():
    task = get_task("avs-binary")
    for index in range(4):
        sample = generate("train", index)[0]
        heard = avs_train._heard_per_segment(sample, task.build_inputs(sample))  # [5, C]
        union = {CLASS_NAMES[c] for c in heard.amax(0).nonzero().flatten().tolist()}
        seconds = task.spec.protocol.window  # the first five seconds
        assert seconds is not None
        end = Fraction(seconds[0]) + Fraction(seconds[1])
        assert union == {e["label"] for e in sample.target("events")["audio"] if Fraction(e["onset"]) < end}


def test_semantic_masks_label_whole_regions_of_the_binary_mask():
    model = avs.from_pretrained()
    items = make_items("avs-semantic", 2)
    features = encode_items(model.encoder, items, 5)
    features["colours"] = avs.frame_colours(np.stack([item.frames for item in items]))
    features["spectra"] = avs.segment_spectra(np.stack([item.waveform for item in items]), 5)
    with torch.no_grad():
        binary = (model.head(features, size=(128, 128))[:, :, 0] > 0).numpy()
        semantic = model.head.semantic_masks(features, (128, 128)).numpy()
    assert not semantic[~binary].any()  # nothing outside the sounding-object mask
    labelled = 0
    for b, t in np.ndindex(*binary.shape[:2]):
        regions, count = ndimage.label(binary[b, t])
        for region in range(1, count + 1):
            values = np.unique(semantic[b, t][regions == region])
            assert len(values) == 1  # one class (or background) per region
            labelled += int(values[0] > 0)
    assert labelled > 0
