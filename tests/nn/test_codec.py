"""Audio codecs: round-trip shapes and rates, the Tokenizer protocol, learning, the semantic variant."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from avikit.nn.codec import build_audio_codec, build_semantic_codec
from avikit.nn.tokenizer import Tokenizer, bitrate
from avikit.nn.weights import count_parameters


class _MeanTeacher(nn.Module):
    """Frame energies as stand-in features ``[B, S, 2]`` (frozen by the codec)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(2))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        frames = waveform.mean(1).unfold(-1, 160, 160)  # [B, S, 160]
        return torch.stack([frames.abs().mean(-1), frames.std(-1)], dim=-1) * self.scale


@pytest.mark.parametrize("strides", [(4, 4), (2, 5), (4, 4, 4)])
def test_round_trip_shapes_and_rates(strides):
    codec = build_audio_codec(strides=strides, num_codebooks=3, codebook_size=64)
    hop = 1
    for stride in strides:
        hop *= stride
    codec.eval()
    waveform = torch.randn(2, 1, 16000) * 0.1
    codes = codec.encode(waveform)
    assert codes.shape == (2, 3, -(-16000 // hop)) and codes.dtype == torch.long
    assert int(codes.max()) < codec.cardinality
    assert codec.decode(codes).shape == (2, 1, codes.shape[-1] * hop)
    assert codec.frame_rate == 16000 / hop and codec.sample_rate == 16000
    assert isinstance(codec, Tokenizer)
    assert bitrate(codec) == pytest.approx(codec.frame_rate * 3 * 6)
    reconstruction, train_codes, _ = codec(waveform)
    assert reconstruction.shape == waveform.shape and torch.equal(train_codes, codes)


def test_default_codec_is_tiny():
    assert count_parameters(build_audio_codec()) < 1_000_000


def test_training_reduces_the_reconstruction_error():
    torch.manual_seed(0)
    codec = build_audio_codec(strides=(4, 4), base=8, latent_dim=16, num_codebooks=2, codebook_size=32)
    t = torch.arange(2048) / 16000
    waveform = (0.5 * torch.sin(2 * torch.pi * 440 * t)).view(1, 1, -1).repeat(2, 1, 1)
    optimizer = torch.optim.Adam(codec.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        reconstruction, _, parts = codec(waveform)
        loss = (reconstruction - waveform).abs().mean() + parts["commitment"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]


def test_semantic_codec_keeps_the_teacher_frozen_and_decodes_without_it():
    teacher = _MeanTeacher()
    codec = build_semantic_codec(teacher, 2, strides=(4, 4), base=8, latent_dim=16, num_codebooks=2)
    assert isinstance(codec, Tokenizer)
    waveform = torch.randn(2, 1, 3200) * 0.1
    reconstruction, codes, losses = codec(waveform)
    assert set(losses) == {"commitment", "semantic"} and reconstruction.shape == waveform.shape
    (reconstruction.abs().mean() + losses["semantic"]).backward()
    assert teacher.scale.grad is None and not teacher.training
    assert codec.semantic_in.weight.grad is not None
    codec.eval()
    assert codec.decode(codec.encode(waveform)).shape == (2, 1, 3200)
    assert codec.decode_semantic(codes).shape == (2, 2, 200)
