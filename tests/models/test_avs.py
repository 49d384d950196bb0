"""Tests of the avs reference model: training, weights round trip, protocol and schema."""

from __future__ import annotations

import torch

from avikit.models import avs
from tests.models.conftest import check_model, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("avs", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = avs.from_pretrained(result.out_dir)
    assert isinstance(model, avs.AVSModel)
    from avikit.models.recipes import _HEADS

    with torch.no_grad():
        after = float(_HEADS["avs"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["avs-binary", "avs-semantic"])


def test_packaged_weights_load_and_predict():
    check_model(avs.from_pretrained(), ["avs-binary", "avs-semantic"], count=1)
