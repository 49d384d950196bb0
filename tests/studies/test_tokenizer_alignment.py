"""Alignment of a tokenizer's codes at a tiny setting: retrieval from tokens and V2A over them."""

from __future__ import annotations

import torch

from avikit.studies.domain_tokenizers import TokenizerSpec, TrainSettings, train_tokenizer
from avikit.studies.tokenizer_alignment import AlignmentConfig, load_alignment_data, score_alignment


def test_tokens_replace_the_tokenizer_in_retrieval_and_v2a():
    config = AlignmentConfig(num_train=4, num_test=4, duration=2, probe_steps=2, v2a_steps=2, v2a_test=2)
    data = load_alignment_data(config)
    audio = data["pairs"]["train"]["audio"]
    settings = TrainSettings(codebook_size=16, num_codebooks=2, steps=2, batch_size=2, crop_samples=4000)
    codec, _ = train_tokenizer(TokenizerSpec("acoustic", 16, "mixture"), settings, audio)
    torch.manual_seed(0)
    scores = score_alignment(codec, data, config)
    retrieval = scores["retrieval"]
    assert retrieval["num_clips"] == 4 and retrieval["chance_r1"] == 0.25 and 0 <= retrieval["r1"] <= 1
    assert {"mel_distance", "alignment", "desync", "rtf"} <= set(scores["v2a"])
    assert set(scores["v2a_baselines"]) == {"retrieval", "reference"}
    assert data["log_mel_retrieval"]["num_clips"] == 4
