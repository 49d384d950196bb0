"""Real media made by the tests themselves: small H.264/AAC files written through PyAV."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from avikit.media import AVClip, save

FPS = 25
RATE = 16000


def moving_frames(num_frames: int, height: int = 64, width: int = 96) -> np.ndarray:
    """Frames whose content encodes the frame index: a level, a moving 4-pixel bar and a pulsing square.

    Features are 4 pixels wide and on even pixels so that H.264's 4:2:0 chroma can represent them.
    """
    frames = np.zeros((num_frames, height, width, 3), np.uint8)
    for i in range(num_frames):
        frames[i, :, :, 0] = (i * 9) % 200 + 20
        x = (i * 4) % (width - 4)
        frames[i, :, x : x + 4, 1] = 200
        frames[i, height // 4 : height // 2, width // 4 : width // 2, 2] = 120 + (i % 5) * 20
    return frames


def noise_waveform(num_samples: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.2 * rng.standard_normal((channels, num_samples))).astype(np.float32)


def click_waveform(num_samples: int, clicks_at: list[int], channels: int = 1) -> np.ndarray:
    wave = np.zeros((channels, num_samples), np.float32)
    for n in clicks_at:
        wave[:, n : n + 40] = np.hanning(40).astype(np.float32) * 0.9
    return wave


@pytest.fixture(scope="session")
def av_clip() -> AVClip:
    """A 3 s clip: 75 frames at 25 fps and stereo noise at 16 kHz, both starting at 0."""
    return AVClip(frames=moving_frames(75), waveform=noise_waveform(3 * RATE), fps=FPS, sample_rate=RATE)


@pytest.fixture(scope="session")
def av_file(tmp_path_factory: pytest.TempPathFactory, av_clip: AVClip) -> Path:
    return save(av_clip, tmp_path_factory.mktemp("media") / "clip.mp4")


@pytest.fixture(scope="session")
def long_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AVClip]:
    """A 12 s file with a 1 s keyframe interval, for seeking tests."""
    clip = AVClip(
        frames=moving_frames(300, 48, 64),
        waveform=noise_waveform(12 * RATE, 1, seed=3),
        fps=FPS,
        sample_rate=RATE,
    )
    return save(clip, tmp_path_factory.mktemp("media") / "long.mp4", keyframe_interval=1.0), clip


def write_vfr(path: Path, pts_ms: list[int], size: tuple[int, int] = (48, 64)) -> Path:
    """Write an H.264 mp4 whose frames have the given timestamps in milliseconds (variable frame rate)."""
    frames = moving_frames(len(pts_ms), *size)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[1], size[0], "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"crf": "18", "bf": "0"}
        for i, pts in enumerate(pts_ms):
            frame = av.VideoFrame.from_ndarray(frames[i], format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_unknown_codec_wav(path: Path) -> Path:
    """A well-formed wav whose format tag names no codec FFmpeg knows."""
    data = np.zeros(8000, np.int16).tobytes()
    fmt = struct.pack("<IHHIIHH", 16, 0x1234, 1, 8000, 16000, 2, 16)
    path.write_bytes(
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    return path


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))
