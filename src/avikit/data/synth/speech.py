"""Speech-like audio for training and testing audio watermarks: babble synthesized from a source-filter model.

Not words: syllables of a glottal pulse train (a fundamental of 85-255 Hz that falls over each phrase, with
jitter) through five cascaded vowel formant resonators, joined by fricative noise, plosive bursts and
pauses. It has what a watermark has to hide under in speech: a harmonic spectrum with moving formants,
silences, noisy consonants and a syllable rhythm of about 4 per second. Everything is drawn from one seed.

Example:
    >>> audio = render_speech(0, seconds=2.0)
    >>> audio.shape, audio.dtype, bool(0.05 < float(np.abs(audio).max()) <= 0.9)
    ((32000,), dtype('float32'), True)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

__all__ = ["SPEECH_SEEDS", "VOWELS", "render_speech"]

SPEECH_SEEDS = {"train": 0, "val": 100_000, "test": 200_000}
"""First seed of the speech-like clips of each split (watermark training, calibration and evaluation)."""
VOWELS: dict[str, tuple[float, float, float]] = {
    "a": (730.0, 1090.0, 2440.0),
    "e": (530.0, 1840.0, 2480.0),
    "i": (270.0, 2290.0, 3010.0),
    "o": (570.0, 840.0, 2410.0),
    "u": (300.0, 870.0, 2240.0),
}
"""First three formants (Hz) of five vowels (Peterson and Barney 1952, male speakers)."""
_UPPER_FORMANTS = (3500.0, 4500.0)
_BANDWIDTHS = (80.0, 100.0, 140.0, 200.0, 250.0)


def _resonator(x: NDArray[np.float64], freq: float, bandwidth: float, rate: int) -> NDArray[np.float64]:
    """A two-pole resonator (Klatt 1980) with unit gain at 0 Hz."""
    r = np.exp(-np.pi * bandwidth / rate)
    a1, a2 = -2 * r * np.cos(2 * np.pi * freq / rate), r * r
    return signal.lfilter([1 + a1 + a2], [1, a1, a2], x)


def _voiced(
    duration: int, f0: NDArray[np.float64], formants: tuple[float, ...], rate: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """A vowel: glottal pulses at ``f0`` (per sample) through the formant cascade, with a smooth envelope."""
    phase = np.cumsum(f0 * (1 + 0.01 * rng.standard_normal(duration)) / rate)
    pulses = np.diff(np.floor(phase), prepend=0.0)  # 1 at each glottal closure
    source = signal.lfilter([1.0], [1.0, -0.97], pulses)  # -12 dB/oct glottal roll-off, +6 dB lip radiation
    for freq, bandwidth in zip((*formants, *_UPPER_FORMANTS), _BANDWIDTHS, strict=True):
        source = _resonator(source, freq, bandwidth, rate)
    return source * np.hanning(duration) ** 0.5


def _fricative(duration: int, rate: int, rng: np.random.Generator) -> NDArray[np.float64]:
    low = rng.uniform(2500, 4000)
    sos = signal.butter(4, (low, min(low * 1.8, 0.45 * rate)), btype="bandpass", fs=rate, output="sos")
    return 0.3 * signal.sosfilt(sos, rng.standard_normal(duration)) * np.hanning(duration)


def _plosive(duration: int, rate: int, rng: np.random.Generator) -> NDArray[np.float64]:
    burst = rng.standard_normal(duration) * np.exp(-np.arange(duration) / (0.004 * rate))
    return 0.5 * signal.sosfilt(signal.butter(2, 1000, btype="highpass", fs=rate, output="sos"), burst)


def _syllable(t0: float, f0: float, rate: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """An optional consonant, then a vowel of 0.12-0.3 s with a falling pitch."""
    parts = []
    kind = rng.choice(["none", "fricative", "plosive"], p=[0.3, 0.4, 0.3])
    if kind == "fricative":
        parts.append(_fricative(int(rng.uniform(0.05, 0.12) * rate), rate, rng))
    elif kind == "plosive":
        parts.append(np.r_[np.zeros(int(0.03 * rate)), _plosive(int(0.02 * rate), rate, rng)])
    length = int(rng.uniform(0.12, 0.3) * rate)
    contour = f0 * (1 - 0.15 * np.linspace(0, 1, length) * rng.uniform(0, 1))
    vowel = VOWELS[str(rng.choice(list(VOWELS)))]
    shifted = tuple(f * rng.uniform(0.93, 1.07) for f in vowel)
    parts.append(_voiced(length, contour, shifted, rate, rng) * rng.uniform(0.5, 1.0))
    return np.concatenate(parts)


def render_speech(seed: int, seconds: float = 10.0, sample_rate: int = 16000) -> NDArray[np.float32]:
    """Speech-like mono babble ``float32 [seconds * sample_rate]``, peak-normalized to a random level.

    Phrases of 3-8 syllables separated by 0.15-0.6 s pauses; each phrase has its own speaker pitch.

    Args:
        seed: the seed of every choice.
        seconds: length.
        sample_rate: rate in Hz (at least 10 kHz: the upper formant is at 4.5 kHz).
    """
    if sample_rate < 10000:
        raise ValueError(f"speech needs a sample rate of at least 10000 Hz, got {sample_rate}")
    rng = np.random.default_rng(seed)
    total = int(seconds * sample_rate)
    out = np.zeros(total + sample_rate)
    position = int(rng.uniform(0.0, 0.3) * sample_rate)
    while position < total:
        f0 = rng.uniform(85, 255)
        for _ in range(int(rng.integers(3, 9))):
            if position >= total:
                break
            piece = _syllable(position / sample_rate, f0, sample_rate, rng)
            end = min(position + len(piece), len(out))
            out[position:end] += piece[: end - position]
            position = end + int(rng.uniform(0.0, 0.05) * sample_rate)
            f0 *= rng.uniform(0.95, 1.0)
        position += int(rng.uniform(0.15, 0.6) * sample_rate)
    out = out[:total]
    peak = float(np.abs(out).max())
    return (out / max(peak, 1e-9) * rng.uniform(0.3, 0.9)).astype(np.float32)
