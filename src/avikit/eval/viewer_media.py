r"""Media of the per-sample viewer: playable clips, PNG images, waveform envelopes and spectrograms.

A clip with frames becomes one H.264 + AAC mp4 (:func:`avikit.media.save`), a clip with sound only a 16-bit
WAV. A file up to ``inline_limit`` bytes is embedded as a ``data:`` URI, once per distinct content (the
same frame or true mask under several models is stored once); a larger one is written beside the HTML
(``viewer_media/NAME``) and referenced by its relative path, so the page stays light and still works
offline from disk. Images (frames, masks, heat maps, spectrograms) are PNGs written here with zlib.

Example:
    >>> png = png_bytes(np.zeros((2, 3, 4), np.uint8))
    >>> png[:8] == b"\x89PNG\r\n\x1a\n"
    True
    >>> envelope(np.array([[0.0, 0.5, -0.5, 1.0]], np.float32), 2)
    [[0.0, 0.5], [-0.5, 1.0]]
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avikit.data.manifest import atomic_writer
from avikit.errors import UsageError
from avikit.media import AVClip, save

__all__ = ["MediaSink", "clip_bytes", "clip_media", "envelope", "png_bytes", "spectrogram_png"]

_AUDIO_BITRATE = 64_000


def png_bytes(image: NDArray[Any]) -> bytes:
    """A PNG of ``uint8`` ``[H, W]`` (grey), ``[H, W, 3]`` (RGB) or ``[H, W, 4]`` (RGBA)."""
    array = np.ascontiguousarray(image, dtype=np.uint8)
    channels = 1 if array.ndim == 2 else array.shape[2]
    colour = {1: 0, 3: 2, 4: 6}.get(channels)
    if colour is None or array.ndim not in (2, 3):
        raise UsageError(f"a PNG needs [H, W], [H, W, 3] or [H, W, 4] uint8, got shape {array.shape}")
    height, width = array.shape[:2]
    rows = array.reshape(height, width * channels)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def envelope(waveform: NDArray[Any], columns: int = 600) -> list[list[float]]:
    """``[min, max]`` of the channel mean in each of ``columns`` equal time bins (3 decimals)."""
    mono = np.asarray(waveform, np.float32).reshape(-1, np.shape(waveform)[-1]).mean(axis=0)
    bins = np.array_split(mono, min(columns, max(1, mono.size)))
    return [[round(float(b.min()), 3), round(float(b.max()), 3)] for b in bins if b.size]


def spectrogram_png(waveform: NDArray[Any], sample_rate: int, height: int = 96, width: int = 600) -> bytes:
    """A log-magnitude STFT (Hann, 32 ms windows) as a grey PNG: low frequencies at the bottom, 80 dB.

    Loud is dark, scaled to the loudest bin; digital silence (all zeros: a muted or deaf clip) is white.
    """
    mono = np.asarray(waveform, np.float64).reshape(-1, np.shape(waveform)[-1]).mean(axis=0)
    if not np.any(mono):
        return png_bytes(np.full((height, width), 255, np.uint8))
    size = max(16, int(0.032 * sample_rate))
    hop = max(1, (mono.size - size) // max(1, width - 1)) if mono.size > size else 1
    padded = np.pad(mono, (0, max(0, size - mono.size)))
    starts = np.arange(0, max(1, padded.size - size + 1), hop)[:width]
    frames = np.stack([padded[s : s + size] for s in starts]) * np.hanning(size)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.linspace(0, power.shape[1], height + 1).astype(int)
    rows = np.stack([power[:, a : max(a + 1, b)].mean(axis=1) for a, b in itertools.pairwise(edges)])
    decibels = 10 * np.log10(rows + 1e-12)
    scaled = np.clip((decibels - decibels.max() + 80) / 80, 0, 1)
    return png_bytes((255 * (1 - scaled[::-1])).astype(np.uint8))


def clip_bytes(clip: AVClip) -> tuple[bytes, str, str]:
    """``(file bytes, MIME type, suffix)``: an mp4 when the clip has frames, else a WAV."""
    suffix, mime = (".mp4", "video/mp4") if clip.frames is not None else (".wav", "audio/wav")
    with tempfile.TemporaryDirectory() as folder:
        path = save(clip, Path(folder) / f"clip{suffix}", audio_bitrate=_AUDIO_BITRATE)
        return path.read_bytes(), mime, suffix


class MediaSink:
    """Where the viewer's media go: embedded up to ``inline_limit`` bytes, else files in ``folder``.

    Args:
        folder: the HTML's folder; large files go to ``folder / "viewer_media"``.
        inline_limit: the largest file embedded as a ``data:`` URI, in bytes.
    """

    def __init__(self, folder: Path, inline_limit: int) -> None:
        self.folder, self.inline_limit = folder, inline_limit
        self.inlined = self.written = 0
        self.inline: dict[str, str] = {}
        """Embedded files by content hash: ``data:`` URIs, each stored once however often it is used."""

    def source(self, data: bytes, mime: str, name: str) -> str:
        """``inline:HASH`` (a key of :attr:`inline`), or the relative path of the file it was written to."""
        if len(data) <= self.inline_limit:
            key = hashlib.sha256(data).hexdigest()[:16]
            if key not in self.inline:
                self.inlined += 1
                self.inline[key] = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            return f"inline:{key}"
        path = self.folder / "viewer_media" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(path, "wb") as f:
            f.write(data)
        self.written += 1
        return f"viewer_media/{name}"


def clip_media(clip: AVClip, sink: MediaSink, key: str) -> dict[str, Any]:
    """A clip as the viewer plays and draws it, its files named after ``key``.

    Returns ``src``, ``kind`` (video or audio), ``duration`` (s) and, with sound, the waveform ``envelope``
    and the ``spectrogram`` image.
    """
    data, mime, suffix = clip_bytes(clip)
    out: dict[str, Any] = {"src": sink.source(data, mime, key + suffix), "kind": mime.split("/")[0],
                           "duration": round(float(clip.duration), 3)}  # fmt: skip
    if clip.waveform is not None and clip.sample_rate:
        out["envelope"] = envelope(clip.waveform)
        out["spectrogram"] = sink.source(spectrogram_png(clip.waveform, int(clip.sample_rate)), "image/png",
                                         key + "_spec.png")  # fmt: skip
    return out
