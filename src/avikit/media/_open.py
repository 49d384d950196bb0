"""Opening media files with FFmpeg, turning its failures into typed avikit errors."""

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


def decode_error(path: Path, exc: Exception, where: str) -> CorruptMediaError:
    """Return the error for a failure while decoding ``path`` at ``where``."""
    return CorruptMediaError(
        f"{path}: decoding failed {where} ({exc}); the file is corrupt or truncated: re-download it, or "
        "re-encode it with ffmpeg"
    )
