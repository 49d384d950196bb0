"""The single demux-and-decode pass behind :func:`avikit.media.load`.

Video goes through a packet index. The window's video packets are demuxed first (cheap: no decoding);
their timestamps decide, for each output grid time, the nearest frame (ties: the earlier one). Only the
packets those frames depend on are then decoded: for each keyframe interval (GOP) that holds a chosen
frame, from its keyframe up to the last chosen frame. Sampling 1 frame per second from a file with
2-second GOPs thus decodes about half the frames, and only chosen frames are converted to RGB.

Audio packets are decoded as they are demuxed and pass through FFmpeg's resampler.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from avikit.errors import CorruptMediaError
from avikit.media._open import decode_error, rewind
from avikit.media.probe import stream_start

# A stream may end this much before its declared end without being called truncated: encoders pad or drop
# the last partial frame, and containers round durations.
_END_SLACK = Fraction(1, 20)
_SEEK_BACKOFF = (Fraction(0), Fraction(2), Fraction(10))
_LOCAL = threading.local()
_INHERITED: list[tuple[int, VideoReformatter]] = []  # scalers inherited through fork: never freed
_RESAMPLE_BLOCK = 16384  # decoded samples per resampler call


class _SeekedTooLateError(Exception):
    """The seek landed after the first data the window needs; seek earlier."""


def _reformatter() -> VideoReformatter:
    """One scaler per thread and process, reused across loads (building one costs milliseconds).

    Keyed by process id too: a scaler inherited through ``fork`` (DataLoader workers) belongs to the
    parent, and freeing it in the child can wait forever on threads that do not exist there, so the
    child keeps it alive untouched and builds its own. Scalers run single-threaded (``threads=1`` in
    :meth:`FrameSelector._take`), which also keeps them free of thread pools.
    """
    pid = os.getpid()
    cached = getattr(_LOCAL, "reformatter", None)
    if cached is None or cached[0] != pid:
        if cached is not None:
            _INHERITED.append(cached)
        cached = _LOCAL.reformatter = (pid, VideoReformatter())
    return cached[1]


def _time_base(stream: av.stream.Stream) -> Fraction:
    return Fraction(stream.time_base) if stream.time_base is not None else Fraction(1, av.time_base)


class FrameSelector:
    """Indexes a window's video packets, picks the frame nearest to each grid time, decodes what it needs."""

    def __init__(
        self,
        path: Path,
        stream: av.video.stream.VideoStream,
        frames: tuple[int, int],
        fps: Fraction,
        size: tuple[int, int] | None,
    ) -> None:
        self.path, self.stream, self.size, self.fps = path, stream, size, fps
        self.tb = _time_base(stream)
        # Times compared as integers: grid k is at k * fps.den / fps.num s, pts p at p * tb.num / tb.den s;
        # both scaled by fps.num * tb.den.
        self.grid = [k * fps.denominator * self.tb.denominator for k in range(*frames)]
        self.pts_scale = self.tb.numerator * fps.numerator
        self.time_scale = Fraction(1, fps.numerator * self.tb.denominator)  # scaled units -> seconds
        rate = stream.average_rate or stream.guessed_rate or fps
        self.source_step = 1 / Fraction(rate)
        self.start = stream_start(stream)
        self.last_grid_pts = math.floor(self.grid[-1] / self.pts_scale)
        self.nal_length = _avcc_nal_length(stream)
        self.reset()

    def reset(self) -> None:
        """Forget everything demuxed so far (before a new seek)."""
        self.packets: list[av.Packet] = []
        self.collecting = True
        self.out: np.ndarray | None = None

    def add(self, packet: av.Packet) -> None:
        """Index the next demuxed video packet; stop after the first keyframe past the window."""
        if packet.size == 0:
            return
        if packet.pts is None:
            raise CorruptMediaError(
                f"{self.path}: video packets carry no timestamps; remux the file, e.g. "
                "`ffmpeg -i IN -c copy OUT.mp4`"
            )
        if not self.packets and packet.pts * self.pts_scale > self.grid[0] and self._after_start(packet.pts):
            raise _SeekedTooLateError
        self.packets.append(packet)
        if packet.is_keyframe and packet.pts > self.last_grid_pts:
            self.collecting = False

    def _after_start(self, pts: int) -> bool:
        return pts * self.tb > self.start + self.source_step / 2

    def decode(self) -> None:
        """Decode the packets the chosen frames need and store the chosen frames as RGB."""
        if not self.packets:
            raise CorruptMediaError(f"{self.path}: no video frame could be read; the file is corrupt")
        chosen = self._choose()  # pts -> grid positions
        needed = self._needed(set(chosen))
        try:
            for packet in needed:
                self._take(packet.decode(), chosen)
            self._take(self.stream.codec_context.decode(None), chosen)
        except av.error.FFmpegError as exc:
            raise decode_error(self.path, exc, "while decoding video") from exc
        missing = sorted(p for p, slots in chosen.items() if slots)
        if missing:
            raise CorruptMediaError(
                f"{self.path}: the frame at {float(missing[0] * self.tb):.3f} s could not be decoded; "
                "the file is corrupt: re-download it, or re-encode it with ffmpeg"
            )

    def _choose(self) -> dict[int, list[int]]:
        times = sorted({p.pts * self.pts_scale for p in self.packets if p.pts is not None})
        chosen: dict[int, list[int]] = {}
        for i, g in enumerate(self.grid):
            j = bisect.bisect_left(times, g)
            if j == len(times):
                self._check_not_truncated(times[-1], g)
                j -= 1
            elif j > 0 and g - times[j - 1] <= times[j] - g:
                j -= 1
            chosen.setdefault(times[j] // self.pts_scale, []).append(i)
        return chosen

    def _check_not_truncated(self, last: int, g: int) -> None:
        if (g - last) * self.time_scale > self.source_step + _END_SLACK:
            raise CorruptMediaError(
                f"{self.path}: video ends at {float(last * self.time_scale):.3f} s, before the "
                f"{float(g * self.time_scale):.3f} s the file declares; it is truncated: re-download it, "
                "or load a shorter window"
            )

    def _needed(self, chosen: set[int]) -> list[av.Packet]:
        """Packets from each GOP's keyframe up to its last chosen frame, in decode order.

        Non-reference H.264 pictures that are not chosen are left out too: no other frame depends on them.
        """
        needed: list[av.Packet] = []
        gop: list[av.Packet] = []
        for packet in [*self.packets, None]:
            if packet is None or (packet.is_keyframe and gop):
                last = max((i for i, p in enumerate(gop) if p.pts in chosen), default=-1)
                needed += [p for p in gop[: last + 1] if p.pts in chosen or not self._disposable(p)]
                gop = []
            if packet is not None:
                gop.append(packet)
        return needed

    def _disposable(self, packet: av.Packet) -> bool:
        return self.nal_length is not None and _h264_nonreference(bytes(packet), self.nal_length)

    def _take(self, frames: list[av.VideoFrame], chosen: dict[int, list[int]]) -> None:
        for frame in frames:
            slots = chosen.get(frame.pts) if frame.pts is not None else None
            if not slots:
                continue
            height, width = self.size if self.size is not None else (frame.height, frame.width)
            rgb = _reformatter().reformat(
                frame,
                width=width,
                height=height,
                format="rgb24",
                interpolation=Interpolation.BILINEAR,
                threads=1,
            )
            array = rgb.to_ndarray()
            if self.out is None:
                self.out = np.empty((len(self.grid), *array.shape), np.uint8)
            self.out[slots] = array
            slots.clear()

    def result(self) -> np.ndarray | None:
        """The selected frames ``[T, H, W, 3]``."""
        return self.out


def _avcc_nal_length(stream: av.video.stream.VideoStream) -> int | None:
    """The NAL length-prefix size of an H.264 stream stored in AVCC form (mp4, mkv), else ``None``."""
    extradata = stream.codec_context.extradata
    if stream.codec_context.name != "h264" or not extradata or len(extradata) < 7 or extradata[0] != 1:
        return None
    return (extradata[4] & 3) + 1


def _h264_nonreference(data: bytes, nal_length: int) -> bool:
    """Whether every slice of an AVCC H.264 access unit has ``nal_ref_idc == 0`` (nothing refers to it)."""
    i, slices = 0, 0
    while i + nal_length < len(data):
        size = int.from_bytes(data[i : i + nal_length], "big")
        header = data[i + nal_length]
        if header & 0x1F in (1, 5):  # coded slice (non-IDR, IDR)
            if header & 0x60:
                return False
            slices += 1
        i += nal_length + size
    return slices > 0


class AudioCollector:
    """Resamples decoded audio with FFmpeg's resampler and keeps the samples of the window."""

    def __init__(
        self,
        path: Path,
        stream: av.audio.stream.AudioStream,
        samples: tuple[int, int],
        sample_rate: int,
        layout: str,
    ) -> None:
        self.path, self.stream, self.window = path, stream, samples
        self.rate, self.layout = sample_rate, layout
        self.tb = _time_base(stream)
        self.start = stream_start(stream)
        # the window's end in the stream's own time units, so that `done` compares integers
        self.end_pts = math.ceil(Fraction(samples[1], sample_rate) / self.tb)
        self.reset()

    def reset(self) -> None:
        """Forget everything decoded so far (before a new seek)."""
        self.resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=self.rate)
        self.chunks: list[np.ndarray] = []
        self.pending: list[np.ndarray] = []
        self.pending_samples = 0
        self.source: tuple[str, str, int] = ("fltp", "stereo", self.rate)
        self.base: int | None = None
        self.count = 0
        self.input_end = -(2**62)

    @property
    def done(self) -> bool:
        """Whether the decoded input has passed the window's end."""
        return self.input_end >= self.end_pts

    def push(self, frame: av.AudioFrame) -> None:
        """Take the next decoded audio frame."""
        if self.base is None:
            t = frame.pts * self.tb if frame.pts is not None else Fraction(frame.time or 0)
            if t * self.rate > self.window[0] and t > self.start + Fraction(1, 1000):
                raise _SeekedTooLateError
            self.base = math.floor(t * self.rate + Fraction(1, 2))
            self.source = (frame.format.name, frame.layout.name, frame.sample_rate)
        if frame.pts is not None:
            self.input_end = frame.pts + frame.samples * self.tb.denominator // (
                frame.sample_rate * self.tb.numerator
            )
        self.pending.append(frame.to_ndarray())
        self.pending_samples += frame.samples
        if self.pending_samples >= _RESAMPLE_BLOCK:
            self._resample_pending()

    def _resample_pending(self) -> None:
        """Resample the pending decoded frames in one call (one call per codec frame costs 3x more)."""
        if not self.pending:
            return
        fmt, layout, rate = self.source
        block = av.AudioFrame.from_ndarray(np.concatenate(self.pending, axis=1), format=fmt, layout=layout)
        block.sample_rate = rate
        self.pending, self.pending_samples = [], 0
        for out in self.resampler.resample(block):
            self._append(out)

    def _append(self, frame: av.AudioFrame) -> None:
        array = frame.to_ndarray()
        self.chunks.append(array)
        self.count += array.shape[1]

    def finish(self) -> None:
        """Flush the resampler and check the stream did not end early."""
        self._resample_pending()
        for out in self.resampler.resample(None):
            self._append(out)
        if self.base is None:
            raise CorruptMediaError(f"{self.path}: no audio could be decoded; the file is corrupt")
        end = Fraction(self.base + self.count, self.rate)
        wanted = Fraction(self.window[1], self.rate)
        if wanted - end > _END_SLACK:
            raise CorruptMediaError(
                f"{self.path}: audio ends at {float(end):.3f} s, before the {float(wanted):.3f} s the file "
                "declares; it is truncated: re-download it, or load a shorter window"
            )

    def result(self) -> np.ndarray | None:
        """The samples of the window, ``float32 [C, N]``."""
        if self.base is None or not self.chunks:
            return None
        data = np.concatenate(self.chunks, axis=1) if len(self.chunks) > 1 else self.chunks[0]
        a = self.window[0] - self.base
        b = min(self.window[1] - self.base, data.shape[1])
        return np.ascontiguousarray(data[:, a:b], dtype=np.float32)


