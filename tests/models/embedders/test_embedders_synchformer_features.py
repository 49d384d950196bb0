"""Synchformer's feature extractors against independent references: attention and divided space-time attention
written out from their definitions, the aggregation layer against torch's ``nn.TransformerEncoderLayer``, the
patch embeddings against patchify + linear in closed form, and AST against ``transformers``' ``ASTModel``."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from avikit.models.embedders.synchformer_features import (
    ASTFeatures,
    ASTFeaturesConfig,
    MotionformerConfig,
    MotionformerFeatures,
    _ClsPool,
    _DividedAttention,
    attend,
)

TINY_VIDEO = MotionformerConfig(dim=8, depth=1, heads=2, mlp_ratio=2)
TINY_AUDIO = ASTFeaturesConfig(dim=8, depth=2, heads=2, hidden=16)


def _naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v per head, head h = channels [h d, (h + 1) d); ``[Lq, D], [Lk, D] -> [Lq, D]``."""
    d = q.shape[-1] // heads
    out = []
    for h in range(heads):
        qh, kh, vh = (t[:, h * d : (h + 1) * d] for t in (q, k, v))
        out.append(torch.softmax(qh @ kh.T / d**0.5, dim=-1) @ vh)
    return torch.cat(out, dim=-1)


def test_attend_matches_the_definition():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 4, 12), torch.randn(3, 7, 12), torch.randn(3, 7, 12)
    expected = torch.stack([_naive_attention(q[i], k[i], v[i], 3) for i in range(3)])
    torch.testing.assert_close(attend(q, k, v, 3), expected)


@pytest.mark.parametrize("over_time", [True, False])
def test_divided_attention_matches_the_definition(over_time):
    torch.manual_seed(1)
    frames, patches, dim, heads = 3, 4, 8, 2
    attention = _DividedAttention(dim, heads)
    x = torch.randn(2, 1 + frames * patches, dim)
    out = attention(x, frames, over_time=over_time)
    q, k, v = attention.qkv(x).chunk(3, dim=-1)
    for b in range(2):
        expected = torch.zeros(1 + frames * patches, dim)
        expected[0] = _naive_attention(q[b, :1], k[b], v[b], heads)[0]  # CLS sees every token
        # a patch at (frame f, position n) sees CLS and its own frame (space) or its own position (time)
        groups = (
            [[1 + f * patches + n for f in range(frames)] for n in range(patches)]
            if over_time
            else [[1 + f * patches + n for n in range(patches)] for f in range(frames)]
        )
        for group in groups:
            keys = [0, *group]
            expected[group] = _naive_attention(q[b, group], k[b, keys], v[b, keys], heads)
        torch.testing.assert_close(out[b], attention.proj(expected))


def test_aggregation_layer_matches_torch_encoder_layer():
    torch.manual_seed(2)
    pool = _ClsPool(8, 2, 32)
    nn.init.normal_(pool.cls_token)
    for p in pool.parameters():  # non-trivial norms and biases
        p.data += 0.1 * torch.randn_like(p)
    reference = nn.TransformerEncoderLayer(
        8, 2, 32, dropout=0.0, activation=nn.GELU(), layer_norm_eps=1e-6, batch_first=True, norm_first=True
    ).eval()
    state = {k: v for k, v in pool.state_dict().items() if k != "cls_token"}
    reference.load_state_dict(state, strict=True)  # the same parameter names as torch's layer
    x = torch.randn(5, 6, 8)
    with torch.no_grad():
        expected = reference(torch.cat([pool.cls_token.expand(5, -1, -1), x], dim=1))[:, 0]
        torch.testing.assert_close(pool(x), expected)


def test_video_tubelets_are_patchify_plus_linear():
    torch.manual_seed(3)
    model = MotionformerFeatures(TINY_VIDEO)
    x = torch.randn(2, 16, 3, 224, 224)  # [N, T, C, H, W]
    ours = model.embed_patches(x)
    # tubelet (t, i, j) covers frames 2t..2t+1, rows 16i.., cols 16j..; flattened as (C, dt, dy, dx)
    patches = x.reshape(2, 8, 2, 3, 14, 16, 14, 16).permute(0, 1, 4, 6, 3, 2, 5, 7).reshape(2, 8 * 196, -1)
    conv = model.patch_embed_3d.proj
    expected = patches @ conv.weight.reshape(8, -1).T + conv.bias
    assert ours.shape == (2, 8 * 196, 8)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)


def test_audio_patches_overlap_with_stride_10():
    torch.manual_seed(4)
    model = ASTFeatures(TINY_AUDIO)
    mel = torch.randn(2, 1, 128, 66)
    ours = model.ast.embed_patches(mel)
    patches = mel[:, 0].unfold(1, 16, 10).unfold(2, 16, 10)  # [N, 12, 6, 16, 16], frequency-major
    conv = model.ast.embeddings.patch_embeddings.projection
    expected = patches.reshape(2, 72, 256) @ conv.weight.reshape(8, -1).T + conv.bias
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)


def test_video_positions_are_spatial_plus_temporal():
    """With no blocks, a token's feature before pooling is patch + pos_embed[1 + n] + temp_embed[t]."""
    torch.manual_seed(5)
    model = MotionformerFeatures(MotionformerConfig(dim=8, depth=0, heads=2))
    nn.init.normal_(model.pos_embed)
    nn.init.normal_(model.temp_embed)
    seen = []
    model.norm.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    segments = torch.randn(1, 1, 16, 3, 224, 224)
    model(segments)
    tokens = model.embed_patches(segments[0]).reshape(8, 196, 8)
    expected = tokens + model.pos_embed[0, 1:][None] + model.temp_embed[0][:, None]
    torch.testing.assert_close(seen[0].reshape(8, 196, 8), expected)


def test_ast_trunk_matches_transformers():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(6)
    ours = ASTFeatures(TINY_AUDIO).ast.eval()
    for p in ours.parameters():
        p.data.normal_(0, 0.3)
    config = transformers.ASTConfig(
        hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16, max_length=66
    )
    reference = transformers.ASTModel(config).eval()
    renames = {  # transformers 5 names -> the checkpoint's (transformers 4) names
        "attention.q_proj": "attention.attention.query",
        "attention.k_proj": "attention.attention.key",
        "attention.v_proj": "attention.attention.value",
        "attention.o_proj": "attention.output.dense",
        "mlp.fc1": "intermediate.dense",
        "mlp.fc2": "output.dense",
    }
    state = ours.state_dict()
    mapped = {}
    for key in reference.state_dict():
        name = key.replace("layers.", "encoder.layer.")
        for new, old in renames.items():
            name = name.replace(new, old)
        mapped[key] = state[name] if name in state else state[key]
    reference.load_state_dict(mapped, strict=True)
    mel = torch.randn(3, 128, 66)
    with torch.no_grad():
        expected = reference(input_values=mel.transpose(1, 2)).last_hidden_state  # HF takes [N, T, F]
        torch.testing.assert_close(ours(mel[:, None]), expected, rtol=1e-4, atol=1e-4)


def test_wrong_segment_shapes_say_what_to_do():
    with pytest.raises(ValueError, match="synchformer_video_input"):
        MotionformerFeatures(TINY_VIDEO)(torch.zeros(1, 1, 8, 3, 224, 224))
    with pytest.raises(ValueError, match="synchformer_audio_input"):
        ASTFeatures(TINY_AUDIO)(torch.zeros(1, 1, 1, 128, 64))
