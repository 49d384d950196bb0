"""ImageBind-huge audio and vision: Kaldi fbank against a per-frame numpy transcription of Kaldi's formula, the
clip sampler and video crops in closed form, attention with learned bias key/value against its definition,
the published sizes and key layout (meta device), and strict loading of a checkpoint in the official layout
with the other modalities present."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from avikit.media import AVClip
from avikit.models.embedders import CheckpointLayoutError, ImageBind, ImageBindConfig
from avikit.models.embedders.imagebind import (
    imagebind_audio_clips,
    imagebind_clip_starts,
    imagebind_video_clips,
    load_imagebind,
    load_imagebind_audio,
    load_imagebind_video,
)
from avikit.models.embedders.kaldi import kaldi_fbank

TINY = ImageBindConfig(
    out_dim=6,
    audio_dim=8,
    audio_depth=2,
    audio_heads=2,
    vision_dim=8,
    vision_depth=2,
    vision_heads=2,
    image_size=28,
)


def _numpy_fbank(x: np.ndarray) -> np.ndarray:
    """Kaldi compute-fbank-feats (16 kHz, 25/10 ms, hanning, dither 0, 128 bins from 20 Hz), frame by frame."""
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    delta = (mel(8000.0) - mel(20.0)) / 129
    banks = np.zeros((128, 257))
    for m in range(128):
        left, centre, right = (mel(20.0) + (m + i) * delta for i in range(3))
        for k in range(256):
            f = mel(k * 16000 / 512)
            if left < f <= centre:
                banks[m, k] = (f - left) / (centre - left)
            elif centre < f < right:
                banks[m, k] = (right - f) / (right - centre)
    out = []
    for t in range(1 + (len(x) - 400) // 160):
        frame = x[t * 160 : t * 160 + 400].copy()
        frame -= frame.mean()
        frame = np.concatenate([[frame[0] - 0.97 * frame[0]], frame[1:] - 0.97 * frame[:-1]])
        frame *= np.array([0.5 - 0.5 * math.cos(2 * math.pi * n / 399) for n in range(400)])
        power = np.abs(np.fft.rfft(frame, 512)) ** 2
        out.append(np.log(np.maximum(banks @ power, np.finfo(np.float32).eps)))
    return np.array(out)


def test_kaldi_fbank_matches_the_formula():
    signal = np.random.default_rng(0).normal(0, 0.1, 16000 // 2 + 321)
    ours = kaldi_fbank(torch.from_numpy(signal)).numpy()
    reference = _numpy_fbank(signal)
    assert ours.shape == reference.shape == (1 + (len(signal) - 400) // 160, 128)
    np.testing.assert_allclose(ours, reference, atol=1e-4)  # float32 banks against float64


def test_audio_clips_follow_the_sampler_and_pad_to_204_frames():
    assert imagebind_clip_starts(16000 * 8) == [(0, 32000), (48000, 80000), (96000, 128000)]
    # a 3.0003 s clip: starts k * 0.50015625 s, truncated to samples
    assert imagebind_clip_starts(48005) == [(0, 32000), (8002, 40002), (16005, 48005)]
    signal = torch.from_numpy(np.random.default_rng(1).normal(0, 0.1, 16000 * 8))
    clips = imagebind_audio_clips(signal)
    assert clips.shape == (3, 1, 128, 204)
    piece = signal[48000:80000]
    expected = (_numpy_fbank((piece - piece.mean()).numpy()).T + 4.268) / 9.138  # 198 frames
    np.testing.assert_allclose(clips[1, 0, :, :198].numpy(), expected, atol=2e-5)
    np.testing.assert_allclose(clips[1, 0, :, 198:].numpy(), 4.268 / 9.138, rtol=1e-6)  # zero-padded fbank


def test_attention_with_bias_key_and_value_matches_its_definition():
    torch.manual_seed(0)
    block = ImageBind(TINY).modality_trunks["audio"].blocks[0].attn
    x = torch.randn(2, 5, 8)
    w, b = block.in_proj_weight, block.in_proj_bias
    q, k, v = (x @ w[i * 8 : (i + 1) * 8].T + b[i * 8 : (i + 1) * 8] for i in range(3))
    k = torch.cat([k, block.bias_k.expand(2, 1, 8)], dim=1)  # one extra key and value, after projection
    v = torch.cat([v, block.bias_v.expand(2, 1, 8)], dim=1)
    heads = lambda t: t.view(2, -1, 2, 4).transpose(1, 2)  # noqa: E731
    weights = torch.softmax(heads(q) @ heads(k).transpose(-1, -2) / 2.0, dim=-1)
    expected = block.out_proj((weights @ heads(v)).transpose(1, 2).reshape(2, 5, 8))
    with torch.no_grad():
        torch.testing.assert_close(block(x, x, x, need_weights=False)[0], expected)


def test_real_config_has_the_closed_form_sizes_and_official_keys():
    with torch.device("meta"):
        model = ImageBind(ImageBindConfig())
    counts = {
        m: sum(p.numel() for n, p in model.named_parameters() if f".{m}." in n) for m in ("audio", "vision")
    }
    block = lambda d: 4 * d * d + 4 * d + 8 * d * d + 5 * d + 4 * d  # noqa: E731  attention, MLP, norms
    a, v = 768, 1280
    audio = a * 16 * 16 + 2 * a + a + 229 * a + 12 * (block(a) + 2 * a) + 2 * a + a * 1024
    vision = v * 3 * 2 * 14 * 14 + v + 257 * v + 2 * v + 32 * block(v) + 2 * v + v * 1024
    assert counts == {"audio": audio, "vision": vision} == {"audio": 86_235_648, "vision": 632_829_440}
    shapes = {k: tuple(t.shape) for k, t in model.state_dict().items()}
    p = "modality_preprocessors."
    assert shapes[p + "audio.rgbt_stem.proj.weight"] == (768, 1, 16, 16)
    assert shapes[p + "audio.pos_embedding_helper.pos_embed"] == (1, 229, 768)
    assert shapes[p + "vision.rgbt_stem.proj.1.weight"] == (1280, 3, 2, 14, 14)
    assert shapes[p + "vision.pos_embedding_helper.pos_embed"] == (1, 257, 1280)
    assert shapes["modality_trunks.audio.blocks.11.attn.bias_k"] == (1, 1, 768)
    assert "modality_trunks.vision.blocks.0.attn.bias_k" not in shapes
    assert shapes["modality_trunks.vision.pre_transformer_layer.0.weight"] == (1280,)
    assert shapes["modality_heads.vision.2.weight"] == (1024, 1280) and shapes[
        "modality_heads.audio.2.weight"
    ] == (1024, 768)
    assert shapes["modality_postprocessors.audio.1.log_logit_scale"] == ()


def _official_file(tmp_path, model: ImageBind) -> str:
    state = dict(model.state_dict())  # plus other modalities, as imagebind_huge.pth holds them
    state["modality_trunks.text.blocks.0.attn.in_proj_weight"] = torch.zeros(3, 1)
    state["modality_postprocessors.imu.1.log_logit_scale"] = torch.tensor(1.0)
    torch.save(state, tmp_path / "imagebind_huge.pth")
    return str(tmp_path / "imagebind_huge.pth")


def test_loads_the_official_layout_and_embeds_audio_and_video(tmp_path):
    torch.manual_seed(0)
    source = ImageBind(TINY).eval()
    path = _official_file(tmp_path, source)
    model = load_imagebind(path, cfg=TINY)
    assert math.isclose(
        float(model.modality_postprocessors["audio"][1].log_logit_scale.exp()), 20.0, rel_tol=1e-6
    )
    signal = np.random.default_rng(2).normal(0, 0.1, (1, 16000 * 5)).astype(np.float32)
    audio = load_imagebind_audio(path, cfg=TINY)
    clip = AVClip(waveform=signal, sample_rate=16000)
    got = audio.embed(clip)["embedding"]
    with torch.no_grad():
        per_clip = [source.embed_audio(c[None]) for c in imagebind_audio_clips(audio.prepare(clip)[0])]
    assert got.shape == (6,)
    for one in per_clip:  # each clip's embedding is 20 x a unit vector; the result is their mean
        assert float(one.norm()) == pytest.approx(20.0, rel=1e-5)
    np.testing.assert_allclose(got, torch.cat(per_clip).mean(0).numpy(), rtol=1e-5, atol=1e-6)

    frames = np.random.default_rng(3).integers(0, 256, (4, 28, 40, 3), dtype=np.uint8)
    video = load_imagebind_video(path, cfg=TINY)
    embedding = video.embed(AVClip(frames=frames, fps=0.5))["embedding"]
    with torch.no_grad():
        pairs = imagebind_video_clips(torch.from_numpy(frames), 28)  # [9, 3, 2, 28, 28]
        singles = torch.cat([source.embed_vision(p[None, None]) for p in pairs])
    np.testing.assert_allclose(embedding, singles.mean(0).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="fps=0.5"):
        video.embed(AVClip(frames=frames, fps=25))


def test_video_crops_and_image_repetition():
    columns = torch.arange(300).remainder(256).to(torch.uint8)
    frames = columns[None, None, :, None].expand(3, 224, 300, 3).contiguous()  # 224 x 300: no resize
    clips = imagebind_video_clips(frames)
    assert clips.shape == (6, 3, 2, 224, 224)  # 2 frame pairs x 3 crops
    for index, x0 in enumerate((0, 38, 76)):  # left, ceil((300 - 224) / 2), right
        expected = (torch.arange(x0, x0 + 224).remainder(256).float() / 255 - 0.48145466) / 0.26862954
        torch.testing.assert_close(clips[index, 0, 1, 100], expected)
    constant = torch.full((2, 60, 30, 3), 51, dtype=torch.uint8)  # 30 -> 224 wide, 448 high, then crops
    out = imagebind_video_clips(constant)
    torch.testing.assert_close(out[:, 2], torch.full_like(out[:, 2], (51 / 255 - 0.40821073) / 0.27577711))
    torch.manual_seed(0)
    model = ImageBind(TINY).eval()
    image = torch.randn(1, 3, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(
            model.embed_vision(image), model.embed_vision(image[:, :, None].repeat(1, 1, 2, 1, 1))
        )


def test_a_foreign_layout_lists_the_keys(tmp_path):
    state = ImageBind(TINY).state_dict()
    del state["modality_trunks.audio.blocks.1.attn.bias_k"]
    state["modality_trunks.vision.blocks.0.attn.bias_k"] = torch.zeros(1, 1, 8)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(
        CheckpointLayoutError,
        match=r"missing keys: modality_trunks\.audio\.blocks\.1\.attn\.bias_k.*unexpected keys: modality_trunks\.vision",
    ):
        load_imagebind(tmp_path / "bad.pth", cfg=TINY)
