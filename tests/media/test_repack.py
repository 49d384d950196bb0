"""Real-media tests of the fast layout: keyframes on the grid, frames and audio against the original."""

from __future__ import annotations

import importlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from avikit.errors import UsageError
from avikit.media import AVClip, MediaReader, load, probe, save
from avikit.media._decode import FrameSelector
from avikit.media.repack import RepackSpec, repack

from .conftest import FPS, RATE, moving_frames, noise_waveform, psnr

SIXTEEN_BIT = 2.0**-15  # one step of 16-bit PCM: the sidecar rounds each sample to the nearest step


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s file, 25 fps 64x96 H.264 with 2 s GOPs and stereo AAC at 16 kHz."""
    clip = AVClip(frames=moving_frames(4 * FPS), waveform=noise_waveform(4 * RATE), fps=FPS, sample_rate=RATE)
    return save(clip, tmp_path_factory.mktemp("repack") / "source.mp4", keyframe_interval=2.0)


@pytest.fixture(scope="module")
def packed(source: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("packed")
    return repack(source, folder / "v.mp4", folder / "a", RepackSpec(size=(32, 48), sample_rate=8000))


def test_keyframes_lie_on_the_grid_and_a_1_fps_load_decodes_only_them(packed) -> None:
    with av.open(str(packed.video)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        keys = sorted(float(p.pts * p.time_base) for p in packets if p.is_keyframe)
        assert keys == [0.0, 1.0, 2.0, 3.0] and packed.keyframes == [0, 25, 50, 75]
        selector = FrameSelector(packed.video, stream, (0, 4), Fraction(1), None)
        for packet in packets:
            selector.add(packet)
        needed = selector._needed(set(selector._choose()))  # the packets a load at 1 fps decodes
    assert len(needed) == 4 and all(p.is_keyframe for p in needed)


def test_frames_keep_their_times_and_equal_the_original_within_the_reencode(source: Path, packed) -> None:
    original = load(source, fps=8, size=(32, 48))
    again = load(packed.video, fps=8)
    assert again.require_frames().shape == original.require_frames().shape == (32, 32, 48, 3)
    assert again.first_frame == original.first_frame == 0
    # 4:2:0 keeps chroma at half the output size; the 4-pixel colour bars measure 34.7 dB, x264 is bit-exact
    assert psnr(again.require_frames(), original.require_frames()) >= 33.0
    same_size = repack(
        source, packed.video.with_name("full.mp4"), packed.video.with_name("full"), RepackSpec()
    )
    # no scaling: only the CRF 18 encode differs (measured above 45 dB on these frames)
    assert psnr(load(same_size.video, fps=8).require_frames(), load(source, fps=8).require_frames()) >= 40.0


@pytest.mark.parametrize("window", [(None, None), (0.5, 1.0), (1.3, 1.0), (2.7, 1.2)])
def test_audio_sidecar_equals_the_original_to_16_bits(source: Path, packed, window) -> None:
    start, duration = window
    original = load(source, start, duration, sample_rate=8000)
    again = load(packed.video, start, duration, audio_path=packed.audio)
    assert (again.first_sample, again.num_samples) == (original.first_sample, original.num_samples)
    assert (again.first_frame, again.num_frames) == (original.first_frame, original.num_frames)
    np.testing.assert_allclose(
        again.require_waveform(), original.require_waveform(), atol=SIXTEEN_BIT, rtol=0
    )


def test_a_sidecar_cuts_like_slicing(packed) -> None:
    whole = load(packed.video, audio_path=packed.audio)
    part = load(packed.video, 1.2, 1.4, audio_path=packed.audio)
    expected = whole.slice(1.2, 2.6)
    assert np.array_equal(part.require_frames(), expected.require_frames())
    assert np.array_equal(part.require_waveform(), expected.require_waveform())
    assert (part.first_frame, part.first_sample) == (expected.first_frame, expected.first_sample)


def test_late_audio_keeps_its_start_in_a_matroska_sidecar(tmp_path: Path) -> None:
    offset = int(0.3 * RATE)
    clip = AVClip(frames=moving_frames(50), waveform=noise_waveform(RATE), fps=FPS, sample_rate=RATE,
                  first_sample=offset)  # fmt: skip
    source = save(clip, tmp_path / "late.mkv")
    done = repack(
        source, tmp_path / "v.mp4", tmp_path / "a", RepackSpec(sample_rate=None, audio_format="flac")
    )
    assert done.audio is not None and done.audio.suffix == ".mka"
    info = probe(done.audio).audio
    assert info is not None and info.codec == "flac" and info.start == pytest.approx(0.3, abs=1e-3)
    original, again = load(source), load(done.video, audio_path=done.audio)
    assert again.first_sample == original.first_sample == offset
    np.testing.assert_allclose(
        again.require_waveform(), original.require_waveform(), atol=SIXTEEN_BIT, rtol=0
    )


def test_spec_round_trips_and_refuses_bad_values() -> None:
    spec = RepackSpec(size=(224, 224), keyframe_fps=Fraction(1, 2), audio_format="flac", channels=1)
    assert RepackSpec.from_dict(spec.to_dict()) == spec
    for bad in ({"size": (223, 224)}, {"keyframe_fps": 0}, {"audio_format": "mp3"}, {"channels": 3}):
        with pytest.raises(UsageError):
            RepackSpec(**bad)


def _demuxed(monkeypatch: pytest.MonkeyPatch, grid_seek: bool) -> list[int]:
    """Spy on the packets each load's frame selector decodes from; ``grid_seek=False`` turns the keyframe
    seeks off, so that the window is demuxed whole (the reference path)."""
    module = importlib.import_module("avikit.media._decode")
    counts: list[int] = []
    real_decode = FrameSelector.decode

    def decode(self: FrameSelector) -> None:
        counts.append(len(self.packets))
        real_decode(self)

    monkeypatch.setattr(FrameSelector, "decode", decode)
    if not grid_seek:
        monkeypatch.setattr(module, "_index_grid_keyframes", lambda container, selector: False)
    return counts


@pytest.mark.parametrize("window", [(None, None), (0.0, 2.0), (1.0, 2.5), (0.5, 3.0)])
def test_a_1_fps_load_seeks_to_the_grid_keyframes_and_equals_the_whole_window_demux(
    packed, window, monkeypatch: pytest.MonkeyPatch
) -> None:
    start, duration = window
    with monkeypatch.context() as patch:
        reference_counts = _demuxed(patch, grid_seek=False)
        reference = load(packed.video, start, duration, fps=1, audio_path=packed.audio)
    counts = _demuxed(monkeypatch, grid_seek=True)
    clip = load(packed.video, start, duration, fps=1, audio_path=packed.audio)
    assert counts == [clip.num_frames] and reference_counts[0] > clip.num_frames  # one packet per frame
    assert np.array_equal(clip.require_frames(), reference.require_frames())
    assert np.array_equal(clip.require_waveform(), reference.require_waveform())
    assert (clip.first_frame, clip.first_sample) == (reference.first_frame, reference.first_sample)


@pytest.mark.parametrize("fps", [Fraction(1, 2), 1, 5])
def test_frames_off_the_keyframes_fall_back_to_the_window_demux(
    source: Path, fps: Fraction, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the source's keyframes (0, 1.8 and 3.8 s: x264 moves them to scene cuts) are on no grid but 0 s
    with monkeypatch.context() as patch:
        _demuxed(patch, grid_seek=False)
        reference = load(source, fps=fps, audio=False)
    counts = _demuxed(monkeypatch, grid_seek=True)
    clip = load(source, fps=fps, audio=False)
    assert np.array_equal(clip.require_frames(), reference.require_frames())
    assert counts[0] > clip.num_frames  # the whole window was demuxed


def test_a_reader_seeking_the_grid_keyframes_again_and_again_equals_single_loads(packed) -> None:
    windows = [(2.0, 2.0), (0.0, 3.0), (1.0, 1.0), (0.0, 4.0)]
    with MediaReader(packed.video, packed.audio) as reader:
        clips = [reader.load(start, duration, fps=1) for start, duration in windows]
    for clip, (start, duration) in zip(clips, windows, strict=True):
        single = load(packed.video, start, duration, fps=1, audio_path=packed.audio)
        assert np.array_equal(clip.require_frames(), single.require_frames())
        assert np.array_equal(clip.require_waveform(), single.require_waveform())
