"""Caption-to-clip mAP against a hand computation of average precision (precision at each hit)."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.metrics import evaluate_caption_to_clip_map


def test_caption_to_clip_map_equals_precision_at_each_hit():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 40)
    scores = rng.standard_normal((40, 6))  # two captions of absent classes are ignored
    scores[np.arange(40), labels] += 1.0
    expected = []
    for cls in np.unique(labels):
        order = np.argsort(-scores[:, cls])
        hits = labels[order] == cls
        expected.append(np.mean(np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)))
    value, chance = evaluate_caption_to_clip_map(scores, labels).values()
    assert value == pytest.approx(np.mean(expected))
    assert chance == pytest.approx(np.mean([np.mean(labels == c) for c in np.unique(labels)]))
    shuffled = evaluate_caption_to_clip_map(rng.standard_normal((40, 6)), labels)["map"]
    assert shuffled < value
