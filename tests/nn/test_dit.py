"""Joint-attention DiT: shapes, identity at init, causality, per-token conditioning and aligned positions."""

from __future__ import annotations

import pytest
import torch

from avikit.nn.dit import FinalLayer, JointDiT, JointDiTBlock, TimestepEmbedder, aligned_positions


def test_shapes_with_and_without_context():
    backbone = JointDiT(dim=32, depth=2, heads=4)
    x, y, c = torch.randn(2, 12, 32), torch.randn(2, 3, 32), torch.randn(2, 32)
    assert backbone(x, y, c).shape == (2, 12, 32)
    assert backbone(x, None, c).shape == (2, 12, 32)
    assert backbone(x, y, c, x_condition=torch.randn(2, 12, 32)).shape == (2, 12, 32)
    assert TimestepEmbedder(32)(torch.rand(5)).shape == (5, 32)
    with pytest.raises(ValueError):
        JointDiTBlock(30, 4)


def test_blocks_start_as_identity_and_final_layer_as_zero():
    block = JointDiTBlock(16, 2)
    x, y, c = torch.randn(1, 5, 16), torch.randn(1, 2, 16), torch.randn(1, 16)
    out_x, out_y = block(x, y, c, c)
    assert torch.equal(out_x, x) and torch.equal(out_y, y)
    assert torch.equal(FinalLayer(16, 3)(x, c), torch.zeros(1, 5, 3))


def _randomise(module: torch.nn.Module) -> None:
    torch.manual_seed(0)
    for p in module.parameters():
        torch.nn.init.normal_(p, std=0.2)


def test_causal_backbone_does_not_see_the_future():
    backbone = JointDiT(dim=16, depth=2, heads=2, causal=True)
    _randomise(backbone)
    x, y, c = torch.randn(1, 8, 16), torch.randn(1, 3, 16), torch.randn(1, 16)
    changed = x.clone()
    changed[:, 5:] = torch.randn(1, 3, 16)
    a, b = backbone(x, y, c), backbone(changed, y, c)
    # causal mask weighs the future exactly 0; float32 width 16: ~1e-7
    assert torch.allclose(a[:, :5], b[:, :5], atol=1e-6) and not torch.allclose(a[:, 5:], b[:, 5:])
    y_changed = torch.randn(1, 3, 16)
    assert not torch.allclose(backbone(x, y_changed, c)[:, 0], a[:, 0])


def test_context_and_per_token_condition_reach_the_output():
    backbone = JointDiT(dim=16, depth=1, heads=2)
    _randomise(backbone)
    x, y, c = torch.randn(1, 6, 16), torch.randn(1, 2, 16), torch.randn(1, 16)
    base = backbone(x, y, c)
    assert not torch.allclose(base, backbone(x, torch.randn(1, 2, 16), c))
    local = torch.zeros(1, 6, 16)
    local[:, 2] = 1.0
    moved = backbone(x, y, c, x_condition=local)
    assert not torch.allclose(moved[:, 2], base[:, 2])


def test_aligned_positions_place_context_on_the_same_timeline():
    audio, video = aligned_positions(16, 8), aligned_positions(4, 8, span=16)
    # one time from two float32 grids: 1 ulp of values <= 16
    assert torch.allclose(video[1], audio[4], atol=1e-6) and torch.allclose(video[3], audio[12], atol=1e-6)
    with pytest.raises(ValueError):
        aligned_positions(4, 7)
