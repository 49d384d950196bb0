"""The joint encoder: shapes, every parameter learning from the pretraining losses, size, save/load."""

import torch

from avikit.models.encoders import av_encoder
from avikit.models.encoders.av_encoder import AVEncoderConfig, build_av_encoder, from_pretrained
from avikit.nn import count_parameters, save_pretrained
from avikit.train.pretrain import PretrainConfig


def test_encode_shapes_and_every_parameter_learns():
    torch.manual_seed(0)
    cfg = PretrainConfig.tiny().model
    model = build_av_encoder(cfg)
    mel, frames = torch.randn(3, cfg.n_mels, 401), torch.rand(3, 4, 3, cfg.image_size, cfg.image_size)
    feats = model.encode(mel, frames)
    assert feats.audio_tokens.shape == (3, 40, cfg.dim)
    assert feats.visual_maps.shape == (3, 4, cfg.dim, 4, 4)
    assert feats.joint_audio.shape == feats.joint_visual.shape == (3, 4, cfg.dim)
    assert feats.audio_embedding.shape == feats.visual_embedding.shape == (3, cfg.embed_dim)
    losses = model.pretrain_losses(mel, frames, 0.2, 0.4, 0.5, torch.Generator().manual_seed(0))
    assert set(losses) == {"clip_nce", "segment_nce", "audio_mae", "visual_mae"}
    sum(losses.values()).backward()
    frozen = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert frozen == []


def test_default_encoder_is_small():
    n = count_parameters(build_av_encoder(AVEncoderConfig()))
    assert 200_000 < n < 1_500_000


def test_saved_encoder_encodes_identically_after_reload(tmp_path):
    torch.manual_seed(0)
    cfg = PretrainConfig.tiny().model
    model = build_av_encoder(cfg).eval()
    save_pretrained(model, cfg, tmp_path, av_encoder.KIND)
    loaded = from_pretrained(tmp_path)
    mel, frames = torch.randn(2, cfg.n_mels, 401), torch.rand(2, 4, 3, cfg.image_size, cfg.image_size)
    with torch.no_grad():
        expected, got = model.encode(mel, frames), loaded.encode(mel, frames)
    for name in ("audio_tokens", "visual_maps", "joint_audio", "audio_embedding", "visual_embedding"):
        torch.testing.assert_close(getattr(got, name), getattr(expected, name), rtol=0, atol=0)
