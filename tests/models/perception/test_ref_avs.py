"""Tests of the Ref-AVS reference model: training, weights round trip, protocol, schema, the word encoder."""

from __future__ import annotations

import json
import zlib

import torch

from avikit.models.perception import ref_avs
from avikit.tasks import get_task
from avikit.train.recipes import _HEADS
from tests.model_fixtures import check_model, make_items, train_tiny


def test_training_reduces_loss_round_trips_and_predicts_every_set(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("ref-avs", tiny_encoder, tmp_path / "out")
    assert data["words"].shape[0] == data["masks"].shape[0] == data["visual_maps"].shape[0]
    assert bool((data["masks"].flatten(1).amax(1) == 0).any())  # null expressions train empty masks
    model = ref_avs.from_pretrained(result.out_dir)
    assert isinstance(model, ref_avs.RefAVSModel)
    with torch.no_grad():
        after = float(_HEADS["ref-avs"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["ref-avs-seen", "ref-avs-null"])
    task, items = get_task("ref-avs-unseen"), make_items("ref-avs-unseen", 1, split="open_test")
    (prediction,) = model.predict(task, items)
    task.check_prediction(json.loads(json.dumps(prediction)), items[0].inputs, "unseen")


def test_each_expression_gets_its_own_masks(tiny_encoder, feature_cache, tmp_path):
    """A batch of clips with different expression counts: masks of one expression depend on its text only."""
    _, _, result = train_tiny("ref-avs", tiny_encoder, tmp_path / "out", steps=2)
    model = ref_avs.from_pretrained(result.out_dir)
    task = get_task("ref-avs-seen")
    items = make_items("ref-avs-seen", 2)
    together = model.predict(task, items)
    alone = [model.predict(task, [item])[0] for item in items]
    assert together == alone
    frames = len(items[0].inputs.frames)
    assert [len(p["masks"]) for p in together] == [len(i.inputs.text) * frames for i in items]


def test_word_codes_are_crc32_and_the_bag_ignores_order_and_padding():
    codes = ref_avs.tokenize(["The RED object", "object red the", ""])
    assert codes[0, :3].tolist() == [1 + zlib.crc32(w.encode()) for w in ("the", "red", "object")]
    assert int(codes[2].count_nonzero()) == 0
    encoder = ref_avs.ExpressionEncoder(buckets=8, hidden=4)
    out = encoder(codes)
    # the same words in another order: the same mean embedding (float32 sums of 3 terms)
    assert torch.allclose(out[0], out[1], atol=1e-6)
    assert torch.equal(out[2], torch.zeros(4))  # no words: the padding row only, which is zero


def test_packaged_weights_load_and_predict():
    check_model(ref_avs.from_pretrained(), ["ref-avs-seen", "ref-avs-null"], count=1)
