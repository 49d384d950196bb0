"""Speech metrics: WER against an independent Levenshtein, PESQ and STOI at their closed-form extremes."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.errors import UsageError
from avikit.metrics.speech import (
    compute_pesq,
    compute_stoi,
    compute_wer,
    compute_wer_statistics,
    evaluate_wer,
    normalize_transcript,
)


def _levenshtein(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def test_wer_equals_an_independent_word_edit_distance():
    rng = np.random.default_rng(0)
    words = ["the", "red", "car", "blue", "door", "old", "man", "opens", "a", "every", "day"]
    references, hypotheses = [], []
    for _ in range(50):
        references.append(" ".join(rng.choice(words, rng.integers(3, 9))))
        hypotheses.append(" ".join(rng.choice(words, rng.integers(1, 10))))
    stats = compute_wer_statistics(references, hypotheses)
    expected = [_levenshtein(r.split(), h.split()) for r, h in zip(references, hypotheses, strict=True)]
    assert stats[:, 0].tolist() == expected
    assert compute_wer(stats) == pytest.approx(sum(expected) / sum(len(r.split()) for r in references))
    # shards merge: the corpus WER of concatenated statistics is the one-shot WER
    assert compute_wer(np.r_[stats[:20], stats[20:]]) == compute_wer(stats)


def test_wer_normalises_case_and_punctuation_and_counts_empty_hypotheses():
    assert normalize_transcript("Our neighbor's car, every day!") == "our neighbor's car every day"
    result = evaluate_wer(["The red car.", "a blue door"], ["the red car", ""])
    assert result["per_clip"] == [0.0, 1.0] and result["wer"] == pytest.approx(3 / 6)
    with pytest.raises(UsageError, match="no words"):
        compute_wer_statistics(["..."], ["x"])


def _speechlike(seconds: float = 3.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    envelope = (np.sin(2 * np.pi * 3 * t) > 0).astype(float)  # syllables of 1/6 s
    voice = sum(np.sin(2 * np.pi * k * 140 * t) / k for k in range(1, 20))
    return 0.1 * envelope * voice


def test_pesq_and_stoi_are_maximal_on_identity_and_fall_with_noise():
    clean = _speechlike()
    noisy = clean + np.random.default_rng(0).normal(0, 0.05, clean.shape)
    pesq = compute_pesq(np.stack([clean, clean]), np.stack([clean, noisy]))
    stoi = compute_stoi(np.stack([clean, clean]), np.stack([clean, noisy]))
    assert pesq[0] == pytest.approx(4.644, abs=1e-3)  # P.862.2's ceiling: identical signals
    assert stoi[0] == pytest.approx(1.0, abs=1e-6)  # identical envelopes correlate exactly
    assert pesq[1] < pesq[0] - 1 and stoi[1] < stoi[0]
    with pytest.raises(UsageError, match="16 kHz"):
        compute_pesq(clean, clean, 8000)
