"""The trained mel vocoders: the iSTFT head against closed forms, learning on a few steps, save/load, the
Griffin-Lim comparison and the flow package's hookup."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from avikit.models.generation.clips import load_pairs
from avikit.models.generation.v2a_network import V2AConfig
from avikit.models.generation.v2a_pipeline import V2AModelConfig, build_v2a_generator
from avikit.models.tokenizers.vocoder import ISTFTDecoder, VocoderConfig, build_vocoder, from_pretrained
from avikit.train.generators import GenTrainConfig
from avikit.train.vocoder import (
    MultiResolutionSTFTLoss,
    VocoderTrainConfig,
    compressed_spectrum_loss,
    evaluate_vocoder,
    train_vocoder,
)

TINY = VocoderConfig(dim=16, depth=1, hidden=32)
TINY_CONV = VocoderConfig(architecture="transposed-conv", base=2)


@pytest.mark.parametrize("n_fft", [1024, 512])
def test_the_inverse_stft_gives_back_a_signal_from_the_true_stft_of_its_mel_frames(n_fft):
    decoder = build_vocoder(dataclasses.replace(TINY, istft_n_fft=n_fft)).decoder
    assert isinstance(decoder, ISTFTDecoder) and decoder.n_fft == n_fft
    signal = torch.randn(2, 40 * 250, generator=torch.Generator().manual_seed(0)) * 0.1
    spectrum = torch.stft(signal, n_fft, 250, window=torch.hann_window(n_fft), return_complex=True)
    frames = signal.shape[-1] // 250  # one STFT frame per mel frame, centred on sample i * hop
    # float32 overlap-add; at n_fft 512 the last samples lie near the window's edge (small envelope)
    torch.testing.assert_close(decoder.synthesize(spectrum[..., :frames])[:, 0], signal, atol=2e-5, rtol=0)


def test_a_head_set_to_a_sinusoids_stft_makes_the_sinusoid():
    # 512 Hz repeats every 31.25 samples, so every 250-sample hop sees the same windowed frame: the STFT is
    # one constant column, which a head with zero weights and that column as bias predicts for any mel.
    vocoder = build_vocoder(VocoderConfig(dim=16, depth=1, hidden=32, magnitude_prior=False))
    time = torch.arange(48 * 250) / 16000
    sinusoid = 0.3 * torch.cos(2 * math.pi * 512 * time + 0.7)
    offsets = torch.arange(1024) - 512  # frame i covers samples i * hop - 512 .. i * hop + 511 (centred)
    frame = 0.3 * torch.cos(2 * math.pi * 512 * offsets / 16000 + 0.7)
    column = torch.fft.rfft(frame * torch.hann_window(1024))  # [513], the same for every frame
    with torch.no_grad():
        vocoder.decoder.head.weight.zero_()
        vocoder.decoder.head.bias.copy_(torch.cat([torch.log(column.abs() + 1e-12), column.angle()]))
    mel = torch.randn(1, 48, 64)
    torch.testing.assert_close(vocoder(mel)[0, 0], sinusoid, atol=1e-4, rtol=0)


def test_with_the_magnitude_prior_a_zero_head_gives_the_pseudo_inverted_mel_magnitude_and_zero_phase():
    vocoder = build_vocoder(TINY)
    with torch.no_grad():
        vocoder.decoder.head.weight.zero_()
        vocoder.decoder.head.bias.zero_()
    mel = vocoder.features(torch.randn(1, 1, 8000, generator=torch.Generator().manual_seed(2)) * 0.1)
    spectrum = vocoder.decoder.spectrum(mel.transpose(1, 2)).detach()  # [1, 513, 32]
    bank = vocoder.features.filterbank.double().numpy()  # [64, 513]
    magnitude = np.exp(mel[0].double().numpy() * 2.5 - 5.0).T  # the mel's natural-log scale, [64, 32]
    expected = np.maximum(np.linalg.pinv(bank) @ magnitude, 1e-5)
    np.testing.assert_allclose(spectrum[0].abs().numpy(), expected, rtol=1e-3, atol=1e-6)
    assert float(spectrum.imag.abs().max()) == 0.0


def test_the_stft_loss_is_zero_on_equal_signals_and_spectral_convergence_plus_log_two_on_double():
    loss = MultiResolutionSTFTLoss(((256, 64), (512, 128)))
    noise = torch.randn(2, 1, 4096, generator=torch.Generator().manual_seed(1))
    assert float(loss(noise, noise)) == 0.0
    # |2X| - |X| = |X|: spectral convergence 1; log-magnitude L1 log 2 (the 1e-5 floor is negligible here)
    assert float(loss(2 * noise, noise)) == pytest.approx(1 + math.log(2), abs=1e-3)


@pytest.mark.parametrize(
    ("config", "steps", "learning_rate", "mel_noise"),
    [(TINY, 60, 1e-2, 0.05), (TINY_CONV, 30, 5e-3, 0.0)],
    ids=["istft-noisy-mel", "conv"],
)
def test_a_few_steps_lower_the_loss_and_the_saved_vocoder_loads(
    tmp_path, config, steps, learning_rate, mel_noise
):
    audio = load_pairs("train", 4, GenTrainConfig(duration=1))["audio"]  # [4, 1, 16000]
    schedule = VocoderTrainConfig(steps, 4, 8, learning_rate, mel_noise=mel_noise)
    vocoder, record = train_vocoder(audio, config, schedule, tmp_path, progress=False)
    curve = record["loss_curve"]
    assert sum(curve[-5:]) / 5 < 0.8 * sum(curve[:5]) / 5
    loaded = from_pretrained(tmp_path / "vocoder")
    mel = vocoder.features(audio[:1])
    torch.testing.assert_close(loaded(mel), vocoder(mel))
    scores = evaluate_vocoder(vocoder, audio[:2])
    assert set(scores) == {"vocoder", "griffin_lim"} and scores["vocoder"]["rtf"] > 0


def test_the_compressed_spectrum_loss_is_zero_on_equal_signals_and_twice_the_compressed_magnitude_on_negated():
    noise = torch.randn(2, 1, 4096, generator=torch.Generator().manual_seed(3))
    assert float(compressed_spectrum_loss(noise, noise)) == 0.0
    spectrum = torch.stft(noise[:, 0], 512, 128, window=torch.hann_window(512), return_complex=True)
    expected = float(2 * spectrum.abs().pow(0.3).mean())  # |c(-X) - c(X)| = 2 |X|^0.3
    loss = compressed_spectrum_loss(-noise, noise, resolutions=((512, 128),))
    assert float(loss) == pytest.approx(expected, rel=1e-4)


def test_an_unknown_architecture_or_a_too_short_inverse_stft_is_refused():
    with pytest.raises(ValueError, match="istft"):
        build_vocoder(VocoderConfig(architecture="wavenet"))
    with pytest.raises(ValueError, match="n_fft >= 2 \\* hop"):
        build_vocoder(dataclasses.replace(TINY, istft_n_fft=256))


def test_the_flow_generator_uses_a_vocoder_when_its_config_names_one():
    network = V2AConfig(dim=16, depth=1, heads=2)
    model = build_v2a_generator(V2AModelConfig("flow", network, 8, num_steps=1, vocoder=TINY))
    assert model.vocoder is not None
    frames = torch.zeros(8, 32, 32, 3, dtype=torch.uint8).numpy()
    assert model.generate(frames).shape == (16000,)
    mel = torch.zeros(1, 64, 64)
    assert build_vocoder(TINY)(mel).shape == (1, 1, 16000)
