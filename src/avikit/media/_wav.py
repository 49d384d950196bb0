"""A direct read of 16-bit PCM WAV audio: the sidecars of the fast layout, without FFmpeg's decoder.

A WAV sidecar at the rate and channel count asked for needs no decoding and no resampling: its samples are
read from the ``data`` chunk as they lie, scaled by ``1 / 32768`` (what FFmpeg's s16 -> float conversion
does, so the result is the same to the bit). Anything else (another codec or rate, a channel change, a
window past the end) is left to the general decoder.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avikit.media.probe import stream_start

__all__ = ["read_pcm_window"]

_CHUNK_HEADER = 8


def _data_chunk(path: Path) -> tuple[int, int] | None:
    """``(offset, size)`` in bytes of the ``data`` chunk of a RIFF/WAVE file, or ``None``."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        while True:
            header = f.read(_CHUNK_HEADER)
            if len(header) < _CHUNK_HEADER:
                return None
            size = int.from_bytes(header[4:], "little")
            if header[:4] == b"data":
                return f.tell(), size
            f.seek(size + (size & 1), 1)  # chunks are padded to an even size


def read_pcm_window(
    container: av.container.InputContainer,
    path: Path,
    stream: av.audio.stream.AudioStream,
    samples: tuple[int, int],
    sample_rate: int,
    channels: int,
) -> np.ndarray | None:
    """Samples ``[a, b)`` of a 16-bit PCM WAV file as ``float32 [channels, b - a]``.

    Returns ``None`` (the caller decodes with FFmpeg) unless the file is a WAV of ``pcm_s16le`` at
    ``sample_rate`` with ``channels`` channels starting at 0 and holding the whole window.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from avikit.media import AVClip, save
        >>> from avikit.media._open import open_input
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.wav"
        >>> p = save(AVClip(waveform=np.full((1, 800), 0.5, np.float32), sample_rate=8000), p)
        >>> with open_input(p) as c:
        ...     read_pcm_window(c, p, c.streams.audio[0], (100, 300), 8000, 1).shape
        (1, 200)
    """
    ctx = stream.codec_context
    if (
        container.format.name != "wav"
        or ctx.name != "pcm_s16le"
        or ctx.sample_rate != sample_rate
        or ctx.channels != channels
        or stream_start(stream) != Fraction(0)
    ):
        return None
    chunk = _data_chunk(path)
    a, b = samples
    frame_bytes = 2 * channels
    if chunk is None or a < 0 or b * frame_bytes > chunk[1]:
        return None
    pcm = np.fromfile(path, dtype="<i2", count=(b - a) * channels, offset=chunk[0] + a * frame_bytes)
    return np.ascontiguousarray(pcm.reshape(-1, channels).T, dtype=np.float32) * np.float32(1 / 32768)
