"""Resample decoded audio arrays from one rate to another (polyphase filtering, exact lengths).

:func:`avikit.media.load` resamples while decoding (FFmpeg's resampler); this module resamples arrays that
are already decoded, e.g. a model that works at 16 kHz given a dataset's 44.1 kHz audio. The output of ``N``
samples at ``from_rate`` has ``N * to_rate // from_rate`` samples (the samples whose time lies inside the
input's span), from :func:`scipy.signal.resample_poly` (a Kaiser-windowed polyphase low-pass).

Example:
    >>> import numpy as np
    >>> tone = np.sin(2 * np.pi * 440 * np.arange(44100) / 44100).astype(np.float32)[None]
    >>> out = resample_audio(tone, 44100, 16000)
    >>> out.shape, out.dtype
    ((1, 16000), dtype('float32'))
    >>> bool(np.abs(out[0, 100:-100] - np.sin(2 * np.pi * 440 * np.arange(100, 15900) / 16000)).max() < 1e-2)
    True
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from avikit.errors import UsageError

__all__ = ["resample_audio"]


def resample_audio(waveform: NDArray[np.float32], from_rate: int, to_rate: int) -> NDArray[np.float32]:
    """Resample ``waveform [C, N]`` from ``from_rate`` to ``to_rate`` Hz (the same array when equal).

    Raises:
        UsageError: for a rate that is not a positive integer or a waveform that is not ``[C, N]``.
    """
    if not all(isinstance(r, int) and r > 0 for r in (from_rate, to_rate)):
        raise UsageError(f"sample rates must be positive integers, got {from_rate!r} and {to_rate!r}")
    if waveform.ndim != 2:
        raise UsageError(f"waveform must be [C, N], got shape {list(waveform.shape)}")
    if from_rate == to_rate:
        return waveform
    from scipy.signal import resample_poly  # imported here: scipy.signal takes seconds to import

    divisor = math.gcd(from_rate, to_rate)
    out = resample_poly(waveform.astype(np.float64), to_rate // divisor, from_rate // divisor, axis=1)
    return np.ascontiguousarray(out[:, : waveform.shape[1] * to_rate // from_rate], dtype=np.float32)
