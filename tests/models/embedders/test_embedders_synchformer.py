"""Synchformer: the audio and video preprocessing of av-benchmark against independent references, the head's
size, attention against torch's reference kernel, the whole model's key layout and size against a table
derived from the official code, strict loading round trips, and a tiny model from clip to DeSync."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.functional import scaled_dot_product_attention

from avikit.media import AVClip
from avikit.media.mel import mel_filterbank
from avikit.metrics.generation import SYNCHFORMER_GRID, evaluate_desync
from avikit.models.embedders import (
    CheckpointLayoutError,
    Synchformer,
    SynchformerConfig,
    SynchformerEmbedder,
    SynchformerHead,
    load_synchformer,
    load_synchformer_head,
)
from avikit.models.embedders.synchformer import (
    _SelfAttention,
    synchformer_audio_input,
    synchformer_video_input,
)
from avikit.models.embedders.synchformer_features import ASTFeaturesConfig, MotionformerConfig

TINY = SynchformerConfig(dim=8, layers=1, heads=2, segments=2, video_tokens=3, audio_tokens=2)
# real token counts and input sizes, tiny widths and depths: the full model end to end in a second
TINY_FULL = SynchformerConfig(
    dim=8,
    layers=1,
    heads=2,
    video=MotionformerConfig(dim=8, depth=1, heads=2, mlp_ratio=2),
    audio=ASTFeaturesConfig(dim=8, depth=1, heads=2, hidden=16),
)


def test_audio_segments_match_an_fft_reference():
    signal = np.random.default_rng(0).uniform(-1, 1, 16000 * 8)
    ours = synchformer_audio_input(torch.from_numpy(signal).float()[None])
    assert ours.shape == (1, 24, 1, 128, 66)  # 8 s -> 24 segments of 0.64 s, as av-benchmark states
    # torchaudio MelSpectrogram(16000, n_fft=1024, win_length=400, hop_length=160, n_mels=128) in numpy
    segment = signal.astype(np.float32).astype(np.float64)[5 * 5120 : 5 * 5120 + 10240]
    padded = np.pad(segment, 512, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, 1024)[::160]  # [65, 1024]
    window = np.zeros(1024)
    window[312:712] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)  # Hann(400) centred in 1024
    power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2  # [65, 513]
    mel = np.log(mel_filterbank(16000, 1024, 128, htk=True, norm=None) @ power.T + 1e-6)  # [128, 65]
    expected = (np.pad(mel, ((0, 0), (0, 1))) + 4.2677393) / (2 * 4.5689974)
    np.testing.assert_allclose(ours[0, 5, 0].numpy(), expected, rtol=1e-4, atol=1e-4)
    assert ours[0, 5, 0, :, 65].unique().tolist() == pytest.approx([4.2677393 / (2 * 4.5689974)])


def test_video_segments_resize_crop_and_scale():
    frames = torch.arange(300, dtype=torch.int64).remainder(256).to(torch.uint8)  # column index pattern
    frames = frames.expand(1, 24, 3, 224, 300).contiguous()  # 224 x 300: no resize, crop 38 columns left
    segments = synchformer_video_input(frames)
    assert segments.shape == (1, 2, 16, 3, 224, 224)  # (24 - 16) // 8 + 1 segments
    expected = (torch.arange(38, 262).remainder(256).float() / 255 - 0.5) / 0.5
    torch.testing.assert_close(segments[0, 1, 5, 1, 100], expected)
    constant = torch.full((1, 16, 3, 60, 30), 51, dtype=torch.uint8)  # 30 -> 224 wide, 448 high, then crop
    out = synchformer_video_input(constant)
    assert out.shape == (1, 1, 16, 3, 224, 224)
    torch.testing.assert_close(out, torch.full_like(out, (51 / 255 - 0.5) / 0.5))
    with pytest.raises(ValueError, match="uint8"):
        synchformer_video_input(constant.float())


def test_attention_matches_torch_reference():
    torch.manual_seed(0)
    attention = _SelfAttention(16, 4)
    x = torch.randn(2, 5, 16)
    q, k, v = (
        layer(x).view(2, 5, 4, 4).transpose(1, 2)
        for layer in (attention.query, attention.key, attention.value)
    )
    expected = attention.proj(scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, 5, 16))
    torch.testing.assert_close(attention(x), expected)


def test_real_head_size():
    with torch.device("meta"):
        head = SynchformerHead(SynchformerConfig())
    d = 768
    block = 2 * 2 * d + 4 * (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    expected = 2 * (d * d + d) + 2 * 2 * d + 2 * d + 198 * d + 3 * block + 2 * d + (21 * d + 21)
    assert sum(p.numel() for p in head.parameters()) == expected == 22_619_157
    assert head.transformer.pos_emb_cfg.pos_emb.shape == (1, 198, 768)


def _full_checkpoint() -> dict[str, torch.Tensor]:
    """A random full model's state dict: the layout of ``synchformer_state_dict.pth`` at TINY_FULL sizes."""
    torch.manual_seed(0)
    model = Synchformer(TINY_FULL)
    for p in model.parameters():
        p.data.normal_(0, 0.5)
    return model.state_dict()


