"""Array resampling: exact output lengths and a tone kept at its frequency (closed form)."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.media import resample_audio


@pytest.mark.parametrize(("source", "target"), [(44100, 16000), (16000, 48000), (24000, 16000)])
def test_a_tone_keeps_its_frequency_and_the_length_is_exact(source: int, target: int) -> None:
    seconds, hz = 2, 440.0
    tone = np.sin(2 * np.pi * hz * np.arange(seconds * source) / source).astype(np.float32)[None]
    out = resample_audio(np.concatenate([tone, -tone]), source, target)
    assert out.shape == (2, seconds * target) and out.dtype == np.float32
    expected = np.sin(2 * np.pi * hz * np.arange(seconds * target) / target)
    inner = slice(target // 10, -target // 10)  # the filter's edges see the zero padding outside the clip
    assert np.abs(out[0, inner] - expected[inner]).max() < 2e-3  # the polyphase filter's ripple at 440 Hz
    assert np.array_equal(out[1], -out[0])  # channels are filtered independently (linear)


def test_equal_rates_return_the_input_and_bad_arguments_are_refused() -> None:
    audio = np.zeros((1, 100), np.float32)
    assert resample_audio(audio, 16000, 16000) is audio
    with pytest.raises(ValueError, match="positive integers"):
        resample_audio(audio, 16000, 0)
    with pytest.raises(ValueError, match=r"\[C, N\]"):
        resample_audio(audio[0], 16000, 8000)