def demux_window(
    container: av.container.InputContainer,
    path: Path,
    selector: FrameSelector | None,
    collector: AudioCollector | None,
    seek_time: Fraction | None,
    first_read: bool = True,
) -> None:
    """Seek near ``seek_time``, demux and decode the window; seek further back if the seek landed late.

    ``seek_time=None`` reads from the start: without a seek on a file's first read, else with one. Video
    alone, sampled at most at half its frame rate from a file whose demuxer holds an index (seeks are
    lookups), first tries :func:`_index_grid_keyframes`.
    """
    if selector is not None and collector is None and _sparse_and_indexed(selector):
        if _index_grid_keyframes(container, selector):
            selector.decode()
            return
        selector.reset()
        first_read = False  # the seeks moved the file position
    for attempt, backoff in enumerate(_SEEK_BACKOFF):
        target = None if seek_time is None else seek_time - backoff
        if target is not None and target <= 0:
            target = None
        try:
            if target is not None:
                container.seek(int(target * av.time_base), backward=True)
            elif attempt > 0 or not first_read:
                rewind(container)
            _pass(container, path, selector, collector)
            return
        except _SeekedTooLateError:
            if target is None:
                break
            for consumer in (selector, collector):
                if consumer is not None:
                    consumer.reset()
    raise CorruptMediaError(f"{path}: seeking does not reach the requested window; the index may be corrupt")


