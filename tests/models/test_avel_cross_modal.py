"""Tests of the avel-cross-modal reference model: training, weights round trip, protocol and schema."""

from __future__ import annotations

import torch

from avikit.models import avel_cross_modal
from tests.models.conftest import check_model, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("avel-cross-modal", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = avel_cross_modal.from_pretrained(result.out_dir)
    assert isinstance(model, avel_cross_modal.CrossModalModel)
    from avikit.models.recipes import _HEADS

    with torch.no_grad():
        after = float(_HEADS["avel-cross-modal"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["avel-cross-modal"])


def test_packaged_weights_load_and_predict():
    check_model(avel_cross_modal.from_pretrained(), ["avel-cross-modal"], count=1)
