"""Issue 14: an avi whose header declares 60000 x 60000 was reported as a 0 x 0 video.

FFmpeg rejects the declared size (past its image limit) and, for raw video, finds no other in the data, so
it leaves 0 x 0. Opening such a file now raises :class:`CorruptMediaError` naming the file and the fix.
"""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest

from avikit.errors import CorruptMediaError
from avikit.media import load, probe


def _write_avi(path: Path, width: int, height: int) -> Path:
    """Raw BGR frames in an avi (FFmpeg's muxer), then the frame size in its headers set to ``width x height``."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("rawvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "bgr24"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((32, 48, 3), 40 * i, np.uint8), format="bgr24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = bytearray(path.read_bytes())
    avih = data.index(b"avih")  # MainAVIHeader: dwWidth, dwHeight are its 9th and 10th fields
    struct.pack_into("<II", data, avih + 8 + 32, width, height)
    strf = data.index(b"strf")  # BITMAPINFOHEADER: biSize, then biWidth, biHeight
    _, _, declared_height = struct.unpack_from("<Iii", data, strf + 8)
    struct.pack_into("<ii", data, strf + 12, width, height if declared_height > 0 else -height)
    path.write_bytes(bytes(data))
    return path


def test_the_unchanged_avi_is_read(tmp_path: Path) -> None:
    path = _write_avi(tmp_path / "small.avi", 48, 32)
    info = probe(path)
    assert info.video is not None and (info.video.codec, info.video.width, info.video.height) == (
        "rawvideo",
        48,
        32,
    )
    assert load(path).require_frames().shape == (5, 32, 48, 3)


def test_a_declared_60000_square_is_rejected_not_reported_as_0x0(tmp_path: Path) -> None:
    path = _write_avi(tmp_path / "huge.avi", 60000, 60000)
    with av.open(str(path)) as container:  # what FFmpeg itself makes of it
        assert (
            container.streams.video[0].codec_context.width,
            container.streams.video[0].codec_context.height,
        ) == (0, 0)
    for read in (probe, load):
        with pytest.raises(CorruptMediaError, match=r"huge\.avi: the video stream has no usable frame size"):
            read(path)