def test_loads_the_head_from_a_full_checkpoint(tmp_path):
    state = _full_checkpoint()
    torch.save(state, tmp_path / "synchformer_state_dict.pth")
    head = load_synchformer_head(tmp_path / "synchformer_state_dict.pth", TINY_FULL)
    source = Synchformer(TINY_FULL)
    source.load_state_dict(state)
    video, audio = torch.randn(3, 14, 8, 8), torch.randn(3, 14, 6, 8)
    logits = head(video, audio)
    assert logits.shape == (3, 21)
    torch.testing.assert_close(logits, source.compare(video, audio))
    offsets = SYNCHFORMER_GRID[logits.argmax(-1).numpy()]
    assert np.all(np.abs(offsets) <= 2.0)
    with pytest.raises(ValueError, match="14 segments"):
        head(video[:, :1], audio)


def test_a_foreign_checkpoint_lists_the_keys(tmp_path):
    state = _full_checkpoint()
    del state["transformer.off_head.weight"]
    state["transformer.sel_head.weight"] = torch.zeros(2, 8)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(
        CheckpointLayoutError,
        match=r"missing keys: transformer\.off_head\.weight.*unexpected keys: transformer\.sel_head",
    ):
        load_synchformer_head(tmp_path / "bad.pth", TINY_FULL)
    state = _full_checkpoint()
    del state["afeat_extractor.freq_attn_agg.cls_token"]
    state["vfeat_extractor.temp_embed"] = torch.zeros(1, 4, 8)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(
        CheckpointLayoutError,
        match=r"missing keys: afeat_extractor\.freq_attn_agg\.cls_token.*vfeat_extractor\.temp_embed: "
        r"checkpoint \[1, 4, 8\] vs model \[1, 8, 8\]",
    ):
        load_synchformer(tmp_path / "bad.pth", TINY_FULL)


