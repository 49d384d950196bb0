"""Real-media tests of probe/load/save: sync round trips, start times, VFR, missing streams, bad files."""

from __future__ import annotations

import math
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avikit.errors import (
    CorruptMediaError,
    MediaNotFoundError,
    MissingStreamError,
    UnsupportedCodecError,
    WindowError,
)
from avikit.media import AVClip, MediaReader, load, probe, save

from .conftest import FPS, RATE, click_waveform, moving_frames, psnr, write_unknown_codec_wav, write_vfr


def nearest_source_frame(frame: np.ndarray, source: np.ndarray) -> int:
    errors = ((source.astype(np.int32) - frame.astype(np.int32)) ** 2).mean(axis=(1, 2, 3))
    return int(np.argmin(errors))


def lag_of(signal: np.ndarray, reference: np.ndarray, max_lag: int) -> int:
    """Lag (in samples) at which ``signal`` best matches ``reference``; positive = signal is late."""
    lags = range(-max_lag, max_lag + 1)
    n = min(signal.size, reference.size) - 2 * max_lag
    scores = [np.dot(signal[max_lag + k : max_lag + k + n], reference[max_lag : max_lag + n]) for k in lags]
    return list(lags)[int(np.argmax(scores))]


def test_round_trip_keeps_frames_and_sync(av_file: Path, av_clip: AVClip) -> None:
    clip = load(av_file)
    assert clip.fps == FPS and clip.sample_rate == RATE
    assert clip.num_frames == av_clip.num_frames and clip.first_frame == 0
    source = av_clip.require_frames()
    for i, frame in enumerate(clip.require_frames()):
        assert psnr(frame, source[i]) >= 30.0
        assert nearest_source_frame(frame, source) == i  # sync within one frame: exactly the same frame
    # AAC is lossy: the stated tolerance is a lag of 0 samples and a correlation >= 0.9 with the source
    wave, ref = clip.require_waveform(), av_clip.require_waveform()
    assert clip.first_sample == 0 and abs(clip.num_samples - ref.shape[1]) <= 1024
    n = min(wave.shape[1], ref.shape[1])
    for ch in range(2):
        assert lag_of(wave[ch, :n], ref[ch, :n], 64) == 0
        assert np.corrcoef(wave[ch, :n], ref[ch, :n])[0, 1] >= 0.9


def test_wav_round_trip_is_16_bit_exact(tmp_path: Path, av_clip: AVClip) -> None:
    audio = av_clip.with_frames(None)
    clip = load(save(audio, tmp_path / "a.wav"))
    assert not clip.has_video and clip.sample_rate == RATE
    # 16-bit PCM: half a step
    np.testing.assert_allclose(clip.require_waveform(), audio.require_waveform(), atol=2.0**-15)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_late_audio_loads_with_its_offset(tmp_path: Path, suffix: str) -> None:
    offset = int(0.3 * RATE)
    click = RATE  # 1 s into the audio, so 1.3 s on the file's timeline
    clip = AVClip(
        frames=moving_frames(50),
        waveform=click_waveform(2 * RATE, [click]),
        fps=FPS,
        sample_rate=RATE,
        first_sample=offset,
    )
    path = save(clip, tmp_path / f"late{suffix}")
    loaded = load(path)
    info = probe(path)
    assert info.video is not None and info.audio is not None and info.video.start == 0.0
    if suffix == ".mkv":  # Matroska stores the exact start time
        # container start times are stored in ms
        assert info.audio.start == pytest.approx(0.3, abs=1e-3) and loaded.first_sample == offset
    else:  # mp4 declares AAC's 1024 priming samples before the start; the samples stay in place
        # stored in ms
        assert info.audio.start == pytest.approx(0.3 - 1024 / RATE, abs=1e-3)
    wave = loaded.require_waveform()[0]
    found = loaded.first_sample + int(np.argmax(np.abs(wave)))
    assert abs(found - (offset + click + 20)) <= RATE // 1000  # the click's peak, within 1 ms
    assert loaded.video_start == 0.0


