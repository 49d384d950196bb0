"""Tests of the source-localization reference model: training, weights round trip, protocol and schema."""

from __future__ import annotations

import numpy as np
import torch

from avikit.models.encoders.trunk_encoding import encode_items
from avikit.models.perception import source_localization
from avikit.models.perception.avs import frame_colours, segment_spectra
from avikit.tasks import get_task
from tests.model_fixtures import check_model, items_of, make_items, make_samples, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("source-localization", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = source_localization.from_pretrained(result.out_dir)
    assert isinstance(model, source_localization.SourceLocalizationModel)
    from avikit.train.recipes import _HEADS

    with torch.no_grad():
        after = float(_HEADS["source-localization"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["source-localization"])


def test_packaged_weights_load_and_predict():
    check_model(source_localization.from_pretrained(), ["source-localization"], count=1)


def test_packaged_heatmaps_peak_on_a_sounding_object():
    model, task = source_localization.from_pretrained(), get_task("source-localization")
    pairs = make_samples("source-localization", 6)
    items = items_of(task, pairs)
    hits = 0
    for (sample, _), item, prediction in zip(pairs, items, model.predict(task, items), strict=True):
        heat = task.check_prediction(prediction, item.inputs, "test")["heatmap"]  # [128, 128]
        hits += int(task.build_target(sample)["map"].flat[int(np.argmax(heat))] == 1)
    assert hits >= 4


def test_heatmaps_follow_the_sound():
    # muting the audio changes where the model looks: the heatmap depends on what is heard
    model = source_localization.from_pretrained()
    items = make_items("source-localization", 2)
    features = encode_items(model.encoder, items, 1)
    features["colours"] = frame_colours(np.stack([i.frames for i in items]))
    waveform = np.stack([i.waveform for i in items])
    with torch.no_grad():
        heard = model.head({**features, "spectra": segment_spectra(waveform, 1)})
        muted = model.head({**features, "spectra": segment_spectra(np.zeros_like(waveform), 1)})
    assert not torch.allclose(heard, muted, atol=1e-3)
