"""LAION-CLAP HTSAT: the official laion_clap key layout converted to transformers' CLAP audio model (the full
HTSAT-base key set on the meta device, a tiny model round trip with the dropped keys present), the front end
against librosa (laion's torchlibrosa definition), and the normalised embedding of a clip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from avikit.media import AVClip
from avikit.models.embedders import CheckpointLayoutError
from avikit.models.embedders.clap import ClapConfig, build_clap_audio, clap_state_from_laion, load_clap

TINY = ClapConfig(patch_width=8, depths=(1, 1), heads=(2, 2), projection_dim=4)  # real 256 x 256 input


def _laion_keys(cfg: ClapConfig) -> list[str]:
    """laion_clap's HTSAT_Swin_Transformer + CLAP audio keys (htsat.py, model.py), written from its structure."""
    keys = [
        f"audio_branch.{k}"
        for k in (
            "spectrogram_extractor.stft.conv_real.weight",
            "spectrogram_extractor.stft.conv_imag.weight",
            "logmel_extractor.melW",
            "patch_embed.proj.weight",
            "patch_embed.proj.bias",
            "patch_embed.norm.weight",
            "patch_embed.norm.bias",
            "norm.weight",
            "norm.bias",
            "tscam_conv.weight",
            "tscam_conv.bias",
            "head.weight",
            "head.bias",
        )
    ]
    keys += [
        f"audio_branch.bn0.{k}"
        for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    ]
    for i, depth in enumerate(cfg.depths):
        for j in range(depth):
            b = f"audio_branch.layers.{i}.blocks.{j}."
            keys += [
                b + k
                for k in (
                    "norm1.weight",
                    "norm1.bias",
                    "attn.relative_position_bias_table",
                    "attn.relative_position_index",
                    "attn.qkv.weight",
                    "attn.qkv.bias",
                    "attn.proj.weight",
                    "attn.proj.bias",
                    "norm2.weight",
                    "norm2.bias",
                    "mlp.fc1.weight",
                    "mlp.fc1.bias",
                    "mlp.fc2.weight",
                    "mlp.fc2.bias",
                    "attn_mask",
                )
            ]
        if i < len(cfg.depths) - 1:
            keys += [
                f"audio_branch.layers.{i}.downsample.{k}"
                for k in ("reduction.weight", "norm.weight", "norm.bias")
            ]
    keys += [f"audio_projection.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")]
    keys += [f"audio_transform.sequential.{i}.{p}" for i in (0, 3) for p in ("weight", "bias")]
    keys += [
        "logit_scale_a",
        "logit_scale_t",
        "text_branch.embeddings.word_embeddings.weight",
        "text_projection.0.weight",
    ]
    return keys


def test_the_official_htsat_base_keys_convert_to_exactly_the_transformers_keys():
    cfg = ClapConfig()
    with torch.device("meta"):
        model = build_clap_audio(cfg)
        converted = clap_state_from_laion({f"module.{k}": torch.empty(3) for k in _laion_keys(cfg)})
    assert set(converted) == set(model.state_dict())
    assert model.config.hidden_size == 1024 and model.config.projection_dim == 512
    assert model.state_dict()[
        "audio_model.audio_encoder.layers.2.blocks.11.attention.self.query.weight"
    ].shape == (512, 512)
    with pytest.raises(CheckpointLayoutError, match="unexpected keys: module.audio_branch_x"):
        clap_state_from_laion({"module.audio_branch_x.weight": torch.zeros(1)})


def _to_laion(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """transformers names back to laion_clap's, written independently of the module's table."""
    out = {}
    for key, value in state.items():
        k = key.replace("audio_model.audio_encoder.", "audio_branch.").replace("batch_norm", "bn0")
        k = k.replace("layernorm_before", "norm1").replace("layernorm_after", "norm2")
        k = k.replace("attention.output.dense", "attn.proj").replace(
            "attention.self.relative", "attn.relative"
        )
        k = k.replace("intermediate.dense", "mlp.fc1").replace("output.dense", "mlp.fc2")
        k = k.replace("audio_projection.linear1", "audio_projection.0").replace(
            "audio_projection.linear2", "audio_projection.2"
        )
        if ".attention.self.query." in k:
            parts = [state[key.replace("query", n)] for n in ("query", "key", "value")]
            out[k.replace("attention.self.query", "attn.qkv")] = torch.cat(parts)
        elif ".attention.self.key." not in k and ".attention.self.value." not in k:
            out[k] = value
    return out


def test_a_laion_checkpoint_round_trips_and_embeds_a_clip(tmp_path):
    torch.manual_seed(0)
    source = build_clap_audio(TINY)
    with torch.no_grad():
        for p in source.parameters():  # non-trivial batch norm and projections
            p.add_(0.1 * torch.randn_like(p))
    state = _to_laion(source.state_dict())
    state |= {
        "audio_branch.logmel_extractor.melW": torch.zeros(513, 64),
        "logit_scale_a": torch.tensor(1.0),
        "text_branch.pooler.dense.weight": torch.zeros(2, 2),
        "audio_branch.layers.0.blocks.0.attn_mask": torch.zeros(1),
    }
    torch.save(
        {"epoch": 15, "state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "clap.pt"
    )
    embedder = load_clap(tmp_path / "clap.pt", cfg=TINY)
    waveform = np.random.default_rng(0).uniform(-0.5, 0.5, (1, 48000 * 3)).astype(np.float32)
    clip = AVClip(waveform=waveform, sample_rate=48000)
    got = embedder.embed(clip)["embedding"]
    features = embedder.module.features(embedder.prepare(clip))
    with torch.no_grad():
        expected = torch.nn.functional.normalize(source(input_features=features).audio_embeds, dim=-1)[0]
    assert got.shape == (4,) and features.shape == (1, 1, 1001, 64)
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(got) == pytest.approx(1.0, abs=1e-5)
    bad = {f"module.{k}": v for k, v in state.items() if "downsample" not in k}
    torch.save({"state_dict": bad}, tmp_path / "bad.pt")
    with pytest.raises(
        CheckpointLayoutError, match=r"missing keys: audio_model\.audio_encoder\.layers\.0\.downsample"
    ):
        load_clap(tmp_path / "bad.pt", cfg=TINY)


def test_front_end_matches_laions_librosa_definition():
    librosa = pytest.importorskip("librosa")
    from avikit.models.embedders.clap import ClapEmbedding

    signal = np.random.default_rng(1).uniform(-0.5, 0.5, 48000 * 4)
    features = ClapEmbedding(build_clap_audio(TINY)).features(torch.from_numpy(signal)[None])[0, 0].numpy()
    filled = np.pad(np.tile(signal, 2), (0, 480000 - 2 * len(signal)))  # repeatpad: floor(10 / 4) = 2 copies
    mel = librosa.feature.melspectrogram(
        y=filled,
        sr=48000,
        n_fft=1024,
        hop_length=480,
        win_length=1024,
        window="hann",
        center=True,
        pad_mode="reflect",
        power=2.0,
        n_mels=64,
        fmin=50,
        fmax=14000,
        htk=False,
        norm="slaney",
    )
    reference = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).T  # torchlibrosa LogmelFilterBank
    assert features.shape == reference.shape == (1001, 64)
    np.testing.assert_allclose(features, reference, atol=1e-3)
