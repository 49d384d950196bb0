"""Speech-like babble: seeded, voiced with a speaking pitch, with pauses and formants."""

from __future__ import annotations

import numpy as np

from avikit.data.synth.speech import render_speech


def test_seeded_and_sized():
    a, b = render_speech(3, 2.0), render_speech(3, 2.0)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (32000,) and not np.array_equal(a, render_speech(4, 2.0))
    assert 0.3 <= np.abs(a).max() <= 0.9


def test_has_pauses_and_a_speaking_pitch():
    audio = render_speech(0, 10.0).astype(np.float64)
    frames = audio[: len(audio) // 400 * 400].reshape(-1, 400)  # 25 ms frames
    rms = np.sqrt((frames**2).mean(1))
    assert 0.05 < np.mean(rms < 1e-3) < 0.6  # silent share: pauses between phrases and syllables
    loud = frames[np.argsort(rms)[-40:]]  # the loudest (voiced) frames
    pitches = []
    for frame in loud:
        corr = np.correlate(frame, frame, "full")[399:]
        lag = 16000 // 300 + np.argmax(corr[16000 // 300 : 16000 // 70])  # search 70-300 Hz
        pitches.append(16000 / lag)
    assert 80 <= np.median(pitches) <= 260  # the glottal pulse rate, 85-255 Hz by construction
