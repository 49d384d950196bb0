"""Synchformer: the audio and video preprocessing of av-benchmark against independent references, the head's
size, attention against torch's reference kernel, and strict loading from a full checkpoint file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.functional import scaled_dot_product_attention

from avikit.media.mel import mel_filterbank
from avikit.metrics.generation import SYNCHFORMER_GRID
from avikit.models.embedders import (
    CheckpointLayoutError,
    SynchformerConfig,
    SynchformerHead,
    load_synchformer_head,
)
from avikit.models.embedders.synchformer import (
    _SelfAttention,
    synchformer_audio_input,
    synchformer_video_input,
)

TINY = SynchformerConfig(dim=8, layers=1, heads=2, segments=2, video_tokens=3, audio_tokens=2)


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


def _full_checkpoint(head: SynchformerHead) -> dict[str, torch.Tensor]:
    """The head's keys plus feature-extractor keys, as in ``synchformer_state_dict.pth``."""
    return {
        **head.state_dict(),
        "vfeat_extractor.patch_embed.proj.weight": torch.zeros(768, 3, 2, 16, 16),
        "afeat_extractor.ast.embeddings.cls_token": torch.zeros(1, 1, 768),
    }


def test_loads_the_head_from_a_full_checkpoint(tmp_path):
    torch.manual_seed(0)
    source = SynchformerHead(TINY).eval()
    torch.save(_full_checkpoint(source), tmp_path / "synchformer_state_dict.pth")
    head = load_synchformer_head(tmp_path / "synchformer_state_dict.pth", TINY)
    video, audio = torch.randn(3, 2, 3, 8), torch.randn(3, 2, 2, 8)
    logits = head(video, audio)
    assert logits.shape == (3, 21)
    torch.testing.assert_close(logits, source(video, audio))
    offsets = SYNCHFORMER_GRID[logits.argmax(-1).numpy()]
    assert np.all(np.abs(offsets) <= 2.0)
    with pytest.raises(ValueError, match="14 segments"):
        head(video[:, :1], audio)


def test_a_foreign_checkpoint_lists_the_keys(tmp_path):
    state = _full_checkpoint(SynchformerHead(TINY))
    del state["transformer.off_head.weight"]
    state["transformer.sel_head.weight"] = torch.zeros(2, 8)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(
        CheckpointLayoutError,
        match=r"missing keys: transformer\.off_head\.weight.*unexpected keys: transformer\.sel_head",
    ):
        load_synchformer_head(tmp_path / "bad.pth", TINY)
