"""PANNs Cnn14: the front end against librosa (and torchlibrosa, when installed), the published size and key
layout, strict loading of a checkpoint file in the official ``{"model": state}`` layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avikit.media import AVClip
from avikit.media.mel import mel_filterbank
from avikit.models.embedders import CheckpointLayoutError, Cnn14, Cnn14Config, load_panns

TINY = Cnn14Config(widths=(2, 3, 3, 4, 4, 5), classes=6)


def test_front_end_matches_an_fft_reference():
    signal = np.random.default_rng(0).uniform(-1, 1, 16000).astype(np.float32)
    with torch.no_grad():  # a fresh model starts with the DFT kernels and mel weights
        ours = Cnn14(TINY).log_mel(torch.from_numpy(signal)[None])[0, 0].double().numpy()  # [T, 64]
    # librosa.feature.melspectrogram(center=True, pad_mode="reflect", power=2) + power_to_db(ref=1, amin=1e-10),
    # written with numpy's FFT; the Slaney filterbank is held to librosa's in tests/media/test_mel.py
    padded = np.pad(signal.astype(np.float64), 256, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, 512)[::160]  # [101, 512]
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(512) / 512)
    power = np.abs(np.fft.rfft(frames * hann, axis=-1)) ** 2
    reference = 10 * np.log10(np.maximum(power @ mel_filterbank(16000, 512, 64, 50, 8000).T, 1e-10))
    assert ours.shape == reference.shape == (101, 64)
    np.testing.assert_allclose(ours, reference, atol=2e-3)  # float32 convolution STFT vs float64 FFT, in dB


def test_stft_kernels_match_torchlibrosa():
    stft = pytest.importorskip("torchlibrosa.stft")
    ours = Cnn14(TINY).spectrogram_extractor
    upstream = stft.Spectrogram(
        n_fft=512, hop_length=160, win_length=512, window="hann", center=True, pad_mode="reflect"
    )
    assert set(upstream.state_dict()) == {"stft.conv_real.weight", "stft.conv_imag.weight"}
    torch.testing.assert_close(ours.state_dict(), upstream.state_dict(), rtol=0, atol=2e-6)
    waveform = torch.from_numpy(np.random.default_rng(1).uniform(-1, 1, (2, 8000)).astype(np.float32))
    with torch.no_grad():
        torch.testing.assert_close(ours(waveform), upstream(waveform), rtol=1e-4, atol=1e-4)


def test_real_config_has_the_published_size():
    with torch.device("meta"):
        model = Cnn14(Cnn14Config())
    front_end = {
        "spectrogram_extractor.stft.conv_real.weight",
        "spectrogram_extractor.stft.conv_imag.weight",
        "logmel_extractor.melW",
    }
    network = sum(p.numel() for name, p in model.named_parameters() if name not in front_end)
    assert network == 80_753_615  # PANNs paper (Kong et al. 2020), Table: CNN14 parameters
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["spectrogram_extractor.stft.conv_real.weight"] == (257, 1, 512)
    assert shapes["logmel_extractor.melW"] == (257, 64) and shapes["bn0.running_var"] == (64,)
    assert shapes["conv_block6.conv2.weight"] == (2048, 2048, 3, 3) and shapes["fc_audioset.weight"] == (
        527,
        2048,
    )
    assert "conv_block3.bn2.num_batches_tracked" in shapes


def test_loads_a_checkpoint_in_the_official_layout(tmp_path):
    torch.manual_seed(0)
    source = Cnn14(TINY)
    for module in source.modules():  # non-trivial batch-norm statistics, as a trained model has
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1), module.running_var.uniform_(0.5, 2)
    source.eval()
    torch.save({"model": source.state_dict(), "iteration": 1000}, tmp_path / "Cnn14_16k.pth")
    embedder = load_panns(tmp_path / "Cnn14_16k.pth", cfg=TINY)
    waveform = np.random.default_rng(2).uniform(-1, 1, (2, 16000)).astype(np.float32)
    clip = AVClip(waveform=waveform, sample_rate=16000)
    features = embedder.embed(clip)
    with torch.no_grad():
        expected = source(embedder.prepare(clip))
    assert features["embedding"].shape == (5,) and features["logits"].shape == (6,)
    np.testing.assert_allclose(features["logits"], expected["logits"][0].numpy(), rtol=1e-6)
    assert (features["embedding"] >= 0).all()  # the embedding is taken after fc1's ReLU
    weight, bias = source.fc_audioset.weight.detach().numpy(), source.fc_audioset.bias.detach().numpy()
    np.testing.assert_allclose(
        features["logits"], weight @ features["embedding"] + bias, rtol=1e-5, atol=1e-6
    )


def test_a_foreign_layout_lists_the_keys(tmp_path):
    state = Cnn14(TINY).state_dict()
    del state["logmel_extractor.melW"]
    state["fc1.weight"] = torch.zeros(3, 3)
    torch.save({"model": state}, tmp_path / "bad.pth")
    with pytest.raises(
        CheckpointLayoutError, match=r"missing keys: logmel_extractor\.melW.*fc1\.weight: checkpoint \[3, 3\]"
    ):
        load_panns(tmp_path / "bad.pth", cfg=TINY)
