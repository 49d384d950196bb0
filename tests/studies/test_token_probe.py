"""The retrieval probe on tokens: pooling against its closed form, chance and ceilings, and a toy set where
the codes decide the class (above chance) against one where they do not (at chance)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avikit.nn.quantize import build_rvq
from avikit.studies.token_probe import (
    code_vectors,
    evaluate_probe_retrieval,
    fit_retrieval_probe,
    pool_segment_statistics,
)


def test_pooling_matches_per_span_mean_and_std():
    vectors = torch.randn(3, 10, 4)
    pooled = pool_segment_statistics(vectors, 3)  # spans [0, 3), [3, 6), [6, 10)
    assert pooled.shape == (3, 3, 8)
    for s, (a, b) in enumerate([(0, 3), (3, 6), (6, 10)]):
        assert torch.allclose(pooled[:, s, :4], vectors[:, a:b].mean(1))
        assert torch.allclose(pooled[:, s, 4:], vectors[:, a:b].std(1))
    with pytest.raises(ValueError, match="segments"):
        pool_segment_statistics(vectors, 6)


def test_identical_features_rank_first_and_chance_is_stated():
    features = torch.randn(20, 2, 8)
    scores = evaluate_probe_retrieval(None, features, features)
    assert scores["r1"] == scores["r1_low"] == 1.0 and scores["mean_rank"] == 1.0
    assert (
        scores["chance_r1"] == 1 / 20 and scores["chance_r5"] == 5 / 20 and scores["chance_mean_rank"] == 10.5
    )
    shuffled = evaluate_probe_retrieval(None, features, features[torch.randperm(20)])
    assert shuffled["r1"] <= 0.2 and shuffled["r1_low"] <= shuffled["r1"] <= shuffled["r1_high"]


def _toy(codes_follow_class: bool, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Clips of one of 6 classes: codes ``[N, 1, T]`` and visual segment features ``[N, 2, 16]``.

    Class ``c`` draws its codes from entries ``4c .. 4c + 3`` of a 24-entry codebook (or, as a control,
    from all 24 whatever the class); its visual features are a class prototype plus noise.
    """
    generator = torch.Generator().manual_seed(seed)
    classes = torch.arange(count) % 6
    prototypes = torch.randn(6, 16, generator=torch.Generator().manual_seed(99))
    offsets = torch.randint(0, 4, (count, 1, 40), generator=generator)
    codes = (
        4 * classes[:, None, None] + offsets
        if codes_follow_class
        else torch.randint(0, 24, (count, 1, 40), generator=generator)
    )
    visual = prototypes[classes][:, None] + 0.3 * torch.randn(count, 2, 16, generator=generator)
    return codes, visual


@pytest.mark.parametrize("codes_follow_class", [True, False])
def test_probe_retrieves_above_chance_only_when_codes_carry_the_class(codes_follow_class):
    torch.manual_seed(0)
    quantizer = build_rvq(8, 24, 1).eval()  # random codebook: the probe sees its embeddings
    (train_codes, train_visual), (test_codes, test_visual) = (
        _toy(codes_follow_class, 120, 1),
        _toy(codes_follow_class, 48, 2),
    )
    pooled_train = pool_segment_statistics(code_vectors(quantizer, train_codes), 2)
    pooled_test = pool_segment_statistics(code_vectors(quantizer, test_codes), 2)
    probe = fit_retrieval_probe(pooled_train, train_visual, steps=200)
    scores = evaluate_probe_retrieval(probe, pooled_test, test_visual)
    # the class fixes the pair up to the 8 test clips of that class: ceiling R@1 ~ 1/8, R@5 ~ 5/8
    if codes_follow_class:
        assert scores["r5_low"] > scores["chance_r5"] and scores["r5"] > 0.4
        assert scores["mean_rank"] < 0.5 * scores["chance_mean_rank"]
    else:
        assert scores["r5_low"] <= scores["chance_r5"] <= scores["r5_high"]
        assert np.isclose(scores["chance_r5"], 5 / 48)


def test_probe_fit_is_seeded_and_checks_shapes():
    audio, visual = torch.randn(10, 2, 6), torch.randn(10, 2, 4)
    first, second = fit_retrieval_probe(audio, visual, steps=5), fit_retrieval_probe(audio, visual, steps=5)
    assert torch.equal(first.linear.weight, second.linear.weight)
    with pytest.raises(ValueError, match="paired"):
        fit_retrieval_probe(audio, visual[:9])
