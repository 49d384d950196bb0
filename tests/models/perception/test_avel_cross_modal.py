"""Tests of the avel-cross-modal reference model: training, weights round trip, protocol and schema."""

from __future__ import annotations

import pytest
import torch

from avikit.metrics import evaluate_ave_cross_modal
from avikit.models.perception import avel_cross_modal
from avikit.train.perception import avel_cross_modal as cross_modal_train
from tests.model_fixtures import check_model, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("avel-cross-modal", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = avel_cross_modal.from_pretrained(result.out_dir)
    assert isinstance(model, avel_cross_modal.CrossModalModel)
    from avikit.train.recipes import _HEADS

    with torch.no_grad():
        after = float(_HEADS["avel-cross-modal"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["avel-cross-modal"])


def test_packaged_weights_load_and_predict():
    check_model(avel_cross_modal.from_pretrained(), ["avel-cross-modal"], count=1)


def test_window_costs_match_a_brute_force_sum():
    torch.manual_seed(0)
    cost = torch.rand(3, 10)
    length = torch.tensor([1, 4, 9])
    windows = cross_modal_train._window_costs(cost, length)
    for b in range(3):
        for start in range(10):
            end = start + int(length[b])
            expected = float(cost[b, start:end].sum()) if end <= 10 else float("inf")
            assert float(windows[b, start]) == pytest.approx(expected, rel=1e-6)


def test_distances_of_confident_event_logits_score_full_marks_under_the_official_rule():
    # a head whose event logits are +8 on the event seconds and -8 elsewhere: the task's sliding rule
    # (the official AVE window sums) must find the event in both directions
    head = avel_cross_modal.build_cross_modal_head(avel_cross_modal.CrossModalConfig(dim=8, hidden=8))
    events = torch.zeros(4, 10)
    for b, (start, stop) in enumerate([(0, 3), (2, 7), (5, 10), (4, 5)]):
        events[b, start:stop] = 1
    logits = 16 * events - 8
    distances = head.distances_from_logits(logits)
    scores = evaluate_ave_cross_modal(distances.numpy(), events.numpy())
    assert scores == {"a2v": 100.0, "v2a": 100.0}
    # the listwise loss is low for these logits and high for the reversed ones
    assert float(cross_modal_train._listwise(logits, events)) < 0.01
    assert float(cross_modal_train._listwise(-logits, events)) > 1.0
