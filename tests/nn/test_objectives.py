import math

import pytest
import torch

from avikit.nn import info_nce, masked_reconstruction_loss, segment_info_nce


def test_info_nce_matches_closed_form_on_a_hand_computed_case():
    # unit vectors at 0 and 90 degrees: cosines [[1, 0], [0, 1]] / tau
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    tau = 0.5
    expected = -math.log(math.exp(2.0) / (math.exp(2.0) + math.exp(0.0)))  # same for both rows and directions
    # float32 log-softmax of 2 terms vs float64: a few 2^-24
    assert float(info_nce(a, a.clone(), tau)) == pytest.approx(expected, rel=1e-6)


def test_info_nce_asymmetric_case_by_hand():
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # logits [[1, 0], [1, 0]]: a->v rows: -log(e/(e+1)), -log(1/(e+1)); v->a columns: [[1,1],[0,0]]
    e = math.e
    a2v = 0.5 * (-math.log(e / (e + 1)) - math.log(1 / (e + 1)))
    v2a = 0.5 * (-math.log(0.5) - math.log(0.5))
    # float32 vs float64 closed form: a few 2^-24
    assert float(info_nce(a, v, 1.0, symmetric=False)) == pytest.approx(a2v, rel=1e-6)
    # float32 vs float64 closed form: a few 2^-24
    assert float(info_nce(a, v, 1.0)) == pytest.approx(0.5 * (a2v + v2a), rel=1e-6)


def test_info_nce_is_symmetric_in_its_arguments_and_scale_invariant():
    g = torch.Generator().manual_seed(0)
    a, v = torch.randn(6, 8, generator=g), torch.randn(6, 8, generator=g)
    assert torch.allclose(info_nce(a, v), info_nce(v, a))
    assert torch.allclose(info_nce(3 * a, v), info_nce(a, v))


def test_info_nce_of_identical_embeddings_is_log_n():
    a = torch.ones(5, 4)
    # float32 log-sum-exp of 5 equal terms: a few 2^-24
    assert float(info_nce(a, a)) == pytest.approx(math.log(5), rel=1e-6)


def test_segment_info_nce_equals_info_nce_on_flattened_segments_and_drops_padding():
    g = torch.Generator().manual_seed(1)
    a, v = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    assert torch.allclose(segment_info_nce(a, v, 0.1), info_nce(a.reshape(6, 4), v.reshape(6, 4), 0.1))
    valid = torch.tensor([[True, True, False], [True, False, False]])
    expected = info_nce(a[valid], v[valid], 0.1)
    assert torch.allclose(segment_info_nce(a, v, 0.1, valid=valid), expected)


def test_masked_reconstruction_counts_only_masked_patches():
    target = torch.randn(2, 4, 6)
    prediction = target.clone()
    mask = torch.tensor([[True, False, False, True], [False, False, True, False]])
    prediction[~mask] += 100.0  # errors on visible patches must not count
    assert float(masked_reconstruction_loss(prediction, target, mask, normalize_target=False)) == 0.0
    prediction[mask] += 1.0
    assert float(
        masked_reconstruction_loss(prediction, target, mask, normalize_target=False)
    ) == pytest.approx(1.0)


def test_masked_reconstruction_normalises_targets_per_patch():
    target = torch.tensor([[[1.0, 3.0]]])  # mean 2, unbiased var 2
    prediction = torch.tensor([[[-1.0, 1.0]]]) / math.sqrt(2.0)
    mask = torch.tensor([[True]])
    # float32 mean/var of 2 values and a mean: ~1e-7
    assert float(masked_reconstruction_loss(prediction, target, mask)) == pytest.approx(0.0, abs=1e-5)


def test_objectives_reject_bad_shapes():
    with pytest.raises(ValueError):
        info_nce(torch.randn(3, 4), torch.randn(4, 4))
    with pytest.raises(ValueError):
        masked_reconstruction_loss(torch.randn(2, 3), torch.randn(2, 3), torch.zeros(2, dtype=torch.bool))


def test_multi_scale_mel_loss_of_a_gain_is_its_log():
    # x vs 2x: waveform L1 = mean|x|, and every log-mel bin differs by log 2 (noise fills every bin)
    from avikit.nn.objectives import MultiScaleMelLoss

    waveform = torch.randn(2, 1, 8192, generator=torch.Generator().manual_seed(0)) * 0.3
    loss = MultiScaleMelLoss()
    expected = float(waveform.abs().mean()) + math.log(2)
    assert abs(float(loss(2 * waveform, waveform)) - expected) < 1e-3
    assert float(loss(waveform, waveform)) == 0.0
    with pytest.raises(ValueError, match=r"\[B, C, N\]"):
        loss(waveform[0], waveform[0])
