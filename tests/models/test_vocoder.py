"""The trained mel vocoder: shapes, learning on a few steps, save/load, and the Griffin-Lim comparison."""

from __future__ import annotations

import torch

from avikit.models.gen_recipes import GenTrainConfig, load_pairs
from avikit.models.v2a import V2AConfig
from avikit.models.v2a_model import V2AModelConfig, build_v2a_generator
from avikit.models.vocoder import (
    VocoderConfig,
    VocoderTrainConfig,
    build_vocoder,
    evaluate_vocoder,
    from_pretrained,
    train_vocoder,
)

TINY = VocoderConfig(base=2)


def test_a_few_steps_lower_the_loss_and_the_saved_vocoder_loads(tmp_path):
    audio = load_pairs("train", 4, GenTrainConfig(duration=1))["audio"]  # [4, 1, 16000]
    schedule = VocoderTrainConfig(steps=30, batch_size=4, crop_frames=8, learning_rate=5e-3)
    vocoder, record = train_vocoder(audio, TINY, schedule, tmp_path, progress=False)
    curve = record["loss_curve"]
    assert sum(curve[-5:]) / 5 < 0.8 * sum(curve[:5]) / 5
    loaded = from_pretrained(tmp_path / "vocoder")
    mel = vocoder.features(audio[:1])
    torch.testing.assert_close(loaded(mel), vocoder(mel))
    scores = evaluate_vocoder(vocoder, audio[:2])
    assert set(scores) == {"vocoder", "griffin_lim"} and scores["vocoder"]["rtf"] > 0


def test_the_flow_generator_uses_a_vocoder_when_its_config_names_one():
    network = V2AConfig(dim=16, depth=1, heads=2)
    model = build_v2a_generator(V2AModelConfig("flow", network, 8, num_steps=1, vocoder=TINY))
    assert model.vocoder is not None
    frames = torch.zeros(8, 32, 32, 3, dtype=torch.uint8).numpy()
    assert model.generate(frames).shape == (16000,)
    mel = torch.zeros(1, 64, 64)
    assert build_vocoder(TINY)(mel).shape == (1, 1, 16000)
