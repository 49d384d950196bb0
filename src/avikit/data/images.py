"""Still images of the official layouts (frames, masks): PNG and JPEG through FFmpeg, and resizing.

AVSBench keeps one frame per second as an image with a mask beside it, and VGG-SS and Flickr-SoundNet one
frame per clip; these helpers read them as arrays (grey ``[H, W]``, colour ``[H, W, 3]`` RGB), write them,
and bring them to a dataset's declared size: frames bilinearly (FFmpeg's scaler), masks by nearest neighbour
(the pixel whose centre is nearest, as PIL's ``NEAREST``), so a mask keeps its labels.

Example:
    >>> import tempfile
    >>> mask = np.zeros((4, 6), np.uint8)
    >>> mask[:2, :3] = 255
    >>> path = write_image(Path(tempfile.mkdtemp()) / "m.png", mask)
    >>> bool((read_image(path) == mask).all())
    True
    >>> resize_nearest(mask, (2, 3)).tolist()
    [[255, 0, 0], [0, 0, 0]]
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from avikit.data.manifest import atomic_writer
from avikit.errors import DataError, InputFileError

__all__ = ["read_image", "resize_frame", "resize_nearest", "write_image"]


def _encode_image(array: np.ndarray, codec: str) -> bytes:
    fmt = "gray" if array.ndim == 2 else "rgb24"
    context: Any = av.CodecContext.create(codec, "w")
    context.width, context.height = array.shape[1], array.shape[0]
    context.pix_fmt = fmt if codec == "png" else "yuvj444p"
    context.time_base = Fraction(1, 1)
    if codec == "mjpeg":
        context.options = {"qmin": "1", "qmax": "3"}
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format=fmt)
    if context.pix_fmt != fmt:
        frame = frame.reformat(format=context.pix_fmt)
    packets = [*context.encode(frame), *context.encode(None)]
    return b"".join(bytes(p) for p in packets)


def write_image(path: Path, array: np.ndarray) -> Path:
    """Write ``uint8 [H, W]`` (grey) or ``[H, W, 3]`` (RGB) as PNG or JPEG (by suffix), atomically."""
    codec = {".png": "png", ".jpg": "mjpeg", ".jpeg": "mjpeg"}.get(path.suffix.lower())
    if codec is None:
        raise DataError(f"image suffix must be .png or .jpg, got {path.name}")
    with atomic_writer(path, "wb") as f:
        f.write(_encode_image(array, codec))
    return path


def read_image(path: Path) -> np.ndarray:
    """Read a PNG or JPEG: grey (any depth, or 1-bit) as ``uint8 [H, W]``, anything else as RGB ``[H, W, 3]``.

    Raises:
        InputFileError: the file does not exist.
        DataError: it is not a readable image.
    """
    if not Path(path).is_file():
        raise InputFileError(f"image {path} does not exist; prepare the dataset again with its media present")
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration) as error:
        raise DataError(f"{path}: not a readable PNG or JPEG image ({error})") from error
    name = frame.format.name
    if name.startswith("gray") or name in ("monob", "monow"):
        return frame.to_ndarray(format="gray")
    return frame.to_ndarray(format="rgb24")


def resize_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGB frame ``uint8 [H, W, 3]`` to ``size = (height, width)`` bilinearly (FFmpeg's scaler)."""
    if frame.shape[:2] == tuple(size):
        return frame
    video = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
    return video.reformat(width=size[1], height=size[0], interpolation="BILINEAR").to_ndarray(format="rgb24")


def resize_nearest(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``[H, W, ...]`` to ``size = (height, width)`` by nearest neighbour, so labels stay labels.

    Each output pixel takes the input pixel under its centre (``floor((i + 0.5) * H / height)``).
    """
    height, width = mask.shape[:2]
    if (height, width) == tuple(size):
        return mask
    rows = ((np.arange(size[0]) + 0.5) * height / size[0]).astype(np.int64)
    cols = ((np.arange(size[1]) + 0.5) * width / size[1]).astype(np.int64)
    return mask[rows][:, cols]
