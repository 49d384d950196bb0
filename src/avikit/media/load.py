"""Load a time window of a media file as an :class:`~avikit.media.AVClip`, in one pass over the file.

How it works:

- **Seek, do not scan.** The file is seeked to the keyframe before the window (minus a short audio
  pre-roll), and demuxed once for both streams until both have passed the window's end.
- **Frames by nearest timestamp.** The output frames lie on the grid ``k / fps`` (``fps`` is the requested
  rate, or the stream's average rate). Each grid point takes the frame whose timestamp is nearest to it;
  a tie goes to the earlier frame. The choice is made from the packets' timestamps before decoding, so
  only the packets the chosen frames depend on are decoded (from each keyframe up to the last chosen
  frame of its GOP, leaving out unchosen non-reference H.264 pictures), and only chosen frames are
  converted to RGB, through one reused FFmpeg scaler. Video read alone (no audio in the same file) and
  sampled at most at half its rate is first looked up by seeking to each grid time: where every grid time
  holds a keyframe stamped exactly on it (the fast layout of :mod:`avikit.media.repack`), those keyframes
  are the chosen frames and nothing else is demuxed.
- **Many windows of one file:** :class:`MediaReader` keeps the file and its decoders open.
- **Audio through FFmpeg's resampler.** Audio is converted (rate, channel layout, float) by libswresample
  through PyAV; downmixing uses FFmpeg's standard matrix.
- **Stream start times are honoured.** Positions are on the file's own timeline, so audio that starts
  0.3 s after the video loads with ``first_sample / sample_rate == 0.3``.
- **Same cut as slicing.** With video in the window, the audio is cut at the boundaries of the selected
  frames, exactly as :meth:`AVClip.slice` does, so ``load(p, start=a, duration=d)`` equals
  ``load(p).slice(a, a + d)``.
- **Audio from a sidecar.** ``audio_path`` reads the audio stream from a second file (the WAV/FLAC sidecar
  of a packed dataset, :mod:`avikit.media.repack`) on the same timeline: the window, the cut and the
  result are those of one file holding both streams. A 16-bit PCM WAV at the rate and channels asked for
  is read without FFmpeg (:mod:`avikit.media._wav`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
import numpy as np

from avikit.errors import MissingStreamError, UsageError, WindowError
from avikit.media._decode import AudioCollector, FrameSelector, demux_window
from avikit.media._open import open_input
from avikit.media._wav import WavHeader, read_wav_header
from avikit.media.clip import AVClip
from avikit.media.probe import AudioStreamInfo, VideoStreamInfo, _audio_info, _video_info, stream_start
from avikit.media.timeline import Seconds, audio_window, to_fraction, window_indices

__all__ = ["MediaReader", "load"]

log = logging.getLogger(__name__)

_S = TypeVar("_S", av.video.stream.VideoStream, av.audio.stream.AudioStream)
_AUDIO_PREROLL = Fraction(1, 10)  # decode 0.1 s before the window so codec and resampler settle
_CHANNEL_LAYOUTS = {1: "mono", 2: "stereo"}
_MAX_SIDE = 8192  # output frames up to 8K a side (FFmpeg's scaler already fails at 16384 x 16384)
_RATE_SLACK = Fraction(1, 1000)  # nominal rates are rounded (29.97 vs 30000/1001)


@dataclass(frozen=True)
class _Plan:
    """What to decode: grid ranges of each stream, or ``None`` when a stream is skipped."""

    lo: Fraction
    hi: Fraction
    frames: tuple[int, int] | None
    fps: Fraction | None
    samples: tuple[int, int] | None
    sample_rate: int | None


def load(
    path: str | Path,
    start: Seconds | None = None,
    duration: Seconds | None = None,
    *,
    fps: Seconds | None = None,
    size: int | tuple[int, int] | None = None,
    sample_rate: int | None = None,
    channels: int | None = None,
    video: bool | None = None,
    audio: bool | None = None,
    threads: int | None = None,
    audio_path: str | Path | None = None,
) -> AVClip:
    """Load ``[start, start + duration)`` seconds of a media file.

    Args:
        path: a media file.
        start: window start in seconds on the file's timeline; default: the earliest stream start.
        duration: window length in seconds; default: to the end of the file.
        fps: output frame rate, at most the source's; default: the video stream's average rate. Frames are
            chosen by nearest timestamp (see the module docs).
        size: output frame size ``(height, width)``, or one int for a square, 1 to 8192 a side; default:
            the source size.
        sample_rate: output sample rate in Hz; default: the source rate.
        channels: output channels (1 or 2); default: the source's.
        video: ``True`` requires video, ``False`` skips it, ``None`` loads it if present.
        audio: ``True`` requires audio, ``False`` skips it, ``None`` loads it if present.
        threads: video decoder threads; default: 1 inside a DataLoader worker process, FFmpeg's choice
            otherwise.
        audio_path: read the audio from this file instead of ``path`` (a sidecar on the same timeline).

    Returns:
        The clip; a stream the file lacks (or that was skipped) is ``None`` in it.

    Raises:
        MediaNotFoundError, CorruptMediaError, UnsupportedCodecError: the file cannot be read.
        MissingStreamError: a required stream is absent.
        WindowError: the window is malformed or lies outside the file.
        UsageError: an argument is out of range (``size``, ``fps`` above the source's, ``sample_rate``,
            ``channels``), or the frames asked for would not fit in half of this machine's memory.
    """
    with MediaReader(path, audio_path) as reader:
        return reader.load(
            start,
            duration,
            fps=fps,
            size=size,
            sample_rate=sample_rate,
            channels=channels,
            video=video,
            audio=audio,
            threads=threads,
        )


class MediaReader:
    """A media file kept open for many windowed loads (random access): file, index and decoders stay open.

    :func:`load` opens a reader for one window; open one yourself to read many windows of one file.
    ``audio_path`` names a second file that holds the audio (a sidecar on the same timeline).

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> from avikit.media import AVClip, save
        >>> clip = AVClip(frames=np.zeros((50, 16, 16, 3), np.uint8), fps=25)
        >>> path = save(clip, pathlib.Path(tempfile.mkdtemp()) / "v.mp4")
        >>> with MediaReader(path) as reader:
        ...     [reader.load(start=t, duration=0.2).first_frame for t in (1.0, 0.2, 1.6)]
        [25, 5, 40]
    """

    def __init__(self, path: str | Path, audio_path: str | Path | None = None) -> None:
        self.path = Path(path)
        self.audio_path = self.path if audio_path is None else Path(audio_path)
        self._context = open_input(self.path)
        self._container = self._context.__enter__()
        self._video_info = _video_info(self._container) if self._container.streams.video else None
        # a 16-bit WAV sidecar is read without FFmpeg; FFmpeg opens it only for a load it cannot serve
        self._wav = None if audio_path is None else read_wav_header(self.audio_path)
        self._audio_context: contextlib.AbstractContextManager[av.container.InputContainer] | None = None
        self._audio_container: av.container.InputContainer | None = None
        self._audio_info: AudioStreamInfo | None = None
        if self._wav is not None:
            self._audio_info = self._wav.info()
        elif audio_path is None:
            self._audio_container = self._container
            self._audio_info = _audio_info(self._container) if self._container.streams.audio else None
        else:
            try:
                self._open_sidecar()
            except BaseException:
                self._context.__exit__(None, None, None)
                raise
        self._reads = 0

    def _open_sidecar(self) -> av.container.InputContainer:
        """The audio sidecar opened with FFmpeg (on first use for a WAV that is read directly)."""
        if self._audio_container is None:
            self._audio_context = open_input(self.audio_path)
            self._audio_container = self._audio_context.__enter__()
            if self._audio_info is None and self._audio_container.streams.audio:
                self._audio_info = _audio_info(self._audio_container)
        return self._audio_container

    def __enter__(self) -> MediaReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (and the audio sidecar)."""
        self._context.__exit__(None, None, None)
        if self._audio_context is not None:
            self._audio_context.__exit__(None, None, None)

    def load(
        self,
        start: Seconds | None = None,
        duration: Seconds | None = None,
        *,
        fps: Seconds | None = None,
        size: int | tuple[int, int] | None = None,
        sample_rate: int | None = None,
        channels: int | None = None,
        video: bool | None = None,
        audio: bool | None = None,
        threads: int | None = None,
    ) -> AVClip:
        """Load one window; the arguments are those of :func:`load`."""
        path, container = self.path, self._container
        out_size = _parse_size(size)
        vstream = _pick(tuple(container.streams.video), video, "video", path)
        direct = self._direct_wav(audio, sample_rate, channels)
        astream = None
        if direct is None and audio is not False:
            astream = _pick(tuple(self._open_sidecar().streams.audio), audio, "audio", self.audio_path)
        if vstream is None and astream is None and direct is None:
            raise MissingStreamError(f"{path}: nothing to load (no stream selected); allow video or audio")
        infos = (self._video_info if vstream else None, self._audio_info if astream or direct else None)
        starts = (
            stream_start(vstream) if vstream else None,
            stream_start(astream) if astream else Fraction(0),
        )
        plan = _plan(path, starts, infos, (start, duration), fps, sample_rate)
        if infos[0] is not None:
            _check_frame_memory(path, plan, out_size or (infos[0].height, infos[0].width))
        selector = None
        if vstream is not None and plan.frames is not None and plan.fps is not None:
            if self._reads == 0:
                _set_threads(vstream, threads)
            selector = FrameSelector(path, vstream, plan.frames, plan.fps, out_size)
        collector = None
        if astream is not None and plan.samples is not None and plan.sample_rate is not None:
            layout = _layout(channels if channels is not None else astream.codec_context.channels, path)
            collector = AudioCollector(self.audio_path, astream, plan.samples, plan.sample_rate, layout)
        self._reads += 1
        if self._audio_container is container:
            demux_window(container, path, selector, collector, _seek_time(container, plan), self._reads == 1)
            waveform = None if collector is None else collector.result()
        else:
            waveform = self._read_apart(selector, collector, direct, plan)
        frames = None if selector is None else selector.result()
        if frames is None and waveform is None:
            raise WindowError(
                f"{path}: window [{float(plan.lo)}, {float(plan.hi)}) s holds no frame or sample"
            )
        return AVClip(
            frames=frames,
            waveform=waveform,
            fps=plan.fps if frames is not None else None,
            sample_rate=plan.sample_rate if waveform is not None else None,
            first_frame=plan.frames[0] if plan.frames is not None else 0,
            first_sample=plan.samples[0] if plan.samples is not None else 0,
            source=str(path),
        )

    def _direct_wav(
        self, audio: bool | None, sample_rate: int | None, channels: int | None
    ) -> WavHeader | None:
        """The WAV sidecar when this load reads its samples as stored (no decoder, no resampler)."""
        wav = self._wav
        if audio is False or wav is None or wav.channels not in _CHANNEL_LAYOUTS:
            return None
        return wav if wav.serves(sample_rate, channels) else None

    def _read_apart(
        self,
        selector: FrameSelector | None,
        collector: AudioCollector | None,
        direct: WavHeader | None,
        plan: _Plan,
    ) -> np.ndarray | None:
        """Decode video and a sidecar's audio apart (each file seeked for its own stream); the waveform.

        ``direct``: a 16-bit PCM WAV sidecar at the rate and channels asked for, read without FFmpeg
        (:mod:`avikit.media._wav`).
        """
        if selector is not None:
            seek = _seek_time(self._container, replace(plan, samples=None))
            demux_window(self._container, self.path, selector, None, seek, self._reads == 1)
        if direct is not None and plan.samples is not None:
            return direct.read(plan.samples)
        if collector is None or self._audio_container is None:
            return None
        seek = _seek_time(self._audio_container, replace(plan, frames=None))
        demux_window(self._audio_container, self.audio_path, None, collector, seek, self._reads == 1)
        return collector.result()


