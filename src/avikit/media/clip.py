"""The decoded audio-visual clip: frames and waveform on one timeline.

Positions inside a clip are exact integers on each stream's own grid: frame ``k`` of the video grid is
shown at ``k / fps`` seconds and sample ``n`` of the audio grid is at ``n / sample_rate`` seconds, both
on the same timeline (the source file's presentation time). Seconds appear only at the interface, and
every conversion from seconds to a position goes through :mod:`avikit.media.timeline`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from avikit.errors import MissingStreamError, UsageError, WindowError
from avikit.media.timeline import Seconds, audio_window, to_fraction, window_indices

__all__ = ["AVClip"]


@dataclass(frozen=True, eq=False)
class AVClip:
    """Decoded video frames and audio waveform on one timeline.

    Audio and video are equal siblings: either may be absent (``None``), never filled with zeros.

    Attributes:
        frames: ``uint8`` array ``[T, H, W, 3]`` (RGB), or ``None`` when the clip has no video.
        waveform: ``float32`` array ``[C, N]`` in ``[-1, 1]``, or ``None`` when the clip has no audio.
        fps: frame rate of ``frames``; given as a number, stored as an exact ``Fraction`` (``None``
            without video).
        sample_rate: sample rate of ``waveform`` in Hz (``None`` without audio).
        first_frame: grid index of ``frames[0]``; it is shown at ``first_frame / fps`` seconds.
        first_sample: grid index of ``waveform[:, 0]``; it is at ``first_sample / sample_rate`` seconds.
        source: the file the clip came from, if any (used in messages only).

    Example:
        >>> import numpy as np
        >>> clip = AVClip(
        ...     frames=np.zeros((50, 8, 8, 3), np.uint8),
        ...     waveform=np.zeros((1, 32000), np.float32),
        ...     fps=25,
        ...     sample_rate=16000,
        ... )
        >>> clip.duration
        2.0
        >>> part = clip.slice(0.4, 1.0)
        >>> part.num_frames, part.num_samples, part.first_frame, part.first_sample
        (15, 9600, 10, 6400)
    """

    frames: np.ndarray | None = None
    waveform: np.ndarray | None = None
    fps: Seconds | None = None
    sample_rate: int | None = None
    first_frame: int = 0
    first_sample: int = 0
    source: str | None = None

    def __post_init__(self) -> None:
        if self.frames is None and self.waveform is None:
            raise UsageError("an AVClip needs frames, a waveform, or both; both are None")
        if self.frames is not None:
            self._check_frames(self.frames)
            if self.fps is None:
                raise UsageError("frames were given without fps; pass fps= (frames per second)")
            fps = to_fraction(self.fps)
            if fps <= 0:
                raise UsageError(f"fps must be positive, got {self.fps}")
            object.__setattr__(self, "fps", fps)
        elif self.fps is not None:
            object.__setattr__(self, "fps", None)
        if self.waveform is not None:
            self._check_waveform(self.waveform)
            if self.sample_rate is None or int(self.sample_rate) != self.sample_rate or self.sample_rate <= 0:
                raise UsageError(f"a waveform needs a positive integer sample_rate, got {self.sample_rate!r}")
            object.__setattr__(self, "sample_rate", int(self.sample_rate))
        elif self.sample_rate is not None:
            object.__setattr__(self, "sample_rate", None)
        object.__setattr__(self, "first_frame", int(self.first_frame))
        object.__setattr__(self, "first_sample", int(self.first_sample))

    @staticmethod
    def _check_frames(frames: np.ndarray) -> None:
        if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8:
            raise TypeError(f"frames must be a uint8 numpy array, got {type(frames).__name__}")
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise UsageError(f"frames must have shape [T, H, W, 3] (RGB), got {list(frames.shape)}")

    @staticmethod
    def _check_waveform(waveform: np.ndarray) -> None:
        if not isinstance(waveform, np.ndarray) or waveform.dtype != np.float32:
            raise TypeError(f"waveform must be a float32 numpy array, got {type(waveform).__name__}")
        if waveform.ndim != 2 or waveform.shape[0] < 1:
            raise UsageError(f"waveform must have shape [C, N] with C >= 1, got {list(waveform.shape)}")

    # ------------------------------------------------------------------ streams
    @property
    def has_video(self) -> bool:
        """Whether the clip has a video stream."""
        return self.frames is not None

    @property
    def has_audio(self) -> bool:
        """Whether the clip has an audio stream."""
        return self.waveform is not None

    def require_frames(self) -> np.ndarray:
        """Return ``frames``, or raise :class:`MissingStreamError` if the clip has no video."""
        if self.frames is None:
            raise MissingStreamError(f"{self._name()} has no video stream; check clip.has_video first")
        return self.frames

    def require_waveform(self) -> np.ndarray:
        """Return ``waveform``, or raise :class:`MissingStreamError` if the clip has no audio."""
        if self.waveform is None:
            raise MissingStreamError(f"{self._name()} has no audio stream; check clip.has_audio first")
        return self.waveform

    @property
    def num_frames(self) -> int:
        """Number of video frames (0 without video)."""
        return 0 if self.frames is None else int(self.frames.shape[0])

    @property
    def num_samples(self) -> int:
        """Number of audio samples per channel (0 without audio)."""
        return 0 if self.waveform is None else int(self.waveform.shape[1])

    @property
    def num_channels(self) -> int:
        """Number of audio channels (0 without audio)."""
        return 0 if self.waveform is None else int(self.waveform.shape[0])

    @property
    def height(self) -> int:
        """Frame height in pixels (0 without video)."""
        return 0 if self.frames is None else int(self.frames.shape[1])

    @property
    def width(self) -> int:
        """Frame width in pixels (0 without video)."""
        return 0 if self.frames is None else int(self.frames.shape[2])

    # ----------------------------------------------------------------- timeline
    def _video_span(self) -> tuple[Fraction, Fraction] | None:
        if self.frames is None or self.fps is None:
            return None
        rate = to_fraction(self.fps)
        return (
            Fraction(self.first_frame) / rate,
            Fraction(self.first_frame + self.num_frames) / rate,
        )

    def _audio_span(self) -> tuple[Fraction, Fraction] | None:
        if self.waveform is None or self.sample_rate is None:
            return None
        rate = self.sample_rate
        return (Fraction(self.first_sample, rate), Fraction(self.first_sample + self.num_samples, rate))

    def _span(self) -> tuple[Fraction, Fraction]:
        spans = [s for s in (self._video_span(), self._audio_span()) if s is not None]
        return min(s[0] for s in spans), max(s[1] for s in spans)

    @property
    def start(self) -> float:
        """Start of the clip in seconds: the earliest start of its streams."""
        return float(self._span()[0])

    @property
    def end(self) -> float:
        """End of the clip in seconds: the latest end of its streams."""
        return float(self._span()[1])

    @property
    def duration(self) -> float:
        """Duration in seconds, from the earliest stream start to the latest stream end."""
        lo, hi = self._span()
        return float(hi - lo)

    @property
    def video_start(self) -> float | None:
        """Time of the first frame in seconds, or ``None`` without video."""
        span = self._video_span()
        return None if span is None else float(span[0])

    @property
    def audio_start(self) -> float | None:
        """Time of the first audio sample in seconds, or ``None`` without audio."""
        span = self._audio_span()
        return None if span is None else float(span[0])

    def frame_times(self) -> np.ndarray:
        """Presentation time in seconds of every frame, ``float64 [T]``."""
        frames = self.require_frames()
        rate = to_fraction(self.fps or 1)
        index = np.arange(self.first_frame, self.first_frame + frames.shape[0], dtype=np.float64)
        return index * (rate.denominator / rate.numerator)

    # ------------------------------------------------------------ derived views
    def slice(self, start: Seconds, end: Seconds) -> AVClip:
        """Return the part of the clip in the window ``[start, end)`` seconds.

        Video keeps the frames whose presentation time lies in the window. When the clip has video and
        the window holds a frame time, the audio is cut at the boundaries of the window's frames (rounded
        to the nearest sample, see :func:`~avikit.media.timeline.audio_window`), so both streams start
        within half an audio sample of the same frame boundary; otherwise the audio keeps the samples
        whose time lies in the window.

        Raises:
            WindowError: if the window is empty or lies outside the clip.
        """
        lo, hi = to_fraction(start), to_fraction(end)
        span_lo, span_hi = self._span()
        if hi <= lo:
            raise WindowError(
                f"window [{float(lo)}, {float(hi)}) s of {self._name()} is empty; need end > start"
            )
        if lo < span_lo or hi > span_hi:
            raise WindowError(
                f"window [{float(lo)}, {float(hi)}) s lies outside {self._name()}, which spans "
                f"[{float(span_lo)}, {float(span_hi)}) s; choose a window inside it"
            )
        frames, first_frame = self.frames, self.first_frame
        waveform, first_sample = self.waveform, self.first_sample
        k0, k1 = window_indices(lo, hi, self.fps) if self.fps is not None else (0, 0)
        if self.frames is not None:
            a, b = _clip_range(k0 - self.first_frame, k1 - self.first_frame, self.num_frames)
            frames, first_frame = (self.frames[a:b], self.first_frame + a) if b > a else (None, 0)
        if self.waveform is not None and self.sample_rate is not None:
            s0, s1 = audio_window(lo, hi, self.fps, self.sample_rate)
            a, b = _clip_range(s0 - self.first_sample, s1 - self.first_sample, self.num_samples)
            waveform, first_sample = (self.waveform[:, a:b], self.first_sample + a) if b > a else (None, 0)
        if frames is None and waveform is None:
            raise WindowError(
                f"window [{float(lo)}, {float(hi)}) s of {self._name()} holds no frame or sample"
            )
        return replace(
            self,
            frames=frames,
            waveform=waveform,
            fps=self.fps if frames is not None else None,
            sample_rate=self.sample_rate if waveform is not None else None,
            first_frame=first_frame,
            first_sample=first_sample,
        )

    def trim(self, start: Seconds, duration: Seconds) -> AVClip:
        """Return the part of the clip in ``[start, start + duration)``; see :meth:`slice`."""
        lo = to_fraction(start)
        return self.slice(lo, lo + to_fraction(duration))

    def with_frames(
        self, frames: np.ndarray | None, fps: Seconds | None = None, first_frame: int = 0
    ) -> AVClip:
        """Return a copy with the video stream replaced (``None`` removes it)."""
        return replace(self, frames=frames, fps=fps if fps is not None else self.fps, first_frame=first_frame)

    def with_waveform(
        self, waveform: np.ndarray | None, sample_rate: int | None = None, first_sample: int = 0
    ) -> AVClip:
        """Return a copy with the audio stream replaced (``None`` removes it)."""
        rate = sample_rate if sample_rate is not None else self.sample_rate
        return replace(self, waveform=waveform, sample_rate=rate, first_sample=first_sample)

    def _name(self) -> str:
        return f"clip from {self.source!r}" if self.source else "the clip"

    def __repr__(self) -> str:
        parts = []
        if self.frames is not None:
            parts.append(
                f"video={self.num_frames}x{self.height}x{self.width}@{self.fps}fps from {self.video_start}s"
            )
        if self.waveform is not None:
            parts.append(
                f"audio={self.num_channels}x{self.num_samples}@{self.sample_rate}Hz from {self.audio_start}s"
            )
        return f"AVClip({', '.join(parts)})"


def _clip_range(a: int, b: int, n: int) -> tuple[int, int]:
    a, b = max(a, 0), min(b, n)
    return a, max(a, b)
