"""The viewer's media: PNGs decoded by FFmpeg, envelopes, spectrogram peaks, inline or beside the page."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import av
import numpy as np
import pytest

from avikit.eval.viewer_media import MediaSink, envelope, png_bytes, spectrogram_png


def _decode(data: bytes, fmt: str) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:  # FFmpeg's PNG decoder: an independent reader
        return next(container.decode(video=0)).to_ndarray(format=fmt)


@pytest.mark.parametrize(("shape", "fmt"), [((5, 7), "gray"), ((5, 7, 3), "rgb24"), ((5, 7, 4), "rgba")])
def test_png_round_trips_through_ffmpeg(shape: tuple[int, ...], fmt: str) -> None:
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert np.array_equal(_decode(png_bytes(image), fmt), image)  # PNG is lossless: exact


def test_envelope_is_the_min_and_max_of_each_bin() -> None:
    wave = np.array([[0.1, -0.4, 0.3, 0.2, -0.1, 0.0]], np.float32)
    assert envelope(wave, 3) == [[-0.4, 0.1], [0.2, 0.3], [-0.1, 0.0]]


def test_spectrogram_of_silence_is_white() -> None:
    image = _decode(spectrogram_png(np.zeros((2, 4000), np.float32), 16000, height=8, width=10), "gray")
    assert image.shape == (8, 10) and (image == 255).all()  # nothing to hear: not drawn as loud


def test_spectrogram_of_a_tone_is_darkest_at_its_frequency() -> None:
    rate, tone = 16000, 2000.0
    wave = np.sin(2 * np.pi * tone * np.arange(rate) / rate)[None].astype(np.float32)
    image = _decode(spectrogram_png(wave, rate, height=80, width=50), "gray")
    row = int(np.argmin(image.mean(axis=1)))  # loud is dark; row 0 is the top (Nyquist)
    expected = 80 - 1 - int(tone / (rate / 2) * 80)
    assert abs(row - expected) <= 1  # one row of 100 Hz: the bin edges round


def test_media_sink_embeds_small_files_and_writes_large_ones_beside(tmp_path: Path) -> None:
    sink = MediaSink(tmp_path, inline_limit=10)
    small = sink.source(b"12345", "image/png", "a.png")
    assert sink.source(b"12345", "image/png", "again.png") == small  # stored once
    large = sink.source(b"x" * 11, "video/mp4", "b.mp4")
    uri = sink.inline[small.removeprefix("inline:")]
    assert base64.b64decode(uri.split(",", 1)[1]) == b"12345" and uri.startswith("data:image/png;base64,")
    assert large == "viewer_media/b.mp4" and (tmp_path / large).read_bytes() == b"x" * 11
    assert (sink.inlined, sink.written) == (1, 1)


def test_viewer_clips_are_what_the_model_got_under_a_control() -> None:
    from avikit.eval.source import load_eval_data, load_sample_clip
    from avikit.eval.viewer import _clip
    from avikit.tasks import get_task

    data, task = load_eval_data(None, "test", 3, 0), get_task("avel")
    first, second = data.samples[0], data.samples[1]
    clean = load_sample_clip(first, None)
    _, muted = _clip(data, task, first.id, "audio_muted", {})
    assert np.array_equal(muted.frames, clean.frames) and not muted.waveform.any()
    _, swapped = _clip(data, task, first.id, "audio_swapped", {})
    assert np.array_equal(
        swapped.waveform, load_sample_clip(second, None).waveform
    )  # the next sample's audio
    assert np.array_equal(swapped.frames, clean.frames)