def official_layout(
    dim: int = 768, video_hidden: int = 3072, audio_hidden: int = 3072, depth: int = 12
) -> dict[str, tuple[int, ...]]:
    """Key -> shape of ``synchformer_state_dict.pth``, derived from av-benchmark 050a5cdb9b's ``Synchformer``
    (which loads the file strictly): ``motionformer.py`` + ``video_model_builder.py`` + ``vit_helper.py``
    (divided_224_16x4), ``ast.py`` + ``hf_src/modeling_ast.py`` (max_length 66), ``transformer.py``."""
    table: dict[str, tuple[int, ...]] = {}

    def linear(name: str, fan_in: int, fan_out: int) -> None:
        table[f"{name}.weight"], table[f"{name}.bias"] = (fan_out, fan_in), (fan_out,)

    def norm(name: str) -> None:
        table[f"{name}.weight"], table[f"{name}.bias"] = (dim,), (dim,)

    def cls_encoder_layer(prefix: str, hidden: int) -> None:  # BaseEncoderLayer(nn.TransformerEncoderLayer)
        table[f"{prefix}.cls_token"] = (1, 1, dim)
        table[f"{prefix}.self_attn.in_proj_weight"], table[f"{prefix}.self_attn.in_proj_bias"] = (
            (3 * dim, dim),
            (3 * dim,),
        )
        linear(f"{prefix}.self_attn.out_proj", dim, dim)
        linear(f"{prefix}.linear1", dim, hidden)
        linear(f"{prefix}.linear2", hidden, dim)
        norm(f"{prefix}.norm1")
        norm(f"{prefix}.norm2")

    v = "vfeat_extractor"
    table.update(
        {f"{v}.cls_token": (1, 1, dim), f"{v}.pos_embed": (1, 197, dim), f"{v}.temp_embed": (1, 8, dim)}
    )
    table[f"{v}.patch_embed.proj.weight"], table[f"{v}.patch_embed.proj.bias"] = (dim, 3, 16, 16), (dim,)
    table[f"{v}.patch_embed_3d.proj.weight"], table[f"{v}.patch_embed_3d.proj.bias"] = (
        (dim, 3, 2, 16, 16),
        (dim,),
    )
    for i in range(depth):
        for attention in ("attn", "timeattn"):
            linear(f"{v}.blocks.{i}.{attention}.qkv", dim, 3 * dim)
            linear(f"{v}.blocks.{i}.{attention}.proj", dim, dim)
        linear(f"{v}.blocks.{i}.mlp.fc1", dim, video_hidden)
        linear(f"{v}.blocks.{i}.mlp.fc2", video_hidden, dim)
        for n in (1, 2, 3):
            norm(f"{v}.blocks.{i}.norm{n}")
    norm(f"{v}.norm")
    cls_encoder_layer(f"{v}.spatial_attn_agg", video_hidden)

    a = "afeat_extractor"
    table[f"{a}.ast.embeddings.cls_token"] = table[f"{a}.ast.embeddings.distillation_token"] = (1, 1, dim)
    table[f"{a}.ast.embeddings.position_embeddings"] = (1, 2 + 12 * 6, dim)
    table[f"{a}.ast.embeddings.patch_embeddings.projection.weight"] = (dim, 1, 16, 16)
    table[f"{a}.ast.embeddings.patch_embeddings.projection.bias"] = (dim,)
    for i in range(depth):
        layer = f"{a}.ast.encoder.layer.{i}"
        for name in ("query", "key", "value"):
            linear(f"{layer}.attention.attention.{name}", dim, dim)
        linear(f"{layer}.attention.output.dense", dim, dim)
        linear(f"{layer}.intermediate.dense", dim, audio_hidden)
        linear(f"{layer}.output.dense", audio_hidden, dim)
        norm(f"{layer}.layernorm_before")
        norm(f"{layer}.layernorm_after")
    norm(f"{a}.ast.layernorm")
    cls_encoder_layer(f"{a}.freq_attn_agg", audio_hidden)

    linear("vproj", dim, dim)
    linear("aproj", dim, dim)
    t = "transformer"
    norm(f"{t}.vis_in_lnorm")
    norm(f"{t}.aud_in_lnorm")
    table[f"{t}.OFF_tok"] = table[f"{t}.MOD_tok"] = (1, 1, dim)
    table[f"{t}.pos_emb_cfg.pos_emb"] = (1, 198, dim)
    for i in range(3 if dim == 768 else 1):
        for name in ("key", "query", "value", "proj"):
            linear(f"{t}.blocks.{i}.attn.{name}", dim, dim)
        linear(f"{t}.blocks.{i}.mlp.0", dim, 4 * dim)
        linear(f"{t}.blocks.{i}.mlp.2", 4 * dim, dim)
        norm(f"{t}.blocks.{i}.ln1")
        norm(f"{t}.blocks.{i}.ln2")
    norm(f"{t}.ln_f")
    linear(f"{t}.off_head", dim, 21)
    return table


def _shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def test_real_model_has_the_official_layout_and_size():
    with torch.device("meta"):
        model = Synchformer(SynchformerConfig())
    assert _shapes(model) == official_layout()
    assert len(official_layout()) == 513
    count = lambda prefix: sum(p.numel() for k, p in model.named_parameters() if k.startswith(prefix))  # noqa: E731
    d = 768
    encoder_layer = 4 * d * d + 4 * d + 2 * d * 4 * d + 4 * d + d + 2 * 2 * d  # attention, MLP, norms
    pool = encoder_layer + d  # + its CLS token
    video_block = 2 * (3 * d * d + 3 * d + d * d + d) + (2 * d * 4 * d + 4 * d + d) + 3 * 2 * d
    video = 12 * video_block + (3 * 256 * d + d) + (3 * 2 * 256 * d + d) + (1 + 197 + 8) * d + 2 * d + pool
    audio = 12 * encoder_layer + (256 * d + d) + (2 + 74) * d + 2 * d + pool
    assert count("vfeat_extractor.") == video == 122_440_704
    assert count("afeat_extractor.") == audio == 92_400_384
    assert sum(p.numel() for p in model.parameters()) == video + audio + 22_619_157 == 237_460_245


