"""The direct read of WAV sidecars equals FFmpeg's decode of the same file, to the bit."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from avikit.media import AVClip, load, save
from avikit.media._open import open_input
from avikit.media._wav import read_pcm_window
from avikit.media.repack import RepackSpec, repack

from .conftest import FPS, RATE, moving_frames, noise_waveform


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("wav")
    clip = AVClip(frames=moving_frames(3 * FPS), waveform=noise_waveform(3 * RATE), fps=FPS, sample_rate=RATE)
    source = save(clip, folder / "source.mp4", keyframe_interval=1.0)
    return repack(source, folder / "v.mp4", folder / "a", RepackSpec(size=(32, 48), channels=2))


def _ffmpeg(path: Path, samples: tuple[int, int]) -> np.ndarray:
    """The same samples through FFmpeg's decoder and resampler (the WAV loaded on its own)."""
    a, b = samples
    return load(path, a / RATE, (b - a) / RATE, sample_rate=RATE).require_waveform()


@pytest.mark.parametrize("samples", [(0, 3 * RATE), (1, 17), (4000, 20001), (3 * RATE - 5, 3 * RATE)])
def test_a_direct_read_equals_the_decoder_bit_for_bit(packed, samples: tuple[int, int]) -> None:
    with open_input(packed.audio) as container:
        direct = read_pcm_window(container, packed.audio, container.streams.audio[0], samples, RATE, 2)
    assert direct is not None and direct.dtype == np.float32
    assert np.array_equal(direct, _ffmpeg(packed.audio, samples))


def test_a_sidecar_load_reads_directly_and_equals_the_decoder(packed, monkeypatch) -> None:
    module = importlib.import_module("avikit.media.load")
    calls: list[np.ndarray | None] = []

    def counted(*args: object) -> np.ndarray | None:
        calls.append(read_pcm_window(*args))  # type: ignore[arg-type]
        return calls[-1]

    monkeypatch.setattr(module, "read_pcm_window", counted)
    clip = load(packed.video, 0.4, 1.6, audio_path=packed.audio)
    assert len(calls) == 1 and calls[0] is not None  # read directly
    window = (clip.first_sample, clip.first_sample + clip.num_samples)
    assert np.array_equal(clip.require_waveform(), _ffmpeg(packed.audio, window))
    monkeypatch.setattr(module, "read_pcm_window", lambda *args: None)  # the decoder for the same load
    assert np.array_equal(load(packed.video, 0.4, 1.6, audio_path=packed.audio).waveform, clip.waveform)


@pytest.mark.parametrize(
    ("samples", "rate", "channels"),
    [((0, 100), 8000, 2), ((0, 100), RATE, 1), ((0, 3 * RATE + 1), RATE, 2), ((-1, 10), RATE, 2)],
)
def test_another_rate_or_layout_or_a_window_past_the_end_is_left_to_the_decoder(
    packed, samples: tuple[int, int], rate: int, channels: int
) -> None:
    with open_input(packed.audio) as container:
        stream = container.streams.audio[0]
        assert read_pcm_window(container, packed.audio, stream, samples, rate, channels) is None


def test_a_sidecar_at_another_rate_still_loads_through_the_decoder(packed) -> None:
    clip = load(packed.video, audio_path=packed.audio, sample_rate=8000, channels=1)
    reference = load(packed.audio, sample_rate=8000, channels=1).require_waveform()
    assert clip.sample_rate == 8000 and np.array_equal(
        clip.require_waveform(), reference[:, : clip.num_samples]
    )
