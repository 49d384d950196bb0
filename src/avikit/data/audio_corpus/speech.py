"""The speech domain: sentences spoken by ``espeak-ng`` in several voices and six languages.

A voice is an espeak-ng language voice with a variant (``"en-us+f3"``: American English, female variant 3),
a speed in words per minute and a pitch (0-99). :func:`speak` runs ``espeak-ng`` and returns the mono
waveform resampled from its 22050 Hz to the corpus rate by a polyphase filter (``scipy.signal.resample_poly``;
exact, stateless and deterministic). espeak-ng (GPL-3.0-or-later) is a program the corpus runs, not code it
contains; its synthesized audio carries no licence terms of its own.

Example:
    >>> waveform = speak("The old man opens the red car.", "en-us+m3", 160, 50, 16000)
    >>> waveform.dtype, 1.0 < len(waveform) / 16000 < 4.0
    (dtype('float32'), True)
"""

from __future__ import annotations

import tempfile
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from avikit.data.audio_corpus.sentences import LANGUAGES, compose_sentence
from avikit.data.audio_corpus.tools import run_program
from avikit.errors import DataError

__all__ = [
    "ESPEAK_RATE",
    "LANGUAGE_VOICES",
    "LANGUAGE_WEIGHTS",
    "VARIANTS",
    "Utterance",
    "draw_utterance",
    "speak",
]

ESPEAK_RATE = 22050
"""espeak-ng's output sample rate in Hz."""

LANGUAGE_VOICES = {"en": "en-us", "de": "de", "fr": "fr-fr", "es": "es", "it": "it", "nl": "nl"}
"""Language code -> espeak-ng voice."""

LANGUAGE_WEIGHTS = {"en": 0.5, "de": 0.1, "fr": 0.1, "es": 0.1, "it": 0.1, "nl": 0.1}
"""How often each language is drawn: half the clips are English, the subset an English recogniser judges."""

VARIANTS = ("m1", "m3", "m7", "f1", "f3", "f4")
"""espeak-ng voice variants used: three male and three female."""


@dataclass(frozen=True)
class Utterance:
    """What one speech clip says and how: the transcript and the voice that speaks it."""

    text: str
    language: str
    voice: str
    speed: int
    pitch: int


def speak(text: str, voice: str, speed: int, pitch: int, sample_rate: int) -> np.ndarray:
    """Speak ``text`` with espeak-ng: mono float32 ``[N]`` in [-1, 1] at ``sample_rate``.

    Raises:
        MissingDependencyError: espeak-ng is not installed.
        DataError: espeak-ng wrote no audio or audio of another format.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        run_program(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path, "--", text])
        with wave.open(str(path), "rb") as reader:
            rate, width, channels = reader.getframerate(), reader.getsampwidth(), reader.getnchannels()
            raw = reader.readframes(reader.getnframes())
    if (width, channels) != (2, 1) or not raw:
        raise DataError(
            f"espeak-ng wrote {len(raw)} bytes of {channels}-channel {8 * width}-bit audio for {text!r}"
        )
    waveform = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    ratio = Fraction(sample_rate, rate)
    return resample_poly(waveform, ratio.numerator, ratio.denominator).astype(np.float32)


def draw_utterance(rng: np.random.Generator, num_parts: int = 4) -> Utterance:
    """Draw a language (:data:`LANGUAGE_WEIGHTS`), a sentence and a voice.

    The voice is a variant of the language's espeak-ng voice, 140-175 words/min and a pitch of 35-65.
    """
    language = LANGUAGES[int(rng.choice(len(LANGUAGES), p=[LANGUAGE_WEIGHTS[code] for code in LANGUAGES]))]
    text = compose_sentence(language, rng, num_parts)
    variant = VARIANTS[int(rng.integers(len(VARIANTS)))]
    speed, pitch = int(rng.integers(140, 176)), int(rng.integers(35, 66))
    return Utterance(text, language, f"{LANGUAGE_VOICES[language]}+{variant}", speed, pitch)
