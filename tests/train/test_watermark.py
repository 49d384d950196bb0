"""The watermark recipe: a tiny run end to end, its masking loss in closed form, its augmentations."""

from __future__ import annotations

import json
import math

import pytest
import torch

from avikit.models.watermark.learned import from_pretrained
from avikit.train.recipes import tiny_recipe, train_recipe
from avikit.train.watermark import augment, masking_loss, pooled_message_loss


def test_tiny_recipe_writes_a_loadable_pair(tmp_path):
    result = train_recipe("watermark", tmp_path, tiny_recipe("watermark", tmp_path), show_progress=False)
    assert result.metrics["steps"] == 3
    assert all(torch.isfinite(torch.tensor(v)) for v in result.metrics["last_100_steps"].values())
    assert len((tmp_path / "train_loss.jsonl").read_text().splitlines()) == 3
    assert json.loads((tmp_path / "recipe.json").read_text())["model"]["hidden"] == 16
    assert from_pretrained(tmp_path).detect(torch.zeros(800).numpy()).probability.shape == (800,)


def test_masking_loss_closed_form():
    host = torch.randn(2, 1, 4096)
    # a watermark 40 dB under the host in every bin is 30 dB under the 10 dB margin: no loss
    assert float(masking_loss(0.01 * host, host)) == 0.0
    # a watermark equal to the host exceeds the margin by exactly 10 dB = 1 bel in every bin
    assert float(masking_loss(host, host)) == pytest.approx(1.0, abs=1e-5)  # 1e-10 power floor


def test_pooled_message_loss_averages_logits_over_the_watermarked_samples():
    mask = torch.zeros(3, 1, 10)
    mask[0, :, :4] = 1
    mask[1] = 1  # crop 2 has no watermarked sample: left out
    logits = torch.full((3, 2, 10), -5.0)
    logits[0, :, :4] = torch.tensor([[1.0, 3.0, 1.0, 3.0], [-2.0, -2.0, -2.0, -2.0]])  # means 2 and -2
    logits[1] = torch.tensor([[0.5], [0.5]])
    bits = torch.tensor([[1, 0], [0, 1], [1, 1]])
    # BCE(logit z, bit 1) = log(1 + e^-z), BCE(z, 0) = log(1 + e^z)
    crop0 = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(-2.0))) / 2
    crop1 = (math.log1p(math.exp(0.5)) + math.log1p(math.exp(-0.5))) / 2
    loss = pooled_message_loss(logits, mask, bits)
    assert float(loss) == pytest.approx((crop0 + crop1) / 2, rel=1e-6)  # float32 log1p/exp
    assert float(pooled_message_loss(logits, torch.zeros(3, 1, 10), bits)) == 0.0


def test_augmentations_keep_batch_and_mask_aligned():
    gen = torch.Generator().manual_seed(0)
    audio, mask = torch.randn(3, 1, 8000), torch.ones(3, 1, 8000)
    for _ in range(40):
        out, moved = augment(audio, mask, audio, 16000, gen, codec_p=0.05)
        assert out.shape == moved.shape and out.shape[:2] == (3, 1) and torch.isfinite(out).all()
