import torch

from avikit.nn import (
    TPAVI,
    AudioConditionedMaskDecoder,
    AudioGuidedAttention,
    CrossModalAttention,
    HybridAttentionTransformer,
    JointTransformer,
)


def test_audio_guided_attention_weights_sum_to_one_and_pick_regions():
    torch.manual_seed(0)
    att = AudioGuidedAttention(8, 6, hidden=4)
    v, a = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 6)
    out, w = att(v, a)
    assert out.shape == (2, 3, 8) and w.shape == (2, 3, 5)
    assert torch.allclose(w.sum(-1), torch.ones(2, 3))
    assert torch.allclose(out, (w[..., None] * v).sum(2))


def test_hybrid_attention_shapes_gradients_and_padding():
    torch.manual_seed(0)
    han = HybridAttentionTransformer(16, depth=2, heads=2).eval()
    a, v = torch.randn(2, 6, 16, requires_grad=True), torch.randn(2, 6, 16, requires_grad=True)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[0, 4:] = False
    a2, v2 = han(a, v, mask)
    assert a2.shape == v2.shape == (2, 6, 16)
    (a2.sum() + v2.sum()).backward()
    assert a.grad is not None and v.grad is not None and v.grad.abs().sum() > 0
    b, w = a.detach().clone(), v.detach().clone()
    b[0, 4:], w[0, 4:] = 9.0, -9.0  # padded steps must not change the others
    a3, v3 = han(b, w, mask)
    # float32, width 16, depth 2: masked keys weigh exactly 0; BLAS order moves ~16 * 2^-24 per matmul
    assert torch.allclose(a2[0, :4], a3[0, :4], atol=1e-5) and torch.allclose(v2[0, :4], v3[0, :4], atol=1e-5)


def test_cross_modal_audio_output_depends_on_vision():
    torch.manual_seed(0)
    cm = CrossModalAttention(8, heads=2).eval()
    a, v = torch.randn(1, 4, 8), torch.randn(1, 4, 8)
    a1, _ = cm(a, v)
    a2, _ = cm(a, torch.randn(1, 4, 8))
    assert not torch.allclose(a1, a2)


def test_joint_transformer_splits_back_its_parts():
    jt = JointTransformer(8, depth=1, heads=2)
    a, v = jt(torch.randn(2, 3, 8), torch.randn(2, 5, 8))
    assert a.shape == (2, 3, 8) and v.shape == (2, 5, 8)


def test_tpavi_matches_the_quadratic_definition():
    torch.manual_seed(0)
    tp = TPAVI(8, inner=4).eval()
    v, a = torch.randn(2, 3, 8, 2, 2), torch.randn(2, 3, 8)
    out, same = tp(v, a)
    # quadratic form: every pixel attends to every (step, pixel) whose key is that step's audio
    b, t, d, h, w = v.shape
    flat = v.flatten(0, 1)
    q = tp.theta(flat).view(b, t, 4, h * w).permute(0, 1, 3, 2).reshape(b, t * h * w, 4)
    g = tp.g(flat).view(b, t, 4, h * w).permute(0, 1, 3, 2).reshape(b, t * h * w, 4)
    k = tp.phi(a)[:, :, None, :].expand(b, t, h * w, 4).reshape(b, t * h * w, 4)
    y = (q @ k.transpose(1, 2) / (t * h * w)) @ g  # [B, N, I]
    y = y.view(b, t, h * w, 4).permute(0, 1, 3, 2).reshape(b * t, 4, h, w)
    expected = v + tp.w_z(y).view(b, t, d, h, w)
    # float32 sums of t*h*w = 12 O(1) terms, two orders: < 1e-6
    assert torch.allclose(out, expected, atol=1e-5)
    assert same.shape == (2, 3, 2, 2)


def test_mask_decoder_output_size_and_gradients():
    dec = AudioConditionedMaskDecoder(16, num_classes=3, upsample_steps=2)
    maps = torch.randn(2, 4, 16, 4, 4, requires_grad=True)
    logits = dec(maps, torch.randn(2, 4, 16), size=(32, 32))
    assert logits.shape == (2, 4, 3, 32, 32)
    logits.sum().backward()
    assert maps.grad is not None and maps.grad.abs().sum() > 0
