"""Tests of end-to-end fine-tuning: the trunk moves, the loss falls, the run folder reloads."""

from __future__ import annotations

import pytest
import torch

from avikit.models.encoders.trunk import WEIGHTS_DIR, load_encoder
from avikit.models.encoders.trunk_encoding import encode_prepared
from avikit.models.perception import avel
from avikit.tasks import get_task
from avikit.train.feature_sets import build_feature_set, build_media_set
from avikit.train.finetune import FinetuneRecipe, finetune, load_finetuned, training_labels
from avikit.train.perception import avel as avel_train
from tests.model_fixtures import check_model, train_tiny


def _loss_on(model, media, labels):
    with torch.no_grad():
        features = encode_prepared(model.encoder, media.mel, media.frames)
        return float(avel_train.avel_loss(model.head.eval(), {**features, **labels})["loss"])


def test_finetuning_moves_the_trunk_and_lowers_the_loss(tiny_encoder, feature_cache, tmp_path):
    _, _, head_run = train_tiny("avel", tiny_encoder, tmp_path / "head", steps=5)
    start = avel.from_pretrained(head_run.out_dir)
    media = build_media_set(get_task("avel"), start.encoder, "train", 8, 10, show_progress=False)
    labels = training_labels("avel", media)
    before = _loss_on(start, media, labels)
    recipe = FinetuneRecipe(
        init_head=str(head_run.out_dir), train_clips=8, steps=12, batch_size=4, head_lr=3e-3, trunk_lr=1e-3
    )
    metrics = finetune("avel", recipe, tmp_path / "ft", show_progress=False)
    tuned = load_finetuned(tmp_path / "ft")
    assert tuned.id == "avikit/avel-finetuned" and metrics["train_clips"] == 8
    assert _loss_on(tuned, media, labels) < before
    old, new = start.encoder.state_dict(), tuned.encoder.state_dict()
    moved = {name.split(".")[0] for name in old if not torch.equal(old[name], new[name])}
    assert {"audio", "visual", "audio_temporal"} <= moved  # what the avel head reads, through its inputs
    assert not moved & {"joint", "audio_decoder", "visual_decoder"}  # what it never reads keeps its weights
    assert metrics["trunk_relative_change"] > 0
    # the family's own loader finds the fine-tuned trunk saved next to the head
    again = avel.from_pretrained(tmp_path / "ft")
    assert all(torch.equal(again.encoder.state_dict()[k], v) for k, v in new.items())
    assert again.weights_hash == tuned.weights_hash != start.weights_hash
    check_model(tuned, ["avel"], count=1)


def test_zero_trunk_learning_rate_trains_the_head_only(tiny_encoder, feature_cache, tmp_path):
    _, _, head_run = train_tiny("avel", tiny_encoder, tmp_path / "head", steps=2)
    recipe = FinetuneRecipe(
        init_head=str(head_run.out_dir), train_clips=8, steps=3, batch_size=4, trunk_lr=0.0
    )
    finetune("avel", recipe, tmp_path / "ft", show_progress=False)
    tuned, frozen = load_finetuned(tmp_path / "ft"), load_encoder(tiny_encoder)
    assert all(torch.equal(frozen.state_dict()[k], v) for k, v in tuned.encoder.state_dict().items())
    start = avel.from_pretrained(head_run.out_dir).head.state_dict()
    assert any(not torch.equal(start[k], v) for k, v in tuned.head.state_dict().items())


def test_media_set_gives_the_frozen_feature_set(tiny_encoder, feature_cache):
    task, encoder = get_task("avel"), load_encoder(tiny_encoder)
    media = build_media_set(task, encoder, "train", 3, 10, show_progress=False)
    features = build_feature_set(task, encoder, "train", 3, 10, show_progress=False)
    assert [s.id for s in media.samples] == [s.id for s in features.samples]
    with torch.no_grad():
        fresh = encode_prepared(encoder, media.mel, media.frames)
    for key, value in features.features.items():
        torch.testing.assert_close(fresh[key], value)


def test_bad_inputs_fail_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="families: avel, classification, retrieval"):
        finetune("sync", FinetuneRecipe(), tmp_path)
    with pytest.raises(ValueError, match="not a fine-tuning run"):
        load_finetuned(WEIGHTS_DIR / "avel")  # a frozen-trunk head: no fine-tuned trunk beside it
