"""Tests of the classification reference model: training, weights round trip, protocol and schema."""

from __future__ import annotations

import torch

from avikit.data.synth.classes import CLASS_NAMES
from avikit.models.encoders.trunk_encoding import encode_items
from avikit.models.perception import classification
from avikit.models.perception.avs import N_MELS, frame_colours
from avikit.nn import segment_frame_indices
from avikit.tasks import get_task
from tests.model_fixtures import check_model, items_of, make_items, make_samples, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("classification", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = classification.from_pretrained(result.out_dir)
    assert isinstance(model, classification.ClassificationModel)
    from avikit.train.recipes import _HEADS

    with torch.no_grad():
        after = float(_HEADS["classification"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["classification", "classification-multilabel"])


def test_packaged_weights_load_and_predict():
    check_model(classification.from_pretrained(), ["classification", "classification-multilabel"], count=1)


def test_zero_shot_scores_every_class(tiny_encoder, feature_cache, tmp_path):
    _, _, result = train_tiny("retrieval", tiny_encoder, tmp_path / "retrieval", steps=5)
    model = classification.zero_shot_from_pretrained(result.out_dir)
    check_model(model, ["classification"])


def test_media_cues_read_the_frames_the_trunk_reads():
    item = make_items("classification", 1)[0]
    cues = classification.media_cues([item.frames], [item.waveform], 10)
    picked = item.frames[segment_frame_indices(len(item.frames), 10)]
    assert torch.equal(cues["colours"][0], frame_colours(picked[None], classification.COLOUR_SIZE)[0])
    assert cues["spectra"].shape == (1, 10, 2 * N_MELS)


def test_the_main_class_ignores_the_multilabel_cues():
    # the single-label path reads the trunk only; the multi-label cues change the heard scores alone
    head = classification.build_classification_head(classification.ClassificationConfig(dim=32)).eval()
    torch.manual_seed(0)
    features = {"audio_segments": torch.randn(2, 10, 32), "visual_maps": torch.randn(2, 10, 32, 4, 4),
                "spectra": torch.randn(2, 10, 128), "colours": torch.rand(2, 10, 3, 16, 16)}  # fmt: skip
    other = {**features, "spectra": torch.randn(2, 10, 128), "colours": torch.rand(2, 10, 3, 16, 16)}
    with torch.no_grad():
        (main, heard), (main_other, heard_other) = head(features), head(other)
    assert torch.equal(main, main_other)
    assert not torch.allclose(heard, heard_other)


def test_packaged_visible_scores_rank_the_classes_on_screen_high():
    model = classification.from_pretrained()
    pairs = make_samples("classification", 6)
    items = items_of(get_task("classification"), pairs)
    features = encode_items(model.encoder, items, 10)
    features.update(classification.media_cues([i.frames for i in items], [i.waveform for i in items], 10))
    with torch.no_grad():
        visible = model.head.heard.visible_logits(features)  # [B, C]
    hits = total = 0
    for (sample, _), row in zip(pairs, visible, strict=True):
        shown = {o["class"] for o in sample.target("objects") if o["on_screen"]}
        top = {CLASS_NAMES[c] for c in row.topk(5).indices.tolist()}
        hits, total = hits + len(top & shown), total + len(shown)
    assert hits >= 0.5 * total  # a random ranking puts 5 / 27 of them in the top 5
