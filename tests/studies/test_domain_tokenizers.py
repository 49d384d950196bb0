"""The domain study's tokenizer grid: rates on the V2A timeline, bitrates, and every kind trains and decodes."""

from __future__ import annotations

import pytest
import torch

from avikit.errors import UsageError
from avikit.studies.domain_tokenizers import TokenizerSpec, TrainSettings, train_tokenizer

SETTINGS = TrainSettings(codebook_size=16, num_codebooks=2, steps=6, batch_size=2, crop_samples=4000)


def test_spec_names_rates_and_bitrates():
    spec = TokenizerSpec("mel", 16, "mixture")
    assert spec.name == "mel-16-mixture" and spec.bitrate(4, 256) == 16 * 4 * 8
    assert TokenizerSpec("acoustic", 16, "music").strides == (5, 5, 5, 8)
    with pytest.raises(UsageError):
        TokenizerSpec("acoustic", 32, "music")


@pytest.mark.parametrize(("kind", "rate"), [("acoustic", 16), ("semantic", 64), ("mel", 16)])
def test_every_kind_trains_and_decodes_at_its_rate(kind, rate, tiny_encoder):
    from avikit.models.encoders.trunk import load_encoder

    audio = torch.randn(4, 1, 8000) * 0.1
    encoder = load_encoder(tiny_encoder)
    codec, record = train_tokenizer(TokenizerSpec(kind, rate, "mixture"), SETTINGS, audio, encoder)
    assert codec.frame_rate == rate and codec.num_codebooks == 2 and codec.cardinality == 16
    codes = codec.encode(audio[:2])
    assert codes.shape == (2, 2, 8000 * rate // 16000)
    for count in (1, 2):  # quantizer dropout: the first codes decode at every count
        assert codec.decode(codes[:, :count]).shape == (2, 1, 8000)
    assert record["parameters"] > 0 and record["seconds"] > 0
    if kind == "mel":  # the frozen vocoder does not count as trained
        assert record["parameters"] < sum(p.numel() for p in codec.parameters())
