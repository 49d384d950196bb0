"""Tests of the dense-localization reference model: training, weights round trip, protocol and schema."""

from __future__ import annotations

import torch

from avikit.models.perception import dense_localization
from tests.model_fixtures import check_model, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("dense-localization", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = dense_localization.from_pretrained(result.out_dir)
    assert isinstance(model, dense_localization.DenseLocalizationModel)
    from avikit.train.recipes import _HEADS

    with torch.no_grad():
        after = float(_HEADS["dense-localization"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["dense-localization"])


def test_packaged_weights_load_and_predict():
    check_model(dense_localization.from_pretrained(), ["dense-localization"], count=1)
