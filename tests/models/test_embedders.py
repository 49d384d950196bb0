"""Embedders: pinned preprocessing, the protocol, the metric pipeline over embeddings, loader errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from avikit.data.synth import SynthConfig, generate
from avikit.media import AVClip
from avikit.metrics.generation import evaluate_frechet_distance
from avikit.models.embedders import Embedder, ModuleEmbedder, load_embedder


class _Stats(nn.Module):
    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        frames = waveform.unfold(-1, 400, 400)  # [1, F, 400]
        embedding = torch.stack([frames.std(-1).mean(-1), frames.abs().amax(-1).mean(-1)], dim=-1)
        return {"embedding": embedding, "logits": embedding @ torch.ones(2, 3)}


def test_preprocessing_is_mono_mean_removed_and_cut():
    waveform = np.stack([np.full(24000, 0.5, np.float32), np.full(24000, 0.1, np.float32)])
    clip = AVClip(waveform=waveform, sample_rate=16000)
    embedder = ModuleEmbedder("stats", _Stats(), 16000, duration=1.0)
    prepared = embedder.prepare(clip)
    assert prepared.shape == (1, 16000) and float(prepared.abs().max()) < 1e-6
    assert isinstance(embedder, Embedder) and embedder.preprocessing["duration"] == 1.0


def test_a_clip_at_another_rate_is_an_error():
    clip = AVClip(waveform=np.zeros((1, 800), np.float32), sample_rate=8000)
    with pytest.raises(ValueError, match="resample"):
        ModuleEmbedder("stats", _Stats(), 16000).embed(clip)


def test_embeddings_of_avsynth_clips_feed_the_frechet_distance():
    embedder = ModuleEmbedder("stats", _Stats(), 16000, duration=1.0)
    config = SynthConfig(duration=1, size=32)
    features = [embedder.embed(generate("test", index, config=config)[1]) for index in range(6)]
    assert features[0]["embedding"].shape == (2,) and features[0]["logits"].shape == (3,)
    embeddings = np.stack([item["embedding"] for item in features])
    assert evaluate_frechet_distance(embeddings, embeddings)["frechet_distance"] == pytest.approx(
        0.0, abs=1e-9
    )


def test_loader_names_and_missing_packages():
    with pytest.raises(ValueError, match="choose one of"):
        load_embedder("inception")
    # the real packages are optional; without them the message says how to install
    try:
        import hear21passt  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install hear21passt"):
            load_embedder("passt")
