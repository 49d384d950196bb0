"""The spread-spectrum baseline: round trips, key secrecy, shifts and crops, its strength in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.data.synth.speech import render_speech
from avikit.eval.watermark import load_thresholds
from avikit.metrics.reconstruction import compute_si_sdr
from avikit.models.watermark.spread_spectrum import (
    SpreadSpectrumConfig,
    SpreadSpectrumWatermarker,
    numpy_envelope,
)

RATE = 16000


@pytest.fixture(scope="module")
def marker():
    return SpreadSpectrumWatermarker()


def test_round_trip_on_speech_decodes_every_bit(marker):
    host = render_speech(7, 3.0)
    bits = np.random.default_rng(0).integers(0, 2, 16)
    found = marker.detect(marker.embed(host, bits))
    assert found.score > 8 and (found.message == bits).all()
    assert found.probability.shape == host.shape and found.probability.mean() > 0.6
    # without the watermark the score is the largest of 4096 near-standard-normal lags: below 6
    assert marker.detect(host).score < 6


def test_another_key_finds_nothing(marker):
    host = render_speech(8, 3.0)
    marked = marker.embed(host, np.ones(16, np.int64))
    assert SpreadSpectrumWatermarker(SpreadSpectrumConfig(key=1)).detect(marked).score < 6


def test_time_shift_and_crop_keep_the_watermark(marker):
    host = render_speech(9, 4.0)
    bits = np.random.default_rng(1).integers(0, 2, 16)
    marked = marker.embed(host, bits)
    for audio in (np.r_[np.zeros(1234, np.float32), marked], marked[5555 : 5555 + 2 * RATE]):
        found = marker.detect(audio)
        assert found.score > 8 and (found.message == bits).all()


def test_strength_sets_the_snr_on_a_steady_host():
    # a stationary host has a flat envelope e = RMS, so w = strength * e * s with unit-RMS s: SNR = -20 log10(strength)
    host = (0.2 * np.random.default_rng(2).standard_normal(4 * RATE)).astype(np.float32)
    for strength in (0.1, 0.05):
        marker = SpreadSpectrumWatermarker(SpreadSpectrumConfig(strength=strength))
        marked = marker.embed(host, np.zeros(16, np.int64))
        snr = compute_si_sdr(host.astype(np.float64), marked.astype(np.float64))
        # 0.3 dB: the block's RMS is 1 only on average over its 17 sequences' cross terms
        assert float(snr) == pytest.approx(-20 * np.log10(strength), abs=0.3)


def test_envelope_is_the_moving_rms():
    x = np.random.default_rng(3).standard_normal(3000)
    env = numpy_envelope(x, 101, floor=0.0)
    assert env[1500] == pytest.approx(np.sqrt(np.mean(x[1450:1551] ** 2)), rel=1e-9)
    assert env[0] == pytest.approx(np.sqrt(np.mean(x[:51] ** 2)), rel=1e-9)  # cut at the clip's start


def test_bad_message_names_the_fix(marker):
    with pytest.raises(ValueError, match="16 bits of 0/1"):
        marker.embed(np.zeros(100, np.float32), np.array([2] * 16))


def test_default_strength_is_the_one_calibrated_on_val():
    # generators embed this default when it is chosen: it must be the strength compared on val
    assert SpreadSpectrumConfig().strength == load_thresholds()["calibration"]["spread_spectrum_strength"]
