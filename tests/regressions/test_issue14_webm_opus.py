"""Issue 14: a VP9 + Opus WebM failed to load from its start ("the index may be corrupt").

Opus stamps its first packet before zero (the codec delay). Rewinding the file with ``seek(0)`` (after
``probe`` counted WebM's packets) landed on the first video keyframe and skipped that packet, so the first
audio frame started after the window and every retry failed.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from avikit.media import MediaReader, load, probe

RATE = 48000
CLICKS = (4800, 33600, 62400)  # 0.1 s, 0.7 s, 1.3 s


def _frames(count: int) -> np.ndarray:
    frames = np.zeros((count, 64, 96, 3), np.uint8)
    for i in range(count):
        frames[i, :, (i * 4) % 92 : (i * 4) % 92 + 4, 1] = 200
    return frames


@pytest.fixture(scope="module")
def webm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of VP9 (25 fps) and Opus (48 kHz stereo) with clicks at known samples, written by FFmpeg."""
    path = tmp_path_factory.mktemp("webm") / "clip.webm"
    wave = np.zeros((2, 2 * RATE), np.float32)
    for n in CLICKS:
        wave[:, n : n + 48] = 0.9 * np.hanning(48).astype(np.float32)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libvpx-vp9", rate=25)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        audio = container.add_stream("libopus", rate=RATE)
        audio.layout = "stereo"
        for i, rgb in enumerate(_frames(50)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            container.mux(video.encode(frame))
        for k in range(0, wave.shape[1], 960):
            block = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(wave[:, k : k + 960]), format="fltp", layout="stereo"
            )
            block.sample_rate, block.pts, block.time_base = RATE, k, Fraction(1, RATE)
            container.mux(audio.encode(block))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return path


def _click_positions(waveform: np.ndarray) -> list[int]:
    energy = np.abs(waveform[0])
    return [int(np.argmax(energy[n - 2400 : n + 2400])) + n - 2400 for n in CLICKS]


def test_the_file_is_vp9_and_opus_with_audio_before_zero(webm: Path) -> None:
    info = probe(webm)
    assert info.video is not None and info.audio is not None
    assert (info.video.codec, info.audio.codec) == ("vp9", "opus")
    with av.open(str(webm)) as container:
        first = next(p for p in container.demux(container.streams.audio[0]) if p.size)
        assert first.pts is not None and first.pts < 0  # the codec delay that triggered the bug


def test_loads_from_its_start_with_audio_in_place(webm: Path) -> None:
    clip = load(webm)
    assert clip.first_frame == 0 and clip.num_frames == 50 and clip.first_sample == 0
    assert clip.num_samples == 2 * RATE
    # each click within 2 ms of where it was written: Opus keeps timing; its transform smears the shape
    for found, written in zip(_click_positions(clip.require_waveform()), CLICKS, strict=True):
        assert abs(found - written) <= 96


def test_a_reader_reads_the_start_again_after_another_window(webm: Path) -> None:
    with MediaReader(webm) as reader:
        later = reader.load(start=1.0, duration=0.5)
        again = reader.load(start=0, duration=0.5)
    assert later.first_frame == 25 and again.first_frame == 0 and again.first_sample == 0
    assert np.array_equal(again.require_frames(), load(webm, start=0, duration=0.5).require_frames())