def test_variable_frame_rate(tmp_path: Path) -> None:
    pts = [0, 40, 80, 200, 240, 400, 440, 480, 520, 800]
    path = write_vfr(tmp_path / "vfr.mp4", pts)
    info = probe(path)
    assert info.video is not None and info.video.num_frames == len(pts)
    assert info.video.variable_frame_rate
    source = moving_frames(len(pts), 48, 64)
    clip = load(path, fps=10)
    times = clip.frame_times()
    for frame, t in zip(clip.require_frames(), times, strict=True):
        distance = np.abs(np.array(pts) / 1000 - t)
        expected = int(np.flatnonzero(distance == distance.min())[0])  # nearest, ties to the earlier frame
        assert nearest_source_frame(frame, source) == expected
    assert clip.num_frames == 9  # grid points 0.0 .. 0.8 s: the last frame lasts until 0.84 s


def test_audio_only_and_video_only_files(tmp_path: Path, av_clip: AVClip) -> None:
    audio_path = save(av_clip.with_frames(None), tmp_path / "audio.mp4")
    clip = load(audio_path)
    assert clip.frames is None and not clip.has_video and clip.has_audio
    assert probe(audio_path).video is None
    with pytest.raises(MissingStreamError, match="no video stream"):
        load(audio_path, video=True)
    video_path = save(av_clip.with_waveform(None), tmp_path / "video.mp4")
    clip = load(video_path)
    assert clip.waveform is None and clip.num_frames == av_clip.num_frames
    with pytest.raises(MissingStreamError, match="no audio stream"):
        load(video_path, audio=True)
    with pytest.raises(MissingStreamError):
        clip.require_waveform()


def test_skipping_a_stream(av_file: Path) -> None:
    assert load(av_file, video=False).frames is None
    assert load(av_file, audio=False).waveform is None


def test_missing_corrupt_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFoundError, match="nope.mp4"):
        load(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptMediaError, match="junk.mp4"):
        probe(junk)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(CorruptMediaError, match="empty"):
        load(empty)
    with pytest.raises(UnsupportedCodecError, match="re-encode"):
        load(write_unknown_codec_wav(tmp_path / "odd.wav"))


def test_corrupt_bytes_inside_a_file(tmp_path: Path, av_file: Path) -> None:
    data = bytearray(av_file.read_bytes())
    mid = len(data) // 3
    data[mid : mid + 4000] = np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    with pytest.raises(CorruptMediaError, match="bad.mp4"):
        load(bad)


def test_truncated_files(tmp_path: Path, av_file: Path) -> None:
    data = av_file.read_bytes()
    header_only = tmp_path / "head.mp4"  # cut inside the index: nothing can be read
    header_only.write_bytes(data[:200])
    with pytest.raises(CorruptMediaError, match="head.mp4"):
        load(header_only)
    cut = tmp_path / "cut.mp4"  # the index (written first) declares 3 s; the data stops early
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(CorruptMediaError, match="truncated"):  # probe checks the last packet
        probe(cut)
    with pytest.raises(CorruptMediaError, match="truncated"):
        load(cut)
    assert load(cut, start=0, duration=0.5).num_frames == 13  # what is there still loads


def test_windows_outside_the_file(av_file: Path) -> None:
    with pytest.raises(WindowError, match="outside"):
        load(av_file, start=2.5, duration=1.0)
    with pytest.raises(WindowError, match="outside"):
        load(av_file, start=-1.0, duration=0.5)
    with pytest.raises(WindowError, match="empty"):
        load(av_file, start=1.0, duration=0)


def test_resampling_and_resizing(av_file: Path, av_clip: AVClip) -> None:
    clip = load(av_file, fps=5, size=(32, 48), sample_rate=8000, channels=1)
    assert clip.require_frames().shape == (15, 32, 48, 3)
    assert clip.sample_rate == 8000 and clip.num_channels == 1
    assert abs(clip.num_samples - 24000) <= 512
    full = load(av_file, size=(32, 48)).require_frames()
    picked = [nearest_source_frame(f, full) for f in clip.require_frames()]
    assert picked == list(range(0, 75, 5))


