"""The audio watermark attack suite: edits a watermark must survive, each with its per-sample mask.

Attacks follow AudioSeal's evaluation (San Roman et al., ICML 2024, table 8) and omnisealbench's audio
attacks (facebookresearch/omnisealbench, commit ``2c3a2b1``, ``attacks/audio.py``), on mono float audio:

=====================  ===================================================================================
``noise_snr=S``        white Gaussian noise at exactly ``S`` dB signal-to-noise ratio
``pink_snr=S``         pink (1/f power) noise at exactly ``S`` dB SNR
``resample=R``         down to ``R`` Hz and back (polyphase, Kaiser window: ``scipy.signal.resample_poly``)
``mp3=B``, ``aac=B``   encoded and decoded through FFmpeg (PyAV): MP3 (LAME) or AAC in mp4, ``B`` kb/s
``shift=T``            delayed by ``T`` s (zeros in front, the end cut: the length is kept)
``crop=F``             a contiguous share ``F`` of the clip kept (from a random start)
``speed=F``            played ``F`` times as fast (resampled, so the pitch moves too; length ``N / F``)
``lowpass=F``          zero-phase 8th-order Butterworth low-pass at ``F`` Hz
``highpass=F``         zero-phase 8th-order Butterworth high-pass at ``F`` Hz
``echo=D``             an echo ``D`` s later at 0.4 of the level
``mix_snr=S``          another recording added, ``S`` dB below the clip
``volume=G``           multiplied by ``G``
=====================  ===================================================================================

Each attack moves the clip's per-sample watermark mask the way it moves the samples (shift, crop and speed
move it; the others keep it), so localization can be scored after it.

Example:
    >>> rng = np.random.default_rng(0)
    >>> audio = np.sin(np.arange(16000) / 5).astype(np.float32)
    >>> out = apply_attack("speed=1.25", audio, np.ones(16000), 16000, rng)
    >>> out.audio.shape, out.mask.shape
    ((12800,), (12800,))
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from numpy.typing import NDArray
from scipy import signal

from avikit.errors import UnknownNameError, UsageError

__all__ = ["ATTACKS", "STANDARD_ATTACKS", "Attacked", "apply_attack", "parse_attack", "reencode"]

STANDARD_ATTACKS = (
    "none",
    "noise_snr=20",
    "noise_snr=10",
    "noise_snr=5",
    "pink_snr=10",
    "resample=8000",
    "mp3=64",
    "aac=64",
    "shift=0.1",
    "crop=0.5",
    "speed=0.9",
    "speed=1.1",
    "lowpass=3000",
    "highpass=500",
    "echo=0.1",
    "mix_snr=10",
    "mix_snr=0",
    "volume=0.5",
)
"""The attacks of the watermark table, in its row order (``none``: the watermarked clip as it is)."""


@dataclass(frozen=True)
class Attacked:
    """An attacked clip: mono ``audio [N']`` and its per-sample watermark ``mask [N']`` in {0, 1}."""

    audio: NDArray[np.float32]
    mask: NDArray[np.float32]


_Attack = Callable[[NDArray[np.float64], NDArray[np.float64], int, float, "_Context"], Attacked]


@dataclass(frozen=True)
class _Context:
    rng: np.random.Generator
    other: NDArray[np.float64] | None


def _power(x: NDArray[np.float64]) -> float:
    return float(np.mean(x**2))


def _at_snr(audio: NDArray[np.float64], noise: NDArray[np.float64], snr_db: float) -> NDArray[np.float64]:
    """``audio + g * noise`` with ``g`` such that ``10 log10(P(audio) / P(g noise)) == snr_db`` exactly."""
    gain = math.sqrt(_power(audio) / max(_power(noise), 1e-30) / 10 ** (snr_db / 10))
    return audio + gain * noise


def _same(audio: NDArray[np.float64], mask: NDArray[np.float64]) -> Attacked:
    return Attacked(audio.astype(np.float32), mask.astype(np.float32))


def _noise(audio: NDArray, mask: NDArray, rate: int, value: float, ctx: _Context) -> Attacked:
    return _same(_at_snr(audio, ctx.rng.standard_normal(len(audio)), value), mask)


def _pink(audio: NDArray, mask: NDArray, rate: int, value: float, ctx: _Context) -> Attacked:
    spectrum = np.fft.rfft(ctx.rng.standard_normal(len(audio)))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0))  # power ~ 1 / f
    return _same(_at_snr(audio, np.fft.irfft(spectrum, len(audio)), value), mask)


def _ratio(target: float, rate: int) -> tuple[int, int]:
    fraction = Fraction(target).limit_denominator(1000) / rate
    return fraction.numerator, fraction.denominator


def _resample(audio: NDArray, mask: NDArray, rate: int, value: float, ctx: _Context) -> Attacked:
    up, down = _ratio(value, rate)
    low = signal.resample_poly(audio, up, down)
    back = signal.resample_poly(low, down, up)[: len(audio)]
    return _same(np.pad(back, (0, len(audio) - len(back))), mask)


def reencode(audio: NDArray[np.floating], sample_rate: int, codec: str, bitrate: int) -> NDArray[np.float32]:
    """Encode mono audio with FFmpeg's ``libmp3lame`` (in .mp3) or ``aac`` (in .mp4) and decode it back.

    Both containers record the encoder's priming delay, so the decoded audio lines up with the input; it
    is cut or zero-padded to the input's length.

    Example:
        >>> reencode(np.zeros(4000, np.float32), 16000, "aac", 64_000).shape
        (4000,)
    """
    container = {"libmp3lame": "mp3", "aac": "mp4"}[codec]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(codec, rate=sample_rate)
        assert isinstance(stream, av.audio.stream.AudioStream)  # an audio codec gives an audio stream
        stream.layout, stream.bit_rate = "mono", bitrate
        data = np.clip(np.asarray(audio, np.float32), -1, 1)
        for start in range(0, len(data), 1024):
            frame = av.AudioFrame.from_ndarray(data[None, start : start + 1024].copy(), "fltp", "mono")
            frame.sample_rate, frame.pts, frame.time_base = sample_rate, start, Fraction(1, sample_rate)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    buffer.seek(0)
    chunks = []
    with av.open(buffer, "r") as source:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        for frame in source.decode(source.streams.audio[0]):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    decoded = np.concatenate(chunks)[: len(data)]
    return np.pad(decoded, (0, len(data) - len(decoded))).astype(np.float32)


def _codec(name: str) -> _Attack:
    def attack(audio: NDArray, mask: NDArray, rate: int, value: float, ctx: _Context) -> Attacked:
        return _same(reencode(audio, rate, name, int(value * 1000)).astype(np.float64), mask)

    return attack


def _shift(audio: NDArray, mask: NDArray, rate: int, value: float, ctx: _Context) -> Attacked:
    delay = min(round(value * rate), len(audio))
    return _same(np.pad(audio, (delay, 0))[: len(audio)], np.pad(mask, (delay, 0))[: len(mask)])


def _crop(audio: NDArray, mask: NDArray, rate: int, value: float, ctx: _Context) -> Attacked:
    keep = max(1, round(value * len(audio)))
    start = int(ctx.rng.integers(0, len(audio) - keep + 1))
    return _same(audio[start : start + keep], mask[start : start + keep])


def _speed(audio: NDArray, mask: NDArray, rate: int, value: float, ctx: _Context) -> Attacked:
    up, down = _ratio(rate / value, rate)  # N samples become N / value
    length = round(len(audio) / value)
    faster = signal.resample_poly(audio, up, down)[:length]
    nearest = np.minimum((np.arange(length) * value).astype(np.int64), len(mask) - 1)
    return _same(np.pad(faster, (0, length - len(faster))), mask[nearest])


def _filter(kind: str) -> _Attack:
    def attack(audio: NDArray, mask: NDArray, rate: int, value: float, ctx: _Context) -> Attacked:
        sos = signal.butter(8, value, btype=kind, fs=rate, output="sos")
        return _same(signal.sosfiltfilt(sos, audio), mask)

    return attack


def _echo(audio: NDArray, mask: NDArray, rate: int, value: float, ctx: _Context) -> Attacked:
    delay = round(value * rate)
    echoed = audio.copy()
    echoed[delay:] += 0.4 * audio[: len(audio) - delay]
    return _same(echoed, mask)


def _mix(audio: NDArray, mask: NDArray, rate: int, value: float, ctx: _Context) -> Attacked:
    if ctx.other is None:
        raise UsageError("the mix attack needs another recording: pass other=")
    other = np.resize(ctx.other, len(audio))  # repeated or cut to the clip's length
    return _same(_at_snr(audio, other, value), mask)


def _volume(audio: NDArray, mask: NDArray, rate: int, value: float, ctx: _Context) -> Attacked:
    return _same(audio * value, mask)


ATTACKS: dict[str, _Attack] = {
    "noise_snr": _noise,
    "pink_snr": _pink,
    "resample": _resample,
    "mp3": _codec("libmp3lame"),
    "aac": _codec("aac"),
    "shift": _shift,
    "crop": _crop,
    "speed": _speed,
    "lowpass": _filter("lowpass"),
    "highpass": _filter("highpass"),
    "echo": _echo,
    "mix_snr": _mix,
    "volume": _volume,
}
"""Attack name -> implementation; a spec is ``name=value`` (module docstring), or ``none``."""


def parse_attack(spec: str) -> tuple[str, float]:
    """``"noise_snr=10"`` -> ``("noise_snr", 10.0)``; ``"none"`` -> ``("none", 0.0)``.

    Example:
        >>> parse_attack("mp3=64")
        ('mp3', 64.0)
    """
    if spec == "none":
        return "none", 0.0
    name, sep, value = spec.partition("=")
    if name not in ATTACKS:
        raise UnknownNameError(f"unknown attack {spec!r}; known attacks are: none, {', '.join(ATTACKS)}")
    try:
        number = float(value) if sep else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or (name not in ("noise_snr", "pink_snr", "mix_snr") and number <= 0):
        raise UsageError(f"attack {spec!r}: write {name}=<positive number>, e.g. {name}=10")
    return name, number


def apply_attack(
    spec: str,
    audio: NDArray[np.floating],
    mask: NDArray[np.floating],
    sample_rate: int,
    rng: np.random.Generator,
    other: NDArray[np.floating] | None = None,
) -> Attacked:
    """Apply one attack to a mono clip and its per-sample watermark mask.

    Args:
        spec: ``name=value`` of :data:`ATTACKS`, or ``"none"``.
        audio: ``[N]`` mono audio in [-1, 1].
        mask: ``[N]`` 1 where the watermark is, else 0.
        sample_rate: the audio's rate in Hz.
        rng: source of the noise and of the crop's start.
        other: ``[M]`` another recording, for ``mix_snr``.

    Returns:
        The attacked audio and mask (float32).
    """
    wave = np.asarray(audio, dtype=np.float64)
    marks = np.asarray(mask, dtype=np.float64)
    if wave.ndim != 1 or marks.shape != wave.shape:
        raise ValueError(f"need mono audio [N] and a mask of the same shape, got {wave.shape}, {marks.shape}")
    name, value = parse_attack(spec)
    if name == "none":
        return _same(wave, marks)
    extra = None if other is None else np.asarray(other, dtype=np.float64).reshape(-1)
    return ATTACKS[name](wave, marks, sample_rate, value, _Context(rng, extra))
