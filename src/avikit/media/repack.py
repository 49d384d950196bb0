"""Re-encode one media file into the fast layout: resized H.264 video with keyframes on a sampling grid.

The audio becomes a PCM WAV (or FLAC) sidecar at the model's rate.

Why it is fast to read: with a keyframe at every time ``k / keyframe_fps``, a load at ``keyframe_fps``
(e.g. 1 frame per second) picks exactly the keyframes, and :func:`avikit.media.load` decodes only the
packets the chosen frames need, so it decodes one intra frame per output frame. Frames are already at the
model's size, so nothing is scaled at load time, and the audio is read from a sidecar that needs no
decoding and no resampling.

What stays the same: every source frame keeps its timestamp (the encoder works in the source stream's time
base), so frame choice by timestamp is unchanged; the audio is resampled once, over the whole track, by
the same FFmpeg resampler :func:`avikit.media.load` uses, and keeps its start time. The differences are the
re-encode's loss (stated as PSNR, measured in tests and ``benchmarks/media_load.py``) and the 16-bit
quantisation of the audio (at most 2^-15 per sample).

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from avikit.media import AVClip, load, save
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> clip = AVClip(frames=np.full((50, 32, 48, 3), 90, np.uint8), fps=25,
    ...               waveform=np.zeros((2, 32000), np.float32), sample_rate=16000)
    >>> source = save(clip, folder / "clip.mp4")
    >>> done = repack(source, folder / "v.mp4", folder / "a", RepackSpec(size=(16, 16), sample_rate=8000))
    >>> done.keyframes, done.audio.suffix
    ([0, 25], '.wav')
    >>> packed = load(done.video, 0, 2, fps=1, audio_path=done.audio)
    >>> packed.frames.shape, packed.waveform.shape
    ((2, 16, 16, 3), (2, 16000))
"""

from __future__ import annotations

import bisect
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.video.reformatter import Interpolation

from avikit.errors import MediaError, UsageError
from avikit.media._open import decode_error, open_input
from avikit.media.probe import _count_packets, _stream_duration, stream_start
from avikit.media.timeline import window_indices

__all__ = ["AUDIO_FORMATS", "RepackResult", "RepackSpec", "repack"]

AUDIO_FORMATS = {"wav": ("pcm_s16le", ".wav"), "flac": ("flac", ".flac")}
"""Sidecar format -> (codec, suffix). Audio that does not start at 0 s goes into Matroska (``.mka``) with
the same codec, because WAV and FLAC files store no start time."""
_LAYOUTS = {1: "mono", 2: "stereo"}
_BLOCK = 16384  # decoded samples per resampler call