def test_real_llp_video(reference_data: Path) -> None:
    path = reference_data / "llp" / "BjCEufrlXm4.mp4"
    info = probe(path)
    assert info.video is not None and info.audio is not None
    assert info.video.codec == "h264" and (info.video.width, info.video.height) == (320, 240)
    # the file's rate is 29.9166...; FFmpeg's guess rounds
    assert float(info.video.fps) == pytest.approx(359 / 12, rel=1e-3)
    assert info.audio.codec == "aac" and info.audio.sample_rate == 44100
    # header durations, rounded to 10 ms here
    assert info.duration == pytest.approx(10.028, abs=0.01)
    clip = load(path, start=0, duration=10, fps=1, size=224, sample_rate=16000, channels=1)
    assert clip.require_frames().shape == (10, 224, 224, 3)
    assert clip.num_samples == 160000 and clip.first_sample == 0


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 1000), length=st.integers(1, 300))
def test_window_equals_slice_of_whole(long_file: tuple[Path, AVClip], start: int, length: int) -> None:
    """load(start, duration) returns exactly load().slice(start, end): same positions, same pixels."""
    path, _ = long_file
    whole = _whole(path)
    lo, hi = start / 100, min(start / 100 + length / 100, 12.0)
    window = load(path, start=lo, duration=hi - lo)
    expected = whole.slice(lo, hi)
    assert (window.first_frame, window.num_frames) == (expected.first_frame, expected.num_frames)
    assert (window.first_sample, window.num_samples) == (expected.first_sample, expected.num_samples)
    assert window.has_video == expected.has_video
    if expected.has_video:
        np.testing.assert_array_equal(window.require_frames(), expected.require_frames())
        assert abs(window.audio_start - window.video_start) <= 0.5 / RATE  # type: ignore[operator]
    np.testing.assert_allclose(window.require_waveform(), expected.require_waveform(), atol=1e-3)


_WHOLE: dict[Path, AVClip] = {}


def _whole(path: Path) -> AVClip:
    if path not in _WHOLE:
        _WHOLE[path] = load(path)
    return _WHOLE[path]


def test_save_rejects_what_it_cannot_write(tmp_path: Path, av_clip: AVClip) -> None:
    with pytest.raises(ValueError, match="suffix|use one of"):
        save(av_clip, tmp_path / "x.avi")
    with pytest.raises(ValueError, match="audio only"):
        save(av_clip, tmp_path / "x.wav")
    odd = AVClip(frames=np.zeros((2, 5, 6, 3), np.uint8), fps=25)
    with pytest.raises(ValueError, match="even"):
        save(odd, tmp_path / "odd.mp4")
    assert not list(tmp_path.glob(".*partial*"))


def test_copy_of_file_reads_the_same(tmp_path: Path, av_file: Path) -> None:
    copy = tmp_path / "copy.mp4"
    shutil.copy(av_file, copy)
    assert probe(copy).to_dict()["video"] == probe(av_file).to_dict()["video"]


@pytest.mark.parametrize("fps", [1, 5, 10, 25])
def test_sparse_sampling_decodes_the_same_pixels(long_file: tuple[Path, AVClip], fps: int) -> None:
    """Frames chosen at a low rate (decoding only the packets they need) equal the full decode's frames."""
    path, _ = long_file
    whole = _whole(path).require_frames()
    clip = load(path, fps=fps, start=1.0, duration=7.0)
    # nearest source frame to k / fps, ties to the earlier one
    expected = [math.ceil(Fraction(k * FPS, fps) - Fraction(1, 2)) for k in range(fps, 8 * fps)]
    assert clip.first_frame == fps and clip.num_frames == 7 * fps
    np.testing.assert_array_equal(clip.require_frames(), whole[expected])


def test_reader_reuses_the_open_file_for_random_windows(long_file: tuple[Path, AVClip]) -> None:
    """Windows read in any order from one open reader equal independent loads, and equal slices of the whole."""
    path, _ = long_file
    whole = _whole(path)
    rng = np.random.default_rng(5)
    with MediaReader(path) as reader:
        for start in rng.uniform(0, 10.5, size=8):
            lo = round(float(start), 2)
            window = reader.load(start=lo, duration=1.0)
            expected = whole.slice(lo, lo + 1.0)
            assert (window.first_frame, window.num_frames) == (expected.first_frame, expected.num_frames)
            np.testing.assert_array_equal(window.require_frames(), expected.require_frames())
            np.testing.assert_allclose(window.require_waveform(), expected.require_waveform(), atol=1e-3)
        whole_again = reader.load()
    np.testing.assert_array_equal(whole_again.require_frames(), whole.require_frames())
