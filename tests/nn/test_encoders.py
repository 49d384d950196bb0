import pytest
import torch

from avikit.nn import AudioEncoder, FrameEncoder, LogMel, SpectrogramEncoder, VisualEncoder, count_parameters


def test_audio_encoder_shapes_rates_and_gradients():
    enc = AudioEncoder(n_mels=16, patch_frames=5, dim=24, depth=1, heads=2)
    mel = torch.randn(2, 16, 101, requires_grad=True)
    tokens = enc(mel)
    assert tokens.shape == (2, 20, 24) and enc.token_rate == 20.0
    segments, clip = enc.encode(mel, num_segments=4)
    assert segments.shape == (2, 4, 24) and clip.shape == (2, 24)
    clip.sum().backward()
    assert mel.grad is not None and mel.grad.abs().sum() > 0
    assert isinstance(enc, SpectrogramEncoder)


def test_audio_encoder_rejects_wrong_band_count():
    with pytest.raises(ValueError, match="log-Mel"):
        AudioEncoder(n_mels=16)(torch.randn(1, 8, 100))


def test_log_mel_front_end_averages_channels():
    front = LogMel(16000, n_mels=32)
    wave = torch.randn(2, 2, 16000)
    mel = front(wave)
    assert mel.shape == (2, 32, 101)
    assert torch.allclose(mel, front(wave.mean(1, keepdim=True).expand(-1, 2, -1)))


def test_visual_encoder_shapes_maps_and_gradients():
    enc = VisualEncoder(image_size=32, patch_size=8, dim=16, depth=1, heads=2)
    frames = torch.rand(2, 3, 3, 32, 32, requires_grad=True)
    tokens = enc(frames)
    assert tokens.shape == (2, 3, 16, 16)
    emb, maps = enc.encode(frames)
    assert emb.shape == (2, 3, 16) and maps.shape == (2, 3, 16, 4, 4)
    # map cell (r, c) is patch r * cols + c
    assert torch.equal(maps[0, 0, :, 1, 2], tokens[0, 0, 1 * 4 + 2])
    emb.sum().backward()
    assert frames.grad is not None and frames.grad.abs().sum() > 0
    assert isinstance(enc, FrameEncoder)


def test_visual_encoder_frames_are_independent():
    torch.manual_seed(0)
    enc = VisualEncoder(image_size=32, patch_size=8, dim=16, depth=1, heads=2).eval()
    frames = torch.rand(1, 2, 3, 32, 32)
    other = frames.clone()
    other[:, 1] = torch.rand(3, 32, 32)
    # frames are separate rows: the other frame only changes BLAS blocking, ~1e-7
    assert torch.allclose(enc(frames)[:, 0], enc(other)[:, 0], atol=1e-6)


def test_visual_encoder_rejects_wrong_size():
    with pytest.raises(ValueError, match="image_size"):
        VisualEncoder(image_size=32, patch_size=8, dim=16, heads=2)(torch.rand(1, 2, 3, 64, 64))


def test_default_encoders_are_small():
    assert 50_000 < count_parameters(AudioEncoder(dim=64)) < 1_500_000
    assert 50_000 < count_parameters(VisualEncoder(image_size=64, patch_size=8, dim=64)) < 1_500_000
