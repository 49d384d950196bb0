"""Tests of the classification reference model: training, weights round trip, protocol and schema."""

from __future__ import annotations

import torch

from avikit.models import classification
from tests.models.conftest import check_model, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("classification", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = classification.from_pretrained(result.out_dir)
    assert isinstance(model, classification.ClassificationModel)
    from avikit.models.recipes import _HEADS

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
