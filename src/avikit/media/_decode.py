"""The single demux-and-decode pass behind :func:`avikit.media.load`."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from avikit.errors import CorruptMediaError
from avikit.media._open import decode_error
from avikit.media.probe import stream_start

# A stream may end this much before its declared end without being called truncated: encoders pad or drop
# the last partial frame, and containers round durations.
_END_SLACK = Fraction(1, 20)
_SEEK_BACKOFF = (Fraction(0), Fraction(2), Fraction(10))


class _SeekedTooLateError(Exception):
    """The seek landed after the first data the window needs; seek earlier."""


def _time(frame: av.frame.Frame, tb: Fraction) -> Fraction:
    if frame.pts is None:
        return Fraction(frame.time or 0)
    return frame.pts * tb


class FrameSelector:
    """Chooses, for each output grid time, the decoded frame with the nearest timestamp (ties: earlier)."""

    def __init__(
        self,
        path: Path,
        stream: av.video.stream.VideoStream,
        frames: tuple[int, int],
        fps: Fraction,
        size: tuple[int, int] | None,
    ) -> None:
        self.path, self.stream, self.size = path, stream, size
        self.tb = Fraction(stream.time_base) if stream.time_base is not None else Fraction(1, av.time_base)
        self.grid = [Fraction(k) / fps for k in range(*frames)]
        rate = stream.average_rate or stream.guessed_rate or fps
        self.source_step = 1 / Fraction(rate)
        self.start = stream_start(stream)
        self.reset()

    def reset(self) -> None:
        """Forget everything decoded so far (before a new seek)."""
        self.i = 0
        self.out: np.ndarray | None = None
        self.prev: tuple[av.VideoFrame, Fraction] | None = None
        self.converted: tuple[av.VideoFrame, np.ndarray] | None = None
        self.reformatter = VideoReformatter()

    @property
    def done(self) -> bool:
        """Whether every grid point has a frame."""
        return self.i >= len(self.grid)

    def push(self, frame: av.VideoFrame) -> None:
        """Take the next decoded frame (in presentation order)."""
        t = _time(frame, self.tb)
        if self.prev is None and t > self.grid[0] and t > self.start + self.source_step / 2:
            raise _SeekedTooLateError
        while self.i < len(self.grid) and self.grid[self.i] <= t:
            g = self.grid[self.i]
            pick = self.prev if self.prev is not None and g - self.prev[1] <= t - g else (frame, t)
            self._store(pick[0])
        self.prev = (frame, t)

    def finish(self) -> None:
        """Fill grid points after the last decoded frame, or raise if the stream ended early."""
        if self.prev is None:
            raise CorruptMediaError(f"{self.path}: no video frame could be decoded; the file is corrupt")
        last_frame, last_t = self.prev
        while self.i < len(self.grid):
            if self.grid[self.i] - last_t > self.source_step + _END_SLACK:
                raise CorruptMediaError(
                    f"{self.path}: video ends at {float(last_t):.3f} s, before the "
                    f"{float(self.grid[self.i]):.3f} s the file declares; it is truncated: re-download it, "
                    "or load a shorter window"
                )
            self._store(last_frame)

    def _store(self, frame: av.VideoFrame) -> None:
        if self.converted is None or self.converted[0] is not frame:
            height, width = self.size if self.size is not None else (frame.height, frame.width)
            rgb = self.reformatter.reformat(
                frame, width=width, height=height, format="rgb24", interpolation=Interpolation.BILINEAR
            )
            self.converted = (frame, rgb.to_ndarray())
        array = self.converted[1]
        if self.out is None:
            self.out = np.empty((len(self.grid), *array.shape), np.uint8)
        self.out[self.i] = array
        self.i += 1

    def result(self) -> np.ndarray | None:
        """The selected frames ``[T, H, W, 3]``."""
        return self.out


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
        self.tb = Fraction(stream.time_base) if stream.time_base is not None else Fraction(1, av.time_base)
        self.start = stream_start(stream)
        self.reset()

    def reset(self) -> None:
        """Forget everything decoded so far (before a new seek)."""
        self.resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=self.rate)
        self.chunks: list[np.ndarray] = []
        self.base: int | None = None
        self.count = 0
        self.input_end = Fraction(-1)

    @property
    def done(self) -> bool:
        """Whether the decoded input has passed the window's end."""
        return self.input_end * self.rate >= self.window[1]

    def push(self, frame: av.AudioFrame) -> None:
        """Take the next decoded audio frame."""
        t = _time(frame, self.tb)
        if self.base is None:
            if t * self.rate > self.window[0] and t > self.start + Fraction(1, 1000):
                raise _SeekedTooLateError
            self.base = math.floor(t * self.rate + Fraction(1, 2))
        self.input_end = t + Fraction(frame.samples, frame.sample_rate)
        self._append(self.resampler.resample(frame))

    def _append(self, frames: list[av.AudioFrame]) -> None:
        for out in frames:
            array = out.to_ndarray()
            self.chunks.append(array)
            self.count += array.shape[1]

    def finish(self) -> None:
        """Flush the resampler and check the stream did not end early."""
        self._append(self.resampler.resample(None))
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
) -> None:
    """Seek near ``seek_time`` and decode until both consumers are done; seek further back if needed."""
    for attempt, backoff in enumerate(_SEEK_BACKOFF):
        target = None if seek_time is None else seek_time - backoff
        if target is not None and target <= 0:
            target = None
        try:
            if target is not None or attempt > 0:
                container.seek(0 if target is None else int(target * av.time_base), backward=True)
            _pass(container, path, selector, collector)
            return
        except _SeekedTooLateError:
            if target is None:
                break
            for consumer in (selector, collector):
                if consumer is not None:
                    consumer.reset()
    raise CorruptMediaError(f"{path}: seeking does not reach the requested window; the index may be corrupt")


def _pass(
    container: av.container.InputContainer,
    path: Path,
    selector: FrameSelector | None,
    collector: AudioCollector | None,
) -> None:
    streams = [c.stream for c in (selector, collector) if c is not None]
    try:
        for packet in container.demux(*streams):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    if selector is not None and not selector.done:
                        selector.push(frame)
                elif collector is not None and not collector.done and isinstance(frame, av.AudioFrame):
                    collector.push(frame)
            if (selector is None or selector.done) and (collector is None or collector.done):
                break
    except av.error.FFmpegError as exc:
        raise decode_error(path, exc, "while demuxing") from exc
    if selector is not None:
        selector.finish()
    if collector is not None:
        collector.finish()
