"""Feature cache: hits, misses, and invalidation by embedder, preprocessing and file content."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.eval.feature_cache import FeatureCache, feature_key, file_sha256


def test_second_call_is_a_hit_and_keys_cover_every_part(tmp_path):
    media = tmp_path / "clip.wav"
    media.write_bytes(b"audio bytes")
    cache = FeatureCache(tmp_path / "cache")
    calls = []

    def compute():
        calls.append(1)
        return {"embedding": np.arange(4.0), "logits": np.ones((2, 3), np.float32)}

    first = cache.get_or_compute(media, "panns@cnn14", {"sample_rate": 16000, "duration": 8.0}, compute)
    second = cache.get_or_compute(media, "panns@cnn14", {"duration": 8.0, "sample_rate": 16000}, compute)
    assert len(calls) == 1 and second["logits"].dtype == np.float32
    assert np.array_equal(first["embedding"], second["embedding"])
    assert cache.get(media, "panns@cnn14", {"sample_rate": 32000, "duration": 8.0}) is None
    assert cache.get(media, "vggish", {"sample_rate": 16000, "duration": 8.0}) is None
    media.write_bytes(b"other audio bytes")
    assert cache.get(media, "panns@cnn14", {"sample_rate": 16000, "duration": 8.0}) is None


def test_key_is_deterministic_and_checks_preprocessing(tmp_path):
    media = tmp_path / "a"
    media.write_bytes(b"x")
    digest = file_sha256(media)
    assert feature_key("e", {"a": 1, "b": 2}, digest) == feature_key("e", {"b": 2, "a": 1}, digest)
    assert feature_key("e", {"a": 1}, digest) != feature_key("e", {"a": 2}, digest)
    with pytest.raises(ValueError, match="JSON"):
        feature_key("e", {"a": object()}, digest)