def test_tiny_model_has_the_official_layout_at_its_sizes():
    assert _shapes(Synchformer(TINY_FULL)) == official_layout(8, video_hidden=16, audio_hidden=16, depth=1)


def test_head_and_extractors_must_fit():
    with pytest.raises(ValueError, match="video_tokens / video.tokens = 4 / 8"):
        Synchformer(SynchformerConfig(video_tokens=4))


def test_full_checkpoint_round_trips_strictly(tmp_path):
    state = _full_checkpoint()
    torch.save({"model": state}, tmp_path / "synchformer_state_dict.pth")
    model = load_synchformer(tmp_path / "synchformer_state_dict.pth", TINY_FULL)
    source = Synchformer(TINY_FULL).eval()
    source.load_state_dict(state, strict=True)
    torch.manual_seed(1)
    video, audio = torch.rand(1, 14, 16, 3, 224, 224) * 2 - 1, torch.randn(1, 14, 1, 128, 66)
    with torch.no_grad():
        logits = model(video, audio)
        assert logits.shape == (1, 21)
        assert torch.equal(logits, source(video, audio))
        features = torch.randn(1, 14, 8, 8), torch.randn(1, 14, 6, 8)
        assert not torch.equal(model.compare(*features), Synchformer(TINY_FULL).compare(*features))


def _clip(seconds: float = 8.0, fps: int = 25) -> AVClip:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (round(seconds * fps), 224, 240, 3), dtype=np.uint8)  # centre crop only
    waveform = rng.uniform(-0.5, 0.5, (2, round(seconds * 16000))).astype(np.float32)
    return AVClip(frames=frames, waveform=waveform, fps=fps, sample_rate=16000)


def test_clip_to_desync_end_to_end(tmp_path):
    torch.save(_full_checkpoint(), tmp_path / "synchformer_state_dict.pth")
    embedder = SynchformerEmbedder(load_synchformer(tmp_path / "synchformer_state_dict.pth", TINY_FULL))
    clip = _clip(8.4)  # longer than 8 s: cut to 200 frames and 128000 samples
    logits = embedder.embed(clip)["logits"]
    assert logits.shape == (2, 21)
    video, audio = embedder.prepare(clip)
    assert video.shape == (1, 24, 16, 3, 224, 224) and audio.shape == (1, 24, 1, 128, 66)
    frame = torch.from_numpy(clip.frames[8 + 3, :, 8:232]).permute(2, 0, 1).float()  # segment 1, frame 3
    torch.testing.assert_close(video[0, 1, 3], (frame / 255 - 0.5) / 0.5)
    mono = torch.from_numpy(clip.waveform[:, :128000]).mean(0)[None]  # channel mean, mean not removed
    torch.testing.assert_close(audio, synchformer_audio_input(mono))
    # the same windows through the model's own forward: segments 0-13 and 10-23 of the 24
    with torch.no_grad():
        first = embedder.model(video[:, :14], audio[:, :14])
        last = embedder.model(video[:, 10:], audio[:, 10:])
    np.testing.assert_allclose(logits, torch.cat([first, last]).numpy(), rtol=1e-5, atol=1e-6)
    desync = evaluate_desync(logits[None])["desync"]
    assert desync == pytest.approx(np.abs(SYNCHFORMER_GRID[logits.argmax(-1)]).mean())
    assert embedder.preprocessing["windows"]["segments"] == 14


def test_embedder_refuses_what_av_benchmark_refuses():
    embedder = SynchformerEmbedder(Synchformer(TINY_FULL))
    with pytest.raises(ValueError, match="resample it first"):
        embedder.embed(_clip(fps=24))
    with pytest.raises(ValueError, match="200 frames and 128000 samples"):
        embedder.embed(_clip(7.0))
