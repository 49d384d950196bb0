"""The watermark attack suite against closed forms: SNRs, filter responses, delays, rates."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.errors import UnknownNameError, UsageError
from avikit.metrics.watermark_attacks import STANDARD_ATTACKS, apply_attack, parse_attack

RATE = 16000


def _tone(freq: float, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(int(seconds * RATE)) / RATE)


def _amplitude(x: np.ndarray, freq: float) -> float:
    """Amplitude of a tone at ``freq`` in the middle half of ``x`` (projection on sin and cos)."""
    n = len(x)
    t = np.arange(n // 4, 3 * n // 4) / RATE
    seg = x[n // 4 : 3 * n // 4]
    return float(
        2 * np.hypot(np.mean(seg * np.sin(2 * np.pi * freq * t)), np.mean(seg * np.cos(2 * np.pi * freq * t)))
    )


def _attack(spec: str, audio: np.ndarray, seed: int = 0, other=None):
    return apply_attack(spec, audio, np.ones(len(audio)), RATE, np.random.default_rng(seed), other)


@pytest.mark.parametrize("spec", ["noise_snr=10", "pink_snr=5", "mix_snr=0"])
def test_additive_attacks_hit_their_snr_exactly(spec):
    clean = _tone(440)
    other = np.random.default_rng(3).standard_normal(7000)
    out = _attack(spec, clean, other=other).audio.astype(np.float64)
    snr = 10 * np.log10(np.mean(clean**2) / np.mean((out - clean) ** 2))
    assert snr == pytest.approx(float(spec.split("=")[1]), abs=1e-4)  # 1e-4 dB: float32 output rounding


def test_pink_noise_power_falls_as_one_over_f():
    out = _attack("pink_snr=0", np.full(RATE * 4, 1e-3)).audio - 1e-3
    power = np.abs(np.fft.rfft(out)) ** 2
    freqs = np.fft.rfftfreq(len(out), 1 / RATE)
    band = (freqs > 50) & (freqs < 5000)
    slope = np.polyfit(np.log(freqs[band]), np.log(power[band] + 1e-30), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.1)  # 0.1: the log-periodogram of 4 s of noise scatters


def test_resample_keeps_the_band_below_the_new_nyquist_and_removes_the_rest():
    out = _attack("resample=8000", _tone(1000) + _tone(6000)).audio
    assert _amplitude(out, 1000) == pytest.approx(
        0.5, rel=3e-3
    )  # two passes of a Kaiser filter, ~1e-3 ripple each
    assert _amplitude(out, 6000) < 0.5 * 10 ** (-40 / 20)  # stopband attenuation > 40 dB


@pytest.mark.parametrize("spec", ["mp3=64", "aac=64"])
def test_codecs_keep_timing_and_most_of_the_signal(spec):
    clean = _tone(440, 2.0) * (1 + 0.5 * np.sin(2 * np.pi * 3 * np.arange(2 * RATE) / RATE)) / 1.5
    out = _attack(spec, clean).audio.astype(np.float64)
    assert out.shape == clean.shape
    lags = np.arange(-200, 201)
    corr = [np.dot(clean[200:-200], np.roll(out, -lag)[200:-200]) for lag in lags]
    assert lags[int(np.argmax(corr))] == 0  # the container's priming delay is undone
    snr = 10 * np.log10(np.sum(clean**2) / np.sum((out - clean) ** 2))
    assert snr > 15  # 64 kb/s mono on a pure tone: far above 15 dB; a misaligned decode is below 0


def test_butterworth_filters_follow_their_closed_form_magnitude():
    # digital Butterworth (bilinear transform, prewarped): |H|^2 = 1 / (1 + (tan(pi f / fs) / tan(pi fc / fs))^(2n))
    # for n = 8; zero-phase filtering applies |H|^2 once (a high-pass: the ratio inverted)
    def ratio(freq, cutoff):
        return np.tan(np.pi * freq / RATE) / np.tan(np.pi * cutoff / RATE)

    out = _attack("lowpass=3000", _tone(1500) + _tone(4500)).audio
    for freq in (1500, 4500):
        expected = 0.5 / (1 + ratio(freq, 3000) ** 16)
        assert _amplitude(out, freq) == pytest.approx(expected, rel=1e-3, abs=1e-6)  # float32 output
    out = _attack("highpass=500", _tone(250) + _tone(1000)).audio
    for freq in (250, 1000):
        expected = 0.5 / (1 + ratio(freq, 500) ** -16)
        assert _amplitude(out, freq) == pytest.approx(expected, rel=1e-3, abs=1e-6)


def test_speed_scales_frequency_and_length_and_moves_the_mask():
    for speed in (0.9, 1.1):
        out = _attack(f"speed={speed}", _tone(1000))
        assert len(out.audio) == round(RATE / speed)
        spectrum = np.abs(np.fft.rfft(out.audio * np.hanning(len(out.audio))))
        peak = np.argmax(spectrum) * RATE / len(out.audio)
        assert peak == pytest.approx(1000 * speed, abs=RATE / len(out.audio))  # one FFT bin
    mask = np.r_[np.zeros(8000), np.ones(8000)]
    moved = apply_attack("speed=2", np.zeros(16000), mask, RATE, np.random.default_rng(0)).mask
    np.testing.assert_array_equal(moved, np.r_[np.zeros(4000), np.ones(4000)])


def test_shift_crop_echo_volume_closed_forms():
    x = np.random.default_rng(0).uniform(-0.5, 0.5, RATE)
    mask = (np.arange(RATE) >= 4000).astype(float)
    shifted = apply_attack("shift=0.1", x, mask, RATE, np.random.default_rng(0))
    np.testing.assert_allclose(shifted.audio, np.r_[np.zeros(1600), x[:-1600]], atol=3e-8)  # float32
    np.testing.assert_array_equal(shifted.mask, np.r_[np.zeros(1600), mask[:-1600]])
    cropped = apply_attack("crop=0.25", x, mask, RATE, np.random.default_rng(4))
    start = int(np.flatnonzero(np.isclose(x, cropped.audio[0], atol=3e-8))[0])
    np.testing.assert_allclose(cropped.audio, x[start : start + 4000], atol=3e-8)
    np.testing.assert_array_equal(cropped.mask, mask[start : start + 4000])
    impulse = np.zeros(RATE)
    impulse[10] = 1.0
    echoed = _attack("echo=0.1", impulse).audio
    assert np.flatnonzero(echoed).tolist() == [10, 1610] and echoed[1610] == pytest.approx(0.4)
    np.testing.assert_allclose(_attack("volume=0.5", x).audio, 0.5 * x, atol=3e-8)


def test_every_standard_attack_runs_and_keeps_audio_finite():
    x = _tone(300) + 0.1 * np.random.default_rng(1).standard_normal(RATE)
    for spec in STANDARD_ATTACKS:
        out = _attack(spec, x, other=_tone(700))
        assert np.isfinite(out.audio).all() and out.audio.shape == out.mask.shape


def test_bad_specs_name_the_fix():
    with pytest.raises(UnknownNameError, match="known attacks"):
        parse_attack("reverb=1")
    with pytest.raises(UsageError, match="speed=<positive number>"):
        parse_attack("speed=-1")
    with pytest.raises(UsageError, match="another recording"):
        _attack("mix_snr=0", _tone(100))
