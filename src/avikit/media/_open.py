"""Opening media files with FFmpeg, turning its failures into typed avikit errors; rewinding them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import av

from avikit.errors import CorruptMediaError, MediaNotFoundError, UnsupportedCodecError


@contextlib.contextmanager
def open_input(path: str | Path) -> Iterator[av.container.InputContainer]:
    """Open ``path`` for reading; raise a typed error naming the file on any failure to open it."""
    path = Path(path)
    if not path.exists():
        raise MediaNotFoundError(f"{path}: no such file; check the path (relative to {Path.cwd()})")
    if path.is_dir():
        raise MediaNotFoundError(f"{path} is a folder, not a media file; pass one file")
    if path.stat().st_size == 0:
        raise CorruptMediaError(f"{path} is empty (0 bytes); re-download or re-encode it")
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(
            f"{path} cannot be read as media ({exc.strerror or exc}); the file is corrupt, truncated or "
            "not a media file: re-download it, or re-encode it with ffmpeg"
        ) from exc
    try:
        if not container.streams.video and not container.streams.audio:
            raise CorruptMediaError(
                f"{path} holds no audio or video stream; the file is truncated or not a media file: "
                "re-download it"
            )
        for stream in (*container.streams.video[:1], *container.streams.audio[:1]):
            check_decodable(path, stream)
        if container.streams.video:
            check_frame_size(path, container.streams.video[0])
        yield container
    finally:
        container.close()


def check_decodable(path: Path, stream: av.stream.Stream) -> None:
    """Raise :class:`UnsupportedCodecError` if FFmpeg has no decoder for ``stream``."""
    ctx = stream.codec_context
    if ctx is None or ctx.codec is None or ctx.name in ("none", ""):
        raise UnsupportedCodecError(
            f"{path}: the {stream.type} stream uses a codec that FFmpeg cannot decode here; re-encode it, "
            "e.g. `ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4`"
        )


def check_frame_size(path: Path, stream: av.video.stream.VideoStream) -> None:
    """Raise :class:`CorruptMediaError` if FFmpeg found no usable frame size for the video stream.

    FFmpeg leaves the size at 0x0 when the header declares one it rejects (e.g. 60000x60000, past its image
    limit) and the bitstream does not state another.
    """
    ctx = stream.codec_context
    if int(ctx.width) <= 0 or int(ctx.height) <= 0:
        raise CorruptMediaError(
            f"{path}: the video stream has no usable frame size (FFmpeg read {ctx.width}x{ctx.height}: the "
            "header declares none, or one past FFmpeg's image limit); the file is corrupt or was written "
            "wrongly: re-encode it from its source, e.g. `ffmpeg -i SOURCE -c:v libx264 OUT.mp4`"
        )


def rewind(container: av.container.InputContainer) -> None:
    """Seek back to the first packet of the file.

    A plain ``seek(0)`` lands on the first video keyframe, which skips audio packets stamped before zero
    (Opus and AAC codec delay in WebM); seeking to a negative time on the stream that starts first (audio
    on a tie) does not. Containers that refuse a negative time (avi) are seeked to zero.
    """
    streams = (*container.streams.audio[:1], *container.streams.video[:1])
    stream = min(streams, key=lambda s: (s.start_time or 0) * (s.time_base or 0))  # stable: audio on a tie
    try:
        container.seek(-(2**31), stream=stream, backward=True)
    except av.error.FFmpegError:
        container.seek(0, stream=stream, backward=True)


def decode_error(path: Path, exc: Exception, where: str) -> CorruptMediaError:
    """Return the error for a failure while decoding ``path`` at ``where``."""
    return CorruptMediaError(
        f"{path}: decoding failed {where} ({exc}); the file is corrupt or truncated: re-download it, or "
        "re-encode it with ffmpeg"
    )