@dataclass(frozen=True)
class RepackSpec:
    """The transform of the fast layout, recorded in a packed dataset's ``packed.json``.

    Attributes:
        size: output ``(height, width)`` (even numbers); ``None`` keeps the source size.
        keyframe_fps: keyframes on the grid ``k / keyframe_fps`` seconds (the sampling rate a loader uses).
        crf: x264 constant rate factor (18: visually lossless).
        preset: x264 preset.
        tune: x264 tuning; ``"fastdecode"`` (no CABAC, no deblocking) decodes about a third faster.
        sample_rate: audio rate of the sidecar in Hz; ``None`` keeps the source rate.
        channels: audio channels (1 or 2); ``None`` keeps the source's.
        audio_format: ``"wav"`` (16-bit PCM) or ``"flac"`` (lossless, smaller, slower to read).
    """

    size: tuple[int, int] | None = None
    keyframe_fps: Fraction = field(default=Fraction(1))
    crf: int = 18
    preset: str = "fast"
    tune: str | None = "fastdecode"
    sample_rate: int | None = 16000
    channels: int | None = None
    audio_format: str = "wav"

    def __post_init__(self) -> None:
        object.__setattr__(self, "keyframe_fps", Fraction(self.keyframe_fps))
        if self.size is not None:
            height, width = self.size
            object.__setattr__(self, "size", (int(height), int(width)))
            if height <= 0 or width <= 0 or height % 2 or width % 2:
                raise UsageError(f"size must be positive even numbers (H.264 4:2:0), got {self.size}")
        if self.keyframe_fps <= 0:
            raise UsageError(f"keyframe_fps must be positive, got {self.keyframe_fps}")
        if self.audio_format not in AUDIO_FORMATS:
            raise UsageError(
                f"audio_format must be one of {', '.join(AUDIO_FORMATS)}, got {self.audio_format!r}"
            )
        if self.channels not in (None, *_LAYOUTS):
            raise UsageError(f"channels must be 1 or 2, got {self.channels}")
        if self.sample_rate is not None and self.sample_rate <= 0:
            raise UsageError(f"sample_rate must be positive, got {self.sample_rate}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form (``keyframe_fps`` as a string fraction)."""
        return {**asdict(self), "keyframe_fps": str(self.keyframe_fps), "size": self.size and list(self.size)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RepackSpec:
        """Build from :meth:`to_dict` output."""
        size = data.get("size")
        return cls(**{**data, "keyframe_fps": Fraction(data["keyframe_fps"]), "size": size and tuple(size)})


@dataclass(frozen=True)
class RepackResult:
    """What :func:`repack` wrote.

    Attributes:
        video: the video file, or ``None`` when the source has no video.
        audio: the audio sidecar, or ``None`` when the source has no audio.
        keyframes: source frame indices made keyframes (one per grid time).
        num_frames: frames written.
    """

    video: Path | None
    audio: Path | None
    keyframes: list[int]
    num_frames: int


def repack(src: str | Path, video_out: str | Path, audio_stem: str | Path, spec: RepackSpec) -> RepackResult:
    """Re-encode ``src`` into ``video_out`` (H.264 mp4) and an audio sidecar named ``audio_stem`` + suffix.

    Files appear only once complete (written under a temporary name, then renamed).

    Raises:
        MediaNotFoundError, CorruptMediaError: the source cannot be read.
        UsageError: the source has more than 2 audio channels and ``spec.channels`` is not set.
        MediaError: FFmpeg failed to encode.
    """
    src = Path(src)
    with open_input(src) as container:
        has_video, has_audio = bool(container.streams.video), bool(container.streams.audio)
    video, keyframes, frames = None, list[int](), 0
    if has_video:
        keyframes, frames = _write_video(src, Path(video_out), spec)
        video = Path(video_out)
    audio = _write_audio(src, Path(audio_stem), spec) if has_audio else None
    return RepackResult(video, audio, keyframes, frames)


def _partial(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def _grid_keyframes(pts: list[int], time_base: Fraction, start: Fraction, spec: RepackSpec) -> set[int]:
    """Indices (in presentation order) of the frame nearest to each grid time (ties: the earlier frame).

    The same rule :func:`avikit.media.load` uses to pick frames, so a load at ``keyframe_fps`` picks them.
    """
    times = sorted(p * time_base for p in pts)
    if not times:
        return set()
    step = times[1] - times[0] if len(times) > 1 else Fraction(1)
    k0, k1 = window_indices(start, times[-1] + step, spec.keyframe_fps)
    chosen = set()
    for k in range(k0, k1):
        grid = Fraction(k) / spec.keyframe_fps
        j = bisect.bisect_left(times, grid)
        if j == len(times) or (j > 0 and grid - times[j - 1] <= times[j] - grid):
            j -= 1
        chosen.add(j)
    return chosen


def _frame_pts(src: Path) -> list[int]:
    with open_input(src) as container:
        stream = container.streams.video[0]
        return sorted(p.pts for p in container.demux(stream) if p.pts is not None and p.size)


def _write_video(src: Path, out: Path, spec: RepackSpec) -> tuple[list[int], int]:
    pts = _frame_pts(src)
    partial = _partial(out)
    try:
        with (
            open_input(src) as container,
            av.open(str(partial), "w", options={"movflags": "+faststart"}) as sink,
        ):
            stream = container.streams.video[0]
            tb = Fraction(stream.time_base) if stream.time_base is not None else Fraction(1, av.time_base)
            keys = _grid_keyframes(pts, tb, stream_start(stream), spec)
            height, width = spec.size or (stream.codec_context.height, stream.codec_context.width)
            encoder = _video_encoder(sink, stream, (height, width), tb, spec)
            count = 0
            for frame in _decoded(container, stream, src):
                out_frame = frame.reformat(width=width, height=height, format="yuv420p",
                                           interpolation=Interpolation.BILINEAR)  # fmt: skip
                out_frame.pts, out_frame.time_base = frame.pts, tb
                is_key = count in keys  # source keyframes must not leak: set every picture type
                out_frame.pict_type = (
                    av.video.frame.PictureType.I if is_key else av.video.frame.PictureType.NONE
                )
                sink.mux(encoder.encode(out_frame))
                count += 1
            sink.mux(encoder.encode(None))
        os.replace(partial, out)
    except av.error.FFmpegError as exc:
        raise MediaError(f"{src}: FFmpeg could not re-encode the video ({exc})") from exc
    finally:
        partial.unlink(missing_ok=True)
    return sorted(keys), count


def _video_encoder(
    sink: av.container.OutputContainer,
    source: av.video.stream.VideoStream,
    size: tuple[int, int],
    tb: Fraction,
    spec: RepackSpec,
) -> av.video.stream.VideoStream:
    rate = source.average_rate or source.guessed_rate or Fraction(25)
    encoder = sink.add_stream("libx264", rate=rate)
    assert isinstance(encoder, av.video.stream.VideoStream)
    encoder.height, encoder.width = size
    encoder.pix_fmt = "yuv420p"
    # keyframes are forced on the grid; the GOP limit only bounds a gap the grid leaves (none for CFR)
    gop = max(2, int(2 * Fraction(rate) / spec.keyframe_fps) + 1)
    options: dict[str, str] = {
        "crf": str(spec.crf),
        "preset": spec.preset,
        "g": str(gop),
        "sc_threshold": "0",
    }
    if spec.tune:
        options["tune"] = spec.tune
    encoder.options = dict(options)
    encoder.codec_context.time_base = tb  # the source's timestamps, unchanged
    return encoder


def _decoded(
    container: av.container.InputContainer, stream: av.stream.Stream, src: Path
) -> Iterator[av.VideoFrame]:
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame) and frame.pts is not None:
                    yield frame
    except av.error.FFmpegError as exc:
        raise decode_error(src, exc, "while re-encoding") from exc


def _write_audio(src: Path, stem: Path, spec: RepackSpec) -> Path:
    codec, suffix = AUDIO_FORMATS[spec.audio_format]
    with open_input(src) as container:
        stream = container.streams.audio[0]
        channels = spec.channels or stream.codec_context.channels
        if channels not in _LAYOUTS:
            raise UsageError(f"{src}: the audio has {channels} channels; pack with channels=1 or 2")
        rate = spec.sample_rate or stream.codec_context.sample_rate
        start = stream_start(stream)
        if start > 0:  # WAV and FLAC store no start time; Matroska does
            suffix = ".mka"
        out = stem.with_name(stem.name + suffix)
        end = math.floor(
            (start + _audio_duration(src)) * rate
        )  # the samples the source declares, as load cuts
        waveform, first = _resampled(container, stream, src, rate, _LAYOUTS[channels])
        waveform = waveform[:, : max(0, end - first)]
    partial = _partial(out)
    try:
        with av.open(str(partial), "w") as sink:
            encoder = sink.add_stream(codec, rate=rate)
            assert isinstance(encoder, av.audio.stream.AudioStream)
            encoder.layout = _LAYOUTS[channels]
            pcm = np.round(np.clip(waveform, -1.0, 32767 / 32768) * 32768).astype(np.int16)
            for s in range(0, pcm.shape[1], 4096):  # packed 16-bit: one plane of interleaved samples
                chunk = np.ascontiguousarray(pcm[:, s : s + 4096].T).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout=_LAYOUTS[channels])
                frame.sample_rate, frame.pts, frame.time_base = rate, first + s, Fraction(1, rate)
                sink.mux(encoder.encode(frame))
            sink.mux(encoder.encode(None))
        os.replace(partial, out)
    except av.error.FFmpegError as exc:
        raise MediaError(f"{src}: FFmpeg could not write the audio sidecar ({exc})") from exc
    finally:
        partial.unlink(missing_ok=True)
    return out


def _audio_duration(src: Path) -> Fraction:
    """The audio stream's declared duration (from the header, else from its packets)."""
    with open_input(src) as container:
        stream = container.streams.audio[0]
        duration = _stream_duration(container, stream)
        return duration if duration is not None else _count_packets(container, stream)[1]


def _resampled(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    src: Path,
    rate: int,
    layout: str,
) -> tuple[np.ndarray, int]:
    """The whole track through FFmpeg's resampler ``float32 [C, N]`` and its first sample index (>= 0).

    Samples before 0 s (a negative start) are dropped: manifest windows never start before 0.
    """
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    chunks: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    source: tuple[str, str, int] | None = None
    first: int | None = None

    def flush(final: bool) -> None:
        if pending and source is not None:
            block = av.AudioFrame.from_ndarray(
                np.concatenate(pending, axis=1), format=source[0], layout=source[1]
            )
            block.sample_rate = source[2]
            pending.clear()
            chunks.extend(f.to_ndarray() for f in resampler.resample(block))
        if final:
            chunks.extend(f.to_ndarray() for f in resampler.resample(None))

    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                if not isinstance(frame, av.AudioFrame):
                    continue
                if source is None:
                    tb = Fraction(stream.time_base or Fraction(1, frame.sample_rate))
                    t = frame.pts * tb if frame.pts is not None else Fraction(0)
                    source = (frame.format.name, frame.layout.name, frame.sample_rate)
                    first = math.floor(t * rate + Fraction(1, 2))  # as avikit.media.load places its samples
                pending.append(frame.to_ndarray())
                if sum(p.shape[1] for p in pending) >= _BLOCK:
                    flush(final=False)
        flush(final=True)
    except av.error.FFmpegError as exc:
        raise decode_error(src, exc, "while re-encoding the audio") from exc
    if first is None or not chunks:
        raise MediaError(f"{src}: no audio could be decoded; the file is corrupt")
    waveform = np.concatenate(chunks, axis=1).astype(np.float32)
    if first < 0:
        waveform, first = waveform[:, -first:], 0
    return waveform, first
