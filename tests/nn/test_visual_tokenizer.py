"""Frame VQ tokenizer: shapes, rates, protocol, and learning on AVSynth frames."""

from __future__ import annotations

import torch

from avikit.data.synth import SynthConfig, generate
from avikit.nn.tokenizer import Tokenizer
from avikit.nn.visual_tokenizer import build_visual_tokenizer


def test_round_trip_shapes_rates_and_protocol():
    tokenizer = build_visual_tokenizer(image_size=32, levels=3, fps=8, num_codebooks=2, codebook_size=64)
    tokenizer.eval()
    video = torch.rand(2, 5, 3, 32, 32)
    codes = tokenizer.encode(video)
    assert codes.shape == (2, 2, 5 * 4 * 4) and int(codes.max()) < 64
    assert tokenizer.decode(codes).shape == video.shape
    assert tokenizer.frame_rate == 8 * 16 and tokenizer.sample_rate == 8
    assert isinstance(tokenizer, Tokenizer)


def test_training_on_avsynth_frames_reduces_the_error():
    torch.manual_seed(0)
    _, clip = generate("train", 0, config=SynthConfig(duration=2, size=32))
    video = torch.from_numpy(clip.frames).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)  # [1, T, C, H, W]
    tokenizer = build_visual_tokenizer(image_size=32, levels=2, base=8, latent_dim=16, codebook_size=32)
    optimizer = torch.optim.Adam(tokenizer.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        reconstruction, _, parts = tokenizer(video)
        loss = ((reconstruction - video) ** 2).mean() + parts["commitment"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]
