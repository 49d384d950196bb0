"""Tests of the avvp reference model: training, weights round trip, protocol and schema."""

from __future__ import annotations

import torch

from avikit.models.perception import avvp
from tests.model_fixtures import check_model, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("avvp", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = avvp.from_pretrained(result.out_dir)
    assert isinstance(model, avvp.AVVPModel)
    from avikit.train.recipes import _HEADS

    with torch.no_grad():
        after = float(_HEADS["avvp"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["avvp"])


def test_packaged_weights_load_and_predict():
    check_model(avvp.from_pretrained(), ["avvp"], count=1)