def _pick(streams: Sequence[_S], wanted: bool | None, kind: str, path: Path) -> _S | None:
    if wanted is False:
        return None
    if not streams:
        if wanted:
            raise MissingStreamError(f"{path} has no {kind} stream; load it with {kind}=None or {kind}=False")
        return None
    return streams[0]


def _parse_size(size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    height, width = (size, size) if isinstance(size, int) else size
    if not 0 < height <= _MAX_SIDE or not 0 < width <= _MAX_SIDE:
        raise UsageError(
            f"size={size!r}: the output frame size must be 1 to {_MAX_SIDE} pixels a side (height, width); "
            "pass the size your model takes, e.g. size=224, or leave it out for the source size"
        )
    return int(height), int(width)


def _layout(channels: int, path: Path) -> str:
    if channels not in _CHANNEL_LAYOUTS:
        raise UsageError(f"channels={channels} for {path}: pass 1 (mono) or 2 (stereo)")
    return _CHANNEL_LAYOUTS[channels]


def _check_frame_memory(path: Path, plan: _Plan, size: tuple[int, int]) -> None:
    """Refuse a window whose RGB frames would take more than half of this machine's memory."""
    memory = _machine_memory()
    if plan.frames is None or memory is None:
        return
    count = plan.frames[1] - plan.frames[0]
    needed = count * size[0] * size[1] * 3
    if needed > memory // 2:
        raise UsageError(
            f"{path}: the window asks for {count} frames of {size[0]}x{size[1]} RGB, "
            f"{needed / 2**30:.1f} GiB, more than half of this machine's {memory / 2**30:.1f} GiB; "
            "load a shorter window (start, duration), a lower fps or a smaller size"
        )


def _machine_memory() -> int | None:
    """Physical memory in bytes, or ``None`` where the platform does not say (no ``os.sysconf``)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _set_threads(stream: av.video.stream.VideoStream, threads: int | None) -> None:
    """Set the video decoder's threads.

    Default: 1 thread in a DataLoader worker (the workers already use the cores; measured in
    benchmarks/media_load.py), FFmpeg's choice otherwise.
    """
    if threads is None:
        threads = 1 if _in_worker_process() else 0
    stream.codec_context.thread_type = "AUTO"
    stream.codec_context.thread_count = threads


def _in_worker_process() -> bool:
    data = sys.modules.get("torch.utils.data")
    return data is not None and data.get_worker_info() is not None


def _plan(
    path: Path,
    starts: tuple[Fraction | None, Fraction],
    infos: tuple[VideoStreamInfo | None, AudioStreamInfo | None],
    window: tuple[Seconds | None, Seconds | None],
    fps: Seconds | None,
    sample_rate: int | None,
) -> _Plan:
    """The grid ranges of a window; ``starts``: the video's start (``None``: no video) and the audio's.

    ``infos`` says which streams are loaded (``None``: not loaded).
    """
    vinfo, ainfo = infos
    video_start, audio_start = starts
    start, duration = window
    spans = []
    if video_start is not None and vinfo is not None:
        spans.append((video_start, video_start + to_fraction(vinfo.duration)))
    if ainfo is not None:
        spans.append((audio_start, audio_start + to_fraction(ainfo.duration)))
    file_lo, file_hi = min(s[0] for s in spans), max(s[1] for s in spans)
    lo = file_lo if start is None else to_fraction(start)
    hi = file_hi if duration is None else lo + to_fraction(duration)
    _check_window(path, lo, hi, file_lo, file_hi)
    frames = out_fps = samples = out_rate = None
    if video_start is not None and vinfo is not None:
        out_fps = to_fraction(fps) if fps is not None else vinfo.average_fps
        _check_fps(path, out_fps, vinfo)
        if fps is None and vinfo.variable_frame_rate:
            log.info(
                "%s has a variable frame rate; frames are resampled to its average %.3f fps", path, out_fps
            )
        v_lo, v_hi = spans[0]
        k0, k1 = window_indices(max(lo, v_lo), min(hi, v_hi), out_fps)
        frames = (k0, k1) if k1 > k0 else None
    if ainfo is not None:
        out_rate = int(sample_rate) if sample_rate is not None else ainfo.sample_rate
        if out_rate <= 0:
            raise UsageError(f"sample_rate={sample_rate}: pass a positive rate in Hz, e.g. 16000")
        s0, s1 = audio_window(lo, hi, out_fps, out_rate)
        a_lo, a_hi = spans[-1]
        s0, s1 = max(s0, math.ceil(a_lo * out_rate)), min(s1, math.floor(a_hi * out_rate))
        samples = (s0, s1) if s1 > s0 else None
    return _Plan(lo, hi, frames, out_fps, samples, out_rate)


def _check_fps(path: Path, fps: Fraction, info: VideoStreamInfo) -> None:
    """Refuse a non-positive rate, and one above the source's: every frame past it would repeat one."""
    if fps <= 0:
        raise UsageError(f"fps={float(fps):g}: pass a positive frame rate, e.g. fps=25")
    source = max(info.fps, info.average_fps)
    if source > 0 and fps > source * (1 + _RATE_SLACK):
        raise UsageError(
            f"fps={float(fps):g} for {path}, whose video has {float(source):g} fps: frames are chosen from "
            f"the source's, so each would repeat {float(fps / source):.3g} times; pass fps <= "
            f"{float(source):g}, or repeat frames after loading"
        )


def _check_window(path: Path, lo: Fraction, hi: Fraction, file_lo: Fraction, file_hi: Fraction) -> None:
    slack = Fraction(1, 1000)  # container durations are rounded to milliseconds
    if hi <= lo:
        raise WindowError(f"{path}: window [{float(lo)}, {float(hi)}) s is empty; use a positive duration")
    if lo < file_lo - slack or hi > file_hi + slack:
        raise WindowError(
            f"{path}: window [{float(lo)}, {float(hi)}) s lies outside the file, which spans "
            f"[{float(file_lo)}, {float(file_hi)}) s; choose start/duration inside it (see `avikit info`)"
        )


def _seek_time(container: av.container.InputContainer, plan: _Plan) -> Fraction | None:
    """Time to seek to before decoding, or ``None`` to decode from the start."""
    needed = []
    if plan.frames is not None and plan.fps is not None:
        needed.append(Fraction(plan.frames[0]) / plan.fps)
    if plan.samples is not None and plan.sample_rate is not None:
        needed.append(Fraction(plan.samples[0], plan.sample_rate) - _AUDIO_PREROLL)
    target = min(needed)
    file_start = Fraction(container.start_time or 0, av.time_base)
    return target if target > file_start + Fraction(1, 2) else None
