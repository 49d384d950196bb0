"""PaSST-S: the front end against a numpy transcription of its definition, the published size and key layout,
the network against ``transformers``' AST (the same DeiT-style model with a joint positional embedding) on
the same weights, and strict loading of a checkpoint in the official layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avikit.media import AVClip
from avikit.models.embedders import CheckpointLayoutError, PaSST, PaSSTConfig, load_passt
from avikit.models.embedders.passt import passt_log_mel

TINY = PaSSTConfig(dim=16, depth=2, heads=2, frames=306, classes=5)  # 12 x 30 position grid


def _kaldi_banks(n_mels, n_fft, sr, low, high):
    """torchaudio.compliance.kaldi.get_mel_banks (no VTLN) as Kaldi's mel-computations.cc writes it, per bin."""
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    delta = (mel(high) - mel(low)) / (n_mels + 1)
    banks = np.zeros((n_mels, n_fft // 2 + 1))
    for m in range(n_mels):
        left, centre, right = (mel(low) + (m + i) * delta for i in range(3))
        for k in range(n_fft // 2):  # the Nyquist bin keeps weight 0
            x = mel(k * sr / n_fft)
            if left < x <= centre:
                banks[m, k] = (x - left) / (centre - left)
            elif centre < x < right:
                banks[m, k] = (right - x) / (right - centre)
    return banks


def _reference_log_mel(signal: np.ndarray) -> np.ndarray:
    """AugmentMelSTFT.forward in eval mode, in float64 numpy."""
    x = signal[1:] - 0.97 * signal[:-1]  # conv1d with kernel [-0.97, 1]
    padded = np.pad(x, 512, mode="reflect")  # torch.stft(center=True)
    frames = np.lib.stride_tricks.sliding_window_view(padded, 1024)[::320]
    window = np.zeros(1024)
    window[112:912] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(800) / 799)  # hann_window(800, periodic=False)
    power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2  # [T, 513]
    mel = _kaldi_banks(128, 1024, 32000, 0.0, 15000.0) @ power.T
    return (np.log(mel + 1e-5) + 4.5) / 5.0


def test_front_end_matches_its_definition():
    signal = np.random.default_rng(0).uniform(-1, 1, 32000 + 777)
    ours = passt_log_mel(torch.from_numpy(signal)[None])[0].numpy()
    reference = _reference_log_mel(signal)
    assert ours.shape == reference.shape == (128, 1 + (len(signal) - 1) // 320)
    np.testing.assert_allclose(ours, reference, atol=1e-5)  # float32 mel banks against float64
    with torch.no_grad():
        ten_seconds = passt_log_mel(torch.zeros(1, 320000))
    assert ten_seconds.shape == (1, 128, 1000)


def test_real_config_has_the_closed_form_size_and_official_keys():
    with torch.device("meta"):
        model = PaSST(PaSSTConfig())
    d, f, t, c, layers = 768, 12, 99, 527, 12
    block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d)
    expected = (16 * 16 * d + d) + 2 * d + 2 * d + f * d + t * d + layers * block + 2 * d
    expected += 2 * d + d * c + c + d * c + c  # head (LayerNorm + Linear) and head_dist
    assert sum(p.numel() for p in model.parameters()) == expected == 86_153_758  # "PaSST-S, 86 M"
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["patch_embed.proj.weight"] == (768, 1, 16, 16)
    assert shapes["freq_new_pos_embed"] == (1, 768, 12, 1) and shapes["time_new_pos_embed"] == (1, 768, 1, 99)
    assert shapes["new_pos_embed"] == (1, 2, 768) and shapes["dist_token"] == (1, 1, 768)
    assert shapes["blocks.11.attn.qkv.weight"] == (2304, 768) and shapes["blocks.11.mlp.fc2.weight"] == (
        768,
        3072,
    )
    assert shapes["head.0.weight"] == (768,) and shapes["head.1.weight"] == (527, 768)
    assert shapes["head_dist.weight"] == (527, 768) and shapes["norm.bias"] == (768,)
    assert len(shapes) == 5 + 2 + layers * 12 + 2 + 4 + 2


def test_network_matches_transformers_ast_on_the_same_weights():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    ours = PaSST(TINY).eval()
    config = transformers.ASTConfig(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_length=306,
        num_mel_bins=128,
        layer_norm_eps=1e-6,
        num_labels=5,
    )
    ast = transformers.ASTForAudioClassification(config).eval()
    s = ours.state_dict()
    pos = (s["freq_new_pos_embed"] + s["time_new_pos_embed"]).flatten(2).transpose(1, 2)  # [1, 360, 16]
    mapped = {
        "embeddings.cls_token": s["cls_token"],
        "embeddings.distillation_token": s["dist_token"],
        "embeddings.position_embeddings": torch.cat([s["new_pos_embed"], pos], dim=1),
        "embeddings.patch_embeddings.projection.weight": s["patch_embed.proj.weight"],
        "embeddings.patch_embeddings.projection.bias": s["patch_embed.proj.bias"],
        "layernorm.weight": s["norm.weight"],
        "layernorm.bias": s["norm.bias"],
    }
    new_names = "layers.0.attention.q_proj.weight" in ast.audio_spectrogram_transformer.state_dict()
    if new_names:  # transformers >= 5
        layer, qkv = "layers.{}.", ("attention.q_proj", "attention.k_proj", "attention.v_proj")
        rest = (("attention.o_proj", "attn.proj"), ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2"))
    else:
        layer, qkv = "encoder.layer.{}.", tuple(f"attention.attention.{n}" for n in ("query", "key", "value"))
        rest = (
            ("attention.output.dense", "attn.proj"),
            ("intermediate.dense", "mlp.fc1"),
            ("output.dense", "mlp.fc2"),
        )
    rest += (("layernorm_before", "norm1"), ("layernorm_after", "norm2"))
    for i in range(TINY.depth):
        a, b = layer.format(i), f"blocks.{i}."
        for p in ("weight", "bias"):
            for name, part in zip(qkv, s[f"{b}attn.qkv.{p}"].chunk(3), strict=True):
                mapped[f"{a}{name}.{p}"] = part
            for theirs, mine in rest:
                mapped[f"{a}{theirs}.{p}"] = s[f"{b}{mine}.{p}"]
    ast.audio_spectrogram_transformer.load_state_dict(mapped, strict=True)
    ast.classifier.layernorm.load_state_dict(ours.head[0].state_dict())
    ast.classifier.dense.load_state_dict(ours.head[1].state_dict())
    spectrogram = torch.randn(2, 128, 306)
    with torch.no_grad():
        got = ours.forward_spectrogram(spectrogram[:, None])
        hidden = ast.audio_spectrogram_transformer(spectrogram.transpose(1, 2)).last_hidden_state
        logits = ast(spectrogram.transpose(1, 2)).logits
    torch.testing.assert_close(got["embedding"], (hidden[:, 0] + hidden[:, 1]) / 2, rtol=1e-4, atol=1e-5)
    # AST's classifier LayerNorm uses the model's eps (1e-6), PaSST's head its default (1e-5)
    torch.testing.assert_close(got["logits"], logits, rtol=1e-3, atol=1e-4)


def test_loads_a_checkpoint_in_the_official_layout_and_pads_to_ten_seconds(tmp_path):
    torch.manual_seed(0)
    cfg = PaSSTConfig(dim=16, depth=1, heads=2, classes=5)  # the real 12 x 99 grid
    source = PaSST(cfg).eval()
    torch.save(source.state_dict(), tmp_path / "passt.pt")
    embedder = load_passt(tmp_path / "passt.pt", cfg=cfg)
    waveform = np.random.default_rng(2).uniform(-1, 1, (1, 32000 * 9)).astype(np.float32)
    clip = AVClip(waveform=waveform, sample_rate=32000)
    features = embedder.embed(clip)
    cut = embedder.prepare(clip)
    assert cut.shape == (1, 32000 * 8)  # av-benchmark's 8 s, then zero padding to 10 s
    with torch.no_grad():
        expected = source(torch.nn.functional.pad(cut, (0, 64000)))
    assert features["logits"].shape == (5,) and features["embedding"].shape == (16,)
    np.testing.assert_allclose(features["logits"], expected["logits"][0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features["embedding"], expected["embedding"][0].numpy(), rtol=1e-5, atol=1e-6)
    assert (
        embedder.preprocessing["front_end"]["f_max"] == 15000.0 and embedder.preprocessing["pad_to"] == 320000
    )


def test_a_foreign_layout_lists_the_keys_and_a_long_input_is_refused(tmp_path):
    state = PaSST(TINY).state_dict()
    state["pos_embed"] = state.pop("time_new_pos_embed")
    state["head.1.weight"] = torch.zeros(3, 16)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(
        CheckpointLayoutError,
        match=r"missing keys: time_new_pos_embed.*unexpected keys: pos_embed.*head\.1\.weight: checkpoint \[3, 16\]",
    ):
        load_passt(tmp_path / "bad.pt", cfg=TINY)
    with pytest.raises(ValueError, match="at most 30 time positions"):
        PaSST(TINY).forward_spectrogram(torch.zeros(1, 1, 128, 400))
