"""A direct read of 16-bit PCM WAV audio: the sidecars of the fast layout, without FFmpeg.

A WAV sidecar at the rate and channel count asked for needs no decoding and no resampling: its header is
parsed here (opening it with FFmpeg costs more than reading a 10 s clip's samples, because FFmpeg reads
packets to probe the stream) and its samples are read from the ``data`` chunk as they lie, scaled by
``1 / 32768`` (what FFmpeg's s16 -> float conversion does, so the result is the same to the bit). Anything
else (another codec or sample size, RF64, a ``data`` chunk longer than the file) is left to FFmpeg, as is
a load at another rate or channel count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avikit.media.probe import AudioStreamInfo

__all__ = ["WavHeader", "read_wav_header"]

_CHUNK_HEADER = 8
_PCM = 1
_EXTENSIBLE = 0xFFFE
_PCM_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_PCM after its tag
_FMT_SIZE = 16


@dataclass(frozen=True)
class WavHeader:
    """Where the samples of a 16-bit PCM WAV file lie.

    Attributes:
        path: the file.
        sample_rate: samples per second per channel.
        channels: interleaved channels.
        offset: byte offset of the first sample.
        num_samples: samples per channel in the ``data`` chunk.
    """

    path: Path
    sample_rate: int
    channels: int
    offset: int
    num_samples: int

    def info(self) -> AudioStreamInfo:
        """The stream as :func:`avikit.media.probe` describes it (codec ``pcm_s16le``, start 0)."""
        return AudioStreamInfo(
            codec="pcm_s16le",
            sample_rate=self.sample_rate,
            channels=self.channels,
            num_samples=self.num_samples,
            start=0.0,
            duration=self.num_samples / self.sample_rate,
        )

    def serves(self, sample_rate: int | None, channels: int | None) -> bool:
        """Whether a load at ``sample_rate`` and ``channels`` (``None``: the file's) reads them as stored."""
        return sample_rate in (None, self.sample_rate) and channels in (None, self.channels)

    def read(self, samples: tuple[int, int]) -> np.ndarray:
        """Samples ``[a, b)`` (inside the file) as ``float32 [channels, b - a]``, scaled by ``1 / 32768``.

        Example:
            >>> import tempfile, pathlib, numpy as np
            >>> from avikit.media import AVClip, save
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.wav"
            >>> p = save(AVClip(waveform=np.full((1, 800), 0.5, np.float32), sample_rate=8000), p)
            >>> header = read_wav_header(p)
            >>> header.num_samples, header.read((100, 300)).shape, float(header.read((0, 1))[0, 0])
            (800, (1, 200), 0.5)
        """
        a, b = samples
        if not 0 <= a <= b <= self.num_samples:
            raise ValueError(f"{self.path}: samples [{a}, {b}) lie outside [0, {self.num_samples})")
        pcm = np.fromfile(
            self.path, dtype="<i2", count=(b - a) * self.channels, offset=self.offset + 2 * self.channels * a
        )
        return np.ascontiguousarray(pcm.reshape(-1, self.channels).T, dtype=np.float32) * np.float32(
            1 / 32768
        )


def read_wav_header(path: str | Path) -> WavHeader | None:
    """The header of a 16-bit PCM RIFF/WAVE file, or ``None`` for anything else (FFmpeg then reads it)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            fmt: bytes | None = None
            while True:
                header = f.read(_CHUNK_HEADER)
                if len(header) < _CHUNK_HEADER:
                    return None
                size = int.from_bytes(header[4:], "little")
                if header[:4] == b"fmt ":
                    fmt = f.read(size)
                    f.seek(size & 1, 1)
                    continue
                if header[:4] == b"data":
                    return _header(path, fmt, f.tell(), size, path.stat().st_size)
                f.seek(size + (size & 1), 1)  # chunks are padded to an even size
    except OSError:
        return None


def _header(path: Path, fmt: bytes | None, offset: int, size: int, file_size: int) -> WavHeader | None:
    if fmt is None or len(fmt) < _FMT_SIZE:
        return None
    tag = int.from_bytes(fmt[0:2], "little")
    channels = int.from_bytes(fmt[2:4], "little")
    rate = int.from_bytes(fmt[4:8], "little")
    block_align = int.from_bytes(fmt[12:14], "little")
    bits = int.from_bytes(fmt[14:16], "little")
    if tag == _EXTENSIBLE:
        if len(fmt) < 40 or fmt[26:40] != _PCM_GUID_TAIL or int.from_bytes(fmt[24:26], "little") != _PCM:
            return None
    elif tag != _PCM:
        return None
    if bits != 16 or channels < 1 or rate < 1 or block_align != 2 * channels or offset + size > file_size:
        return None
    return WavHeader(path, rate, channels, offset, size // block_align)
