"""Exact conversions between seconds and integer frame or sample positions.

Every cut, window and alignment in avikit works on integers plus rates, converted from seconds here
and nowhere else. Floats are converted to :class:`fractions.Fraction` exactly (no decimal rounding), so
``index -> seconds -> index`` never loses a sample.

Example:
    >>> window_indices(0.5, 1.0, 25)
    (13, 25)
    >>> samples_for_frames(13, 25, Fraction(25), 16000)
    (8320, 16000)
    >>> seconds_to_index(1 / 3, 48000) == 16000
    True
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral, Rational, Real

from avikit.errors import UsageError

__all__ = [
    "Seconds",
    "audio_window",
    "index_to_seconds",
    "samples_for_frames",
    "seconds_to_index",
    "to_fraction",
    "window_indices",
]

Seconds = float | int | Fraction
"""A time or a rate given at the interface: a float, an int or an exact fraction."""

# Floats that come from decimal literals (0.1, 29.97, 1/3 ...) are snapped to the simplest fraction within
# this relative distance, so that 0.1 s at 10 fps is exactly frame 1 and 1/3 s at 48 kHz exactly 16000.
_SNAP_DENOMINATOR = 10_000_000


def to_fraction(value: Seconds) -> Fraction:
    """Convert seconds or a rate to an exact :class:`Fraction`.

    Ints and fractions are exact. A float is snapped to the nearest fraction with a denominator of at
    most 10^7 (well below one sample at any audio rate), which recovers decimal values such as ``0.1``
    and repeating values such as ``1/3`` exactly.

    Raises:
        TypeError: if ``value`` is not a number.
        ValueError: if ``value`` is NaN or infinite.
    """
    if isinstance(value, bool):
        raise TypeError("a time or rate must be a number, got a bool")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int | Rational):
        return Fraction(int(value)) if isinstance(value, Integral) else Fraction(value)
    if not isinstance(value, Real):  # numpy floats are Real; strings and None are not
        raise TypeError(f"a time or rate must be a number, got {type(value).__name__}")
    as_float = float(value)
    if not math.isfinite(as_float):
        raise UsageError(f"a time or rate must be finite, got {value}")
    return Fraction(as_float).limit_denominator(_SNAP_DENOMINATOR)


def seconds_to_index(seconds: Seconds, rate: Seconds) -> int:
    """Return the grid index nearest to ``seconds`` on a grid of ``rate`` points per second (half up)."""
    return math.floor(to_fraction(seconds) * to_fraction(rate) + Fraction(1, 2))


def index_to_seconds(index: int, rate: Seconds) -> Fraction:
    """Return the exact time of grid point ``index`` on a grid of ``rate`` points per second."""
    return Fraction(index) / to_fraction(rate)


def window_indices(start: Seconds, end: Seconds, rate: Seconds) -> tuple[int, int]:
    """Return the half-open index range ``[i0, i1)`` of grid points whose time lies in ``[start, end)``."""
    r = to_fraction(rate)
    return math.ceil(to_fraction(start) * r), math.ceil(to_fraction(end) * r)


def samples_for_frames(first: int, stop: int, fps: Seconds, sample_rate: int) -> tuple[int, int]:
    """Return the sample range covering frames ``[first, stop)``, each end rounded to the nearest sample."""
    step = Fraction(sample_rate) / to_fraction(fps)
    return math.floor(first * step + Fraction(1, 2)), math.floor(stop * step + Fraction(1, 2))


def audio_window(start: Seconds, end: Seconds, fps: Seconds | None, sample_rate: int) -> tuple[int, int]:
    """Return the sample range of the window ``[start, end)`` for a clip whose video runs at ``fps``.

    With a frame rate, and at least one frame time inside the window, the range runs between the
    boundaries of the window's frames, rounded to the nearest sample, so audio and video stay aligned;
    otherwise it holds the samples whose time lies in the window.

    Example:
        >>> audio_window(0.5, 1.0, 25, 16000)
        (8320, 16000)
        >>> audio_window(0.01, 0.02, 25, 16000)
        (160, 320)
    """
    if fps is not None:
        k0, k1 = window_indices(start, end, fps)
        if k1 > k0:
            return samples_for_frames(k0, k1, fps, sample_rate)
    return window_indices(start, end, sample_rate)
