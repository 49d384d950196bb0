import torch

from avikit.nn import (
    Attention,
    Block,
    TemporalConv,
    TemporalTransformer,
    pool_segments,
    segment_frame_indices,
)


def test_attention_key_mask_hides_keys():
    torch.manual_seed(0)
    attn = Attention(16, 4).eval()
    x = torch.randn(2, 6, 16)
    mask = torch.tensor([[True] * 4 + [False] * 2, [True] * 6])
    y1 = attn(x, key_mask=mask)
    x2 = x.clone()
    x2[0, 4:] = torch.randn(2, 16) * 50  # change only masked keys of clip 0 ...
    y2 = attn(x2, key_mask=mask)
    # masked keys weigh exactly 0; float32 width 16: BLAS order moves ~16 * 2^-24 per matmul
    assert torch.allclose(y1[0, :4], y2[0, :4], atol=1e-5)  # ... unmasked queries of clip 0 do not see them
    assert torch.allclose(y1[1], y2[1])
    _, weights = attn.attend(x, key_mask=mask)
    assert weights.shape == (2, 4, 6, 6)
    assert float(weights[0, :, :, 4:].detach().abs().max()) == 0.0
    # the same float32 attention through two functions: ~1e-7
    assert torch.allclose(attn.attend(x, key_mask=mask)[0], y1, atol=1e-5)  # both paths agree


def test_block_gradients_reach_every_parameter():
    block = Block(8, 2)
    block(torch.randn(3, 5, 8)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in block.parameters())


def test_temporal_models_keep_shape_and_transformer_respects_padding():
    torch.manual_seed(0)
    tt = TemporalTransformer(8, depth=2, heads=2).eval()
    x = torch.randn(2, 7, 8)
    mask = torch.ones(2, 7, dtype=torch.bool)
    mask[:, 5:] = False
    y = tt(x, mask)
    x2 = x.clone()
    x2[:, 5:] = 0.0
    # masked steps weigh exactly 0; float32 width 8, depth 2: BLAS order moves ~1e-7
    assert torch.allclose(y[:, :5], tt(x2, mask)[:, :5], atol=1e-5)
    assert TemporalConv(8, depth=3)(x).shape == x.shape


def test_pool_segments_is_exact_mean_on_whole_spans():
    x = torch.arange(12, dtype=torch.float32).view(1, 6, 2)
    assert torch.equal(pool_segments(x, 3), x.view(1, 3, 2, 2).mean(2))


def test_segment_frame_indices_are_centred_and_exact():
    assert segment_frame_indices(80, 10) == [4 + 8 * i for i in range(10)]
    idx = segment_frame_indices(30, 3, 2)
    assert idx == [2, 7, 12, 17, 22, 27]
