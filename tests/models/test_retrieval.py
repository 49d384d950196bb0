"""Tests of the retrieval reference model: training, weights round trip, protocol and schema."""

from __future__ import annotations

import torch

from avikit.models import retrieval
from tests.models.conftest import check_model, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("retrieval", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = retrieval.from_pretrained(result.out_dir)
    assert isinstance(model, retrieval.RetrievalModel)
    from avikit.models.recipes import _HEADS

    with torch.no_grad():
        after = float(_HEADS["retrieval"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["retrieval"])


def test_packaged_weights_load_and_predict():
    check_model(retrieval.from_pretrained(), ["retrieval"], count=1)


def test_caption_encoder_embeds_held_out_classes():
    head = retrieval.build_retrieval_head(retrieval.RetrievalConfig(dim=32, embed_dim=16))
    from avikit.data.synth import CLASSES, OPEN_VOCAB_CLASSES

    text = head.text([CLASSES[name].caption for name in OPEN_VOCAB_CLASSES])
    assert text.shape == (len(OPEN_VOCAB_CLASSES), 16)
