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
from numbers import Rational

__all__ = [
    "Seconds",
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
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a time or rate must be finite, got {value}")
        return Fraction(value).limit_denominator(_SNAP_DENOMINATOR)
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"a time or rate must be a number, got {type(value).__name__}") from None
    return to_fraction(as_float)


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
    """Return the sample range that covers frames ``[first, stop)``, each end rounded to the nearest sample."""
    step = Fraction(sample_rate) / to_fraction(fps)
    return math.floor(first * step + Fraction(1, 2)), math.floor(stop * step + Fraction(1, 2))