def _sparse_and_indexed(selector: FrameSelector) -> bool:
    return selector.fps * selector.source_step <= Fraction(1, 2) and len(selector.stream.index_entries) > 0


def _index_grid_keyframes(container: av.container.InputContainer, selector: FrameSelector) -> bool:
    """Index only the keyframes on the grid times, one seek each, when every grid time holds one.

    A frame stamped exactly at a grid time is the nearest to it (no other frame can be nearer), and a
    keyframe decodes alone, so the packets between grid times need not be demuxed: a 1 fps load of the fast
    layout (:mod:`avikit.media.repack`) reads one packet per second. Returns ``False`` at the first grid
    time without a keyframe stamped on it (the caller then demuxes the window).
    """
    packets = []
    try:
        for g in selector.grid:
            pts, rest = divmod(g, selector.pts_scale)
            if rest:
                return False
            container.seek(pts, stream=selector.stream, backward=True)
            packet = next((p for p in container.demux(selector.stream) if p.size), None)
            if packet is None or packet.pts != pts or not packet.is_keyframe:
                return False
            packets.append(packet)
    except av.error.FFmpegError:
        return False  # the window's demux reports what is wrong with the file
    selector.packets, selector.collecting = packets, False
    return True


def _pass(
    container: av.container.InputContainer,
    path: Path,
    selector: FrameSelector | None,
    collector: AudioCollector | None,
) -> None:
    streams = [c.stream for c in (selector, collector) if c is not None]
    video = selector.stream.index if selector is not None else None
    try:
        for packet in container.demux(*streams):
            if packet.stream.index == video:
                if selector is not None and selector.collecting:
                    selector.add(packet)
            elif collector is not None and not collector.done:
                for frame in packet.decode():
                    if isinstance(frame, av.AudioFrame):
                        collector.push(frame)
            if (selector is None or not selector.collecting) and (collector is None or collector.done):
                break
    except av.error.FFmpegError as exc:
        raise decode_error(path, exc, "while demuxing") from exc
    if selector is not None:
        selector.decode()
    if collector is not None:
        collector.finish()
