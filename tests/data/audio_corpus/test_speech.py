"""The speech domain: sentences in six languages and espeak-ng's audio at the corpus rate."""

from __future__ import annotations

import subprocess
import wave

import numpy as np
import pytest

from avikit.data.audio_corpus.sentences import LANGUAGES, PHRASES, compose_sentence
from avikit.data.audio_corpus.speech import LANGUAGE_VOICES, draw_utterance, speak
from avikit.errors import MissingDependencyError, UsageError


def test_six_languages_with_plain_word_sentences():
    assert len(LANGUAGES) >= 5 and set(LANGUAGE_VOICES) == set(LANGUAGES)
    rng = np.random.default_rng(0)
    for language in LANGUAGES:
        text = compose_sentence(language, rng)
        assert text.endswith(".") and text[0].isupper() and not any(c.isdigit() for c in text)
        assert len(text.split()) >= 5
    assert all(len(parts) == 4 and all(len(p) == 10 for p in parts) for parts in PHRASES.values())
    with pytest.raises(UsageError, match="unknown language"):
        compose_sentence("xx", rng)


def test_utterances_draw_mostly_english():
    rng = np.random.default_rng(0)
    languages = [draw_utterance(rng).language for _ in range(400)]
    assert 0.4 < languages.count("en") / 400 < 0.6 and len(set(languages)) == 6


def test_speak_resamples_espeak_output_exactly(tmp_path):
    text, voice = "The teacher finds a warm coat.", "en-us+f3"
    path = tmp_path / "native.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-p", "50", "-w", str(path), text], check=True)
    with wave.open(str(path)) as reader:
        native = np.frombuffer(reader.readframes(reader.getnframes()), "<i2") / 32768.0
    ours = speak(text, voice, 160, 50, 22050)  # the native rate: the polyphase filter is the identity
    np.testing.assert_array_equal(ours, native.astype(np.float32))
    resampled = speak(text, voice, 160, 50, 16000)
    assert abs(len(resampled) - len(native) * 16000 / 22050) <= 1

    # the energy below 7 kHz is kept by a 16 kHz rate (the resampler's pass band); ratio within 2%
    def low_energy(x, rate):
        spectrum = np.abs(np.fft.rfft(x)) ** 2
        return spectrum[np.fft.rfftfreq(len(x), 1 / rate) < 7000].sum() / len(x)

    assert low_energy(resampled, 16000) == pytest.approx(low_energy(native, 22050) * 16000 / 22050, rel=0.02)


def test_missing_program_names_the_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MissingDependencyError, match="apt-get install espeak-ng"):
        speak("Hello there.", "en-us", 160, 50, 16000)
