import json
import math

import pytest
import torch

from avikit.models.encoders.av_encoder import AVEncoderConfig, from_pretrained
from avikit.nn import WeightsError, config_from_dict, config_to_dict, read_loss_log
from avikit.train.pretrain import (
    PretrainConfig,
    evaluate_pretrained_retrieval,
    load_avsynth_tensors,
    pretrain,
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain")
    return pretrain(PretrainConfig.tiny(), out, show_progress=False)


def test_config_is_strict_and_round_trips():
    cfg = PretrainConfig.tiny()
    assert config_from_dict(PretrainConfig, config_to_dict(cfg)) == cfg
    with pytest.raises(ValueError, match="unknown field"):
        config_from_dict(PretrainConfig, {"model": {"dimm": 3}})


def test_data_tensors_have_model_layout():
    cfg = PretrainConfig.tiny()
    mel, frames = load_avsynth_tensors("val", 2, cfg)
    assert mel.shape == (2, cfg.model.n_mels, 401) and mel.dtype == torch.float32
    assert (
        frames.shape == (2, 4, 3, cfg.model.image_size, cfg.model.image_size) and frames.dtype == torch.uint8
    )


def test_tiny_pretraining_learns_to_pair_audio_and_vision(tiny_run):
    out, metrics = tiny_run.out_dir, tiny_run.metrics
    for name in (
        "model.safetensors",
        "config.json",
        "pretrain_config.json",
        "loss.jsonl",
        "loss.svg",
        "metrics.json",
    ):
        assert (out / name).is_file(), name
    records = read_loss_log(out / "loss.jsonl")
    cfg = PretrainConfig.tiny().train
    assert len(records) == cfg.epochs * (cfg.train_clips // cfg.batch_size)
    first = sum(r["clip_nce"] for r in records[:5]) / 5
    last = sum(r["clip_nce"] for r in records[-5:]) / 5
    assert last < first - 0.3 and last < math.log(cfg.batch_size)
    assert sum(r["visual_mae"] for r in records[-5:]) < sum(r["visual_mae"] for r in records[:5])
    scores = metrics["val_retrieval"]
    r1 = (scores["audio_to_video_r1"] + scores["video_to_audio_r1"]) / 2
    assert r1 > 2 * scores["chance_r1"], scores  # held-out clips, both directions
    assert json.loads((out / "metrics.json").read_text())["val_retrieval"] == scores


def test_saved_encoder_reloads_bit_identically(tiny_run):
    model = from_pretrained(tiny_run.out_dir)
    cfg = PretrainConfig.tiny()
    mel, frames = load_avsynth_tensors("val", cfg.train.val_clips, cfg)
    assert evaluate_pretrained_retrieval(model, mel, frames) == tiny_run.metrics["val_retrieval"]
    with pytest.raises(WeightsError):
        from_pretrained(tiny_run.out_dir / "missing")


def test_encoder_recipe_default_is_the_shipped_configuration():
    from pathlib import Path

    from avikit.models.encoders.av_encoder import KIND
    from avikit.models.packaged import WEIGHTS_DIR
    from avikit.nn import read_pretrained_config
    from avikit.train.recipes import EncoderRecipe

    recipe = EncoderRecipe().pretrain
    assert recipe.model == read_pretrained_config(WEIGHTS_DIR / "av-encoder", AVEncoderConfig, KIND)
    # the schedule the shipped trunk was trained with, as the training table of docs/models.md states it
    docs = (Path(__file__).parents[2] / "docs" / "models.md").read_text()
    row = next(line for line in docs.splitlines() if line.startswith("| av-encoder |"))
    clips, steps = (cell.strip() for cell in row.split("|")[2:4])
    t = recipe.train
    assert clips == f"{t.train_clips} (+{t.val_clips} val)"
    assert steps == str(t.epochs * (t.train_clips // t.batch_size))
