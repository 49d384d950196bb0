"""Probe a media file: codecs, rates, durations, counts and each stream's start time, without decoding."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from avikit.errors import CorruptMediaError
from avikit.media._open import open_input, rewind

__all__ = ["AudioStreamInfo", "MediaInfo", "VideoStreamInfo", "probe"]

# A stream may end this much before its declared end without being called truncated: encoders pad or drop
# the last partial frame, and containers round durations (one packet duration is allowed on top).
_END_SLACK = Fraction(1, 20)


@dataclass(frozen=True)
class VideoStreamInfo:
    """What a file says about its (first) video stream.

    Attributes:
        codec: FFmpeg codec name, e.g. ``"h264"``.
        fps: nominal frame rate (FFmpeg's guessed rate) as an exact fraction.
        average_fps: average frame rate, number of frames over duration; differs from ``fps`` for
            variable-frame-rate files.
        width: frame width in pixels.
        height: frame height in pixels.
        num_frames: number of frames (from the container index, or counted from packets).
        start: presentation time of the first frame in seconds.
        duration: duration of the stream in seconds.
    """

    codec: str
    fps: Fraction
    average_fps: Fraction
    width: int
    height: int
    num_frames: int
    start: float
    duration: float

    @property
    def variable_frame_rate(self) -> bool:
        """Whether the average rate differs from the nominal rate by more than 0.1%."""
        return abs(self.average_fps - self.fps) > self.fps / 1000

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict (rates as floats)."""
        out = asdict(self)
        out["fps"] = float(self.fps)
        out["average_fps"] = float(self.average_fps)
        return out


@dataclass(frozen=True)
class AudioStreamInfo:
    """What a file says about its (first) audio stream.

    Attributes:
        codec: FFmpeg codec name, e.g. ``"aac"``.
        sample_rate: sample rate in Hz.
        channels: number of channels.
        num_samples: samples per channel, from the stream's duration.
        start: time of the first sample in seconds.
        duration: duration of the stream in seconds.
    """

    codec: str
    sample_rate: int
    channels: int
    num_samples: int
    start: float
    duration: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class MediaInfo:
    """Streams and duration of a media file; an absent stream is ``None``.

    Attributes:
        path: the file.
        container: FFmpeg format name, e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"``.
        duration: from the earliest stream start to the latest stream end, in seconds.
        video: the first video stream, or ``None``.
        audio: the first audio stream, or ``None``.
    """

    path: str
    container: str
    duration: float
    video: VideoStreamInfo | None
    audio: AudioStreamInfo | None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape printed by ``avikit info --json``."""
        return {
            "path": self.path,
            "container": self.container,
            "duration": self.duration,
            "video": None if self.video is None else self.video.to_dict(),
            "audio": None if self.audio is None else self.audio.to_dict(),
        }


def probe(path: str | Path) -> MediaInfo:
    """Read the streams of a media file without decoding it.

    Args:
        path: a media file (mp4, mkv, webm, wav, ...).

    Returns:
        The file's :class:`MediaInfo`. Frame counts missing from the container index are counted from
        packets (demuxing only, no decoding).

    Raises:
        MediaNotFoundError: the file does not exist.
        CorruptMediaError: the file is not a readable media file, its video has no usable frame size, or
            it is truncated (its packets end before the duration its header declares).
        UnsupportedCodecError: a stream's codec cannot be decoded by the bundled FFmpeg.
    """
    with open_input(path) as container:
        video = _video_info(container) if container.streams.video else None
        audio = _audio_info(container) if container.streams.audio else None
        for stream in (*container.streams.video[:1], *container.streams.audio[:1]):
            _check_complete(Path(path), container, stream)
        spans = [(s.start, s.start + s.duration) for s in (video, audio) if s is not None]
        if spans:
            duration = max(e for _, e in spans) - min(b for b, _ in spans)
        else:
            duration = 0.0 if container.duration is None else container.duration / av.time_base
        return MediaInfo(str(path), container.format.name, duration, video, audio)


def stream_start(stream: av.stream.Stream) -> Fraction:
    """Exact start time of a stream in seconds (0 when the container does not say)."""
    if stream.start_time is None or stream.time_base is None:
        return Fraction(0)
    return stream.start_time * Fraction(stream.time_base)


def _stream_duration(container: av.container.InputContainer, stream: av.stream.Stream) -> Fraction | None:
    """The stream's duration from its header, or ``None`` when the container does not store one."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return stream.duration * Fraction(stream.time_base)
    return None


def _video_info(container: av.container.InputContainer) -> VideoStreamInfo:
    stream = container.streams.video[0]
    ctx = stream.codec_context
    nominal = stream.guessed_rate or stream.base_rate or stream.average_rate
    num_frames = stream.frames
    duration = _stream_duration(container, stream)
    if not num_frames or duration is None:  # e.g. Matroska/WebM: count packets (demux only)
        num_frames, counted = _count_packets(container, stream)
        duration = duration if duration is not None else counted
    average = Fraction(num_frames) / duration if duration else Fraction(nominal or 0)
    fps = Fraction(nominal) if nominal else average
    return VideoStreamInfo(
        codec=ctx.name,
        fps=fps,
        average_fps=average,
        width=int(ctx.width),
        height=int(ctx.height),
        num_frames=int(num_frames),
        start=float(stream_start(stream)),
        duration=float(duration or 0),
    )


def _audio_info(container: av.container.InputContainer) -> AudioStreamInfo:
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    rate = int(ctx.sample_rate)
    duration = _stream_duration(container, stream)
    if duration is None:
        duration = _count_packets(container, stream)[1]
    return AudioStreamInfo(
        codec=ctx.name,
        sample_rate=rate,
        channels=int(ctx.channels),
        num_samples=round(duration * rate),
        start=float(stream_start(stream)),
        duration=float(duration),
    )


def _check_complete(path: Path, container: av.container.InputContainer, stream: av.stream.Stream) -> None:
    """Raise :class:`CorruptMediaError` when a stream's packets end before the duration its header declares.

    The header (an mp4 index, an avi header) is written whole even when the data after it is cut off, so a
    truncated file declares its full length; the last packet is found by seeking to 1 s before the declared
    end and demuxing to the end of the file (no decoding).
    """
    declared = _stream_duration(container, stream)
    if declared is None:  # the duration was measured from the packets themselves
        return
    tb = Fraction(stream.time_base) if stream.time_base is not None else Fraction(1, av.time_base)
    declared_end = stream_start(stream) + declared
    _seek_near(container, stream, math.floor(max(Fraction(0), declared_end - 1) / tb))
    last_end, step = _last_packet_end(container, stream)
    rewind(container)
    if last_end is None:  # nothing at all after the seek point: count from the start
        last_end = stream_start(stream) + _count_packets(container, stream)[1]
    if declared_end - last_end > _END_SLACK + step:
        raise CorruptMediaError(
            f"{path}: the {stream.type} stream's packets end at {float(last_end):.3f} s, but the file "
            f"declares {float(declared_end):.3f} s; it is truncated: re-download it (windows inside the "
            f"first {float(last_end):.3f} s still load with avikit.media.load)"
        )


def _seek_near(container: av.container.InputContainer, stream: av.stream.Stream, pts: int) -> None:
    """Seek to the packet at or before ``pts`` (any frame, else a keyframe; else stay at the start)."""
    for any_frame in (True, False):
        try:
            container.seek(pts, stream=stream, any_frame=any_frame, backward=True)
            return
        except av.error.FFmpegError:  # e.g. avi refuses any-frame seeks
            continue
    rewind(container)


def _last_packet_end(
    container: av.container.InputContainer, stream: av.stream.Stream
) -> tuple[Fraction | None, Fraction]:
    """End time of the last packet demuxed from here on, and the longest packet duration seen (seconds)."""
    tb = Fraction(stream.time_base) if stream.time_base is not None else Fraction(1, av.time_base)
    last_end, step = None, 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            end = packet.pts + (packet.duration or 0)
            last_end = end if last_end is None else max(last_end, end)
            step = max(step, packet.duration or 0)
    except av.error.FFmpegError:
        pass  # a cut inside the last packet: what was read before it counts
    return (None if last_end is None else last_end * tb), step * tb


def _count_packets(container: av.container.InputContainer, stream: av.stream.Stream) -> tuple[int, Fraction]:
    """Count a stream's packets and measure its duration from their timestamps (demux only, no decoding)."""
    count, last_end = 0, None
    tb = Fraction(stream.time_base) if stream.time_base is not None else Fraction(1, av.time_base)
    for packet in container.demux(stream):
        if packet.size == 0 or packet.pts is None:
            continue
        count += 1
        end = packet.pts + (packet.duration or 0)
        last_end = end if last_end is None else max(last_end, end)
    rewind(container)
    duration = Fraction(0) if last_end is None else max(Fraction(0), last_end * tb - stream_start(stream))
    return count, duration
