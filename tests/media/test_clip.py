"""Unit tests of AVClip and the exact timeline: windows, alignment, round trips."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from avikit.errors import MissingStreamError, WindowError
from avikit.media import AVClip, index_to_seconds, seconds_to_index, to_fraction, window_indices
from avikit.media.timeline import audio_window

RATES = st.sampled_from([8000, 16000, 22050, 44100, 48000])
FPS = st.sampled_from([Fraction(25), Fraction(30000, 1001), Fraction(359, 12), Fraction(8), Fraction(1)])


def make_clip(
    fps: Fraction, rate: int, seconds: int = 4, first_frame: int = 0, first_sample: int = 0
) -> AVClip:
    num_frames = int(seconds * fps)
    frames = np.zeros((num_frames, 2, 2, 3), np.uint8)
    frames[:, 0, 0, 0] = np.arange(num_frames) % 256
    waveform = np.arange(seconds * rate, dtype=np.float32)[None]
    return AVClip(
        frames=frames,
        waveform=waveform,
        fps=fps,
        sample_rate=rate,
        first_frame=first_frame,
        first_sample=first_sample,
    )


@given(index=st.integers(-(10**7), 10**7), rate=st.one_of(RATES, FPS))
def test_index_seconds_round_trip_loses_nothing(index: int, rate: int | Fraction) -> None:
    assert seconds_to_index(index_to_seconds(index, rate), rate) == index
    assert seconds_to_index(float(index_to_seconds(index, rate)), rate) == index


def test_decimal_floats_are_exact() -> None:
    assert to_fraction(0.1) == Fraction(1, 10)
    assert to_fraction(29.97) == Fraction(2997, 100)
    assert window_indices(0.1, 0.3, 10) == (1, 3)
    with pytest.raises(ValueError, match="finite"):
        to_fraction(float("nan"))
    with pytest.raises(TypeError):
        to_fraction("1.0")  # type: ignore[arg-type]


@given(fps=FPS, rate=RATES, a=st.integers(0, 3000), b=st.integers(1, 3000))
def test_slice_keeps_streams_aligned(fps: Fraction, rate: int, a: int, b: int) -> None:
    clip = make_clip(fps, rate)
    lo = a / 1000
    hi = min(lo + b / 1000, 4.0)
    part = clip.slice(lo, hi)
    if part.has_video and part.has_audio:
        assert abs(Fraction(part.first_frame) / fps - Fraction(part.first_sample, rate)) <= Fraction(
            1, 2 * rate
        )
        end_v = Fraction(part.first_frame + part.num_frames) / fps
        end_a = Fraction(part.first_sample + part.num_samples, rate)
        assert abs(end_v - end_a) <= Fraction(1, 2 * rate) or end_a == Fraction(4 * rate, rate)
    if part.has_video:  # every kept frame lies in the window, and no frame of the window is lost
        times = part.frame_times()
        assert times[0] >= lo - 1e-9 and times[-1] < hi
        k0, k1 = window_indices(lo, hi, fps)
        assert part.num_frames == min(k1, clip.num_frames) - k0
        np.testing.assert_array_equal(
            part.require_frames()[:, 0, 0, 0],
            np.arange(part.first_frame, part.first_frame + part.num_frames) % 256,
        )
    if part.has_audio:  # the waveform holds its own sample indices: positions are exact
        np.testing.assert_array_equal(
            part.require_waveform()[0], np.arange(part.first_sample, part.first_sample + part.num_samples)
        )


@given(fps=FPS, rate=RATES, a=st.integers(0, 1000), b=st.integers(1000, 2000), c=st.integers(2000, 4000))
def test_slices_compose(fps: Fraction, rate: int, a: int, b: int, c: int) -> None:
    clip = make_clip(fps, rate)
    once = clip.slice(a / 1000, c / 1000)
    twice = once.slice(once.start, once.end)
    assert (twice.first_frame, twice.num_frames, twice.first_sample, twice.num_samples) == (
        once.first_frame,
        once.num_frames,
        once.first_sample,
        once.num_samples,
    )


def test_offset_streams_and_windows() -> None:
    clip = make_clip(Fraction(25), 16000, first_sample=4800)  # audio starts 0.3 s after the video
    assert clip.video_start == 0.0 and clip.audio_start == pytest.approx(0.3)
    assert clip.duration == pytest.approx(4.3)
    head = clip.slice(0.0, 0.2)
    assert head.has_video and not head.has_audio  # no audio exists before 0.3 s: absent, not zeros
    with pytest.raises(WindowError, match="outside"):
        clip.slice(4.0, 4.5)
    with pytest.raises(WindowError, match="empty"):
        clip.slice(1.0, 1.0)


def test_audio_window_rule() -> None:
    assert audio_window(0.5, 1.0, 25, 16000) == (8320, 16000)  # frame boundaries 13/25 s and 25/25 s
    assert audio_window(0.5, 1.0, None, 16000) == (8000, 16000)
    assert audio_window(0.01, 0.02, 25, 16000) == (160, 320)  # no frame time inside: the window itself


def test_validation_messages() -> None:
    with pytest.raises(ValueError, match="needs frames, a waveform"):
        AVClip()
    with pytest.raises(ValueError, match=r"\[T, H, W, 3\]"):
        AVClip(frames=np.zeros((2, 4, 4), np.uint8), fps=25)
    with pytest.raises(TypeError, match="uint8"):
        AVClip(frames=np.zeros((2, 4, 4, 3), np.float32), fps=25)
    with pytest.raises(ValueError, match="without fps"):
        AVClip(frames=np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="sample_rate"):
        AVClip(waveform=np.zeros((1, 4), np.float32))
    with pytest.raises(TypeError, match="float32"):
        AVClip(waveform=np.zeros((1, 4), np.float64), sample_rate=16000)
    audio_only = AVClip(waveform=np.zeros((1, 16000), np.float32), sample_rate=16000)
    with pytest.raises(MissingStreamError, match="no video"):
        audio_only.require_frames()
    assert audio_only.frames is None and audio_only.num_frames == 0 and audio_only.fps is None
