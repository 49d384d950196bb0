"""Reconstruction metrics against closed forms and scikit-image."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.metrics.reconstruction import compute_mel_distance, compute_psnr, compute_si_sdr, compute_ssim


def test_si_sdr_equals_the_closed_form_for_orthogonal_noise():
    phase = 2 * np.pi * 7 * np.arange(4000) / 4000
    reference, noise = np.sin(phase), np.cos(phase)
    for gain, noise_gain in [(1.0, 0.1), (3.0, 0.5), (0.2, 0.01)]:
        expected = 10 * np.log10(gain**2 * np.sum(reference**2) / (noise_gain**2 * np.sum(noise**2)))
        value = compute_si_sdr(reference, gain * reference + noise_gain * noise)
        # float64; 7 whole periods: sin and cos orthogonal to 1e-13
        assert float(value) == pytest.approx(expected, abs=1e-9)


def test_si_sdr_is_batched_and_scale_invariant():
    rng = np.random.default_rng(0)
    reference, estimate = rng.normal(size=(2, 3, 500)), rng.normal(size=(2, 3, 500))
    values = compute_si_sdr(reference, estimate)
    assert values.shape == (2, 3)
    assert np.allclose(values, compute_si_sdr(reference, 5 * estimate))
    assert values[1, 2] == pytest.approx(float(compute_si_sdr(reference[1, 2], estimate[1, 2])))


def test_psnr_and_ssim_match_scikit_image():
    metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(1)
    reference = rng.integers(0, 256, (3, 24, 28, 3)).astype(np.float64)
    estimate = np.clip(reference + rng.normal(0, 15, reference.shape), 0, 255)
    psnr, ssim = compute_psnr(reference, estimate), compute_ssim(reference, estimate)
    for index in range(3):
        # float64: one log10 of a mean of squares
        assert psnr[index] == pytest.approx(
            metrics.peak_signal_noise_ratio(reference[index], estimate[index], data_range=255), rel=1e-12
        )
        expected = metrics.structural_similarity(
            reference[index],
            estimate[index],
            data_range=255,
            channel_axis=-1,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        # float64 Gaussian filters, other summation order: ~1e-14 relative
        assert ssim[index] == pytest.approx(expected, rel=1e-10)


def test_psnr_closed_form_and_ssim_of_identical_images():
    image = np.zeros((12, 12, 1))
    assert float(compute_psnr(image, image + 2.55)) == pytest.approx(40.0)
    assert float(compute_ssim(image + 7, image + 7)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="pixels"):
        compute_ssim(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))


def test_mel_distance_is_zero_for_equal_signals_and_grows_with_noise():
    rng = np.random.default_rng(2)
    phase = 2 * np.pi * 440 * np.arange(8000) / 16000
    clean = np.sin(phase)
    distances = [
        float(compute_mel_distance(clean, clean + level * rng.normal(size=clean.shape), 16000))
        for level in (0.0, 0.01, 0.1, 1.0)
    ]
    assert distances[0] == 0.0 and distances == sorted(distances) and distances[-1] > distances[1]


def test_mel_distance_matches_librosa_mel_on_one_scale():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(3)
    first, second = rng.normal(size=6000), rng.normal(size=6000)
    value = float(compute_mel_distance(first, second, 16000, windows=(512,), n_mels=(64,)))
    mels = [
        librosa.feature.melspectrogram(
            y=signal, sr=16000, n_fft=512, hop_length=128, power=1.0, n_mels=64, pad_mode="reflect"
        )
        for signal in (first, second)
    ]
    expected = np.mean(np.abs(np.log10(np.maximum(mels[0], 1e-5)) - np.log10(np.maximum(mels[1], 1e-5))))
    # float64 both; 6.5e-10 measured (FFT libraries differ)
    assert value == pytest.approx(float(expected), rel=1e-6)
