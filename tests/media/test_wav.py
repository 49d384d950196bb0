"""The direct read of WAV sidecars equals FFmpeg's decode of the same file, to the bit, without opening it."""

from __future__ import annotations

import importlib
import struct
from pathlib import Path

import numpy as np
import pytest

from avikit.media import AVClip, load, probe, save
from avikit.media._wav import read_wav_header
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
    header = read_wav_header(packed.audio)
    assert header is not None
    direct = header.read(samples)
    assert direct.dtype == np.float32 and np.array_equal(direct, _ffmpeg(packed.audio, samples))


@pytest.mark.parametrize(("seconds", "channels"), [(3.0, 2), (0.3217, 1), (1.00003, 2)])
def test_the_header_describes_the_stream_as_ffmpeg_does(
    tmp_path: Path, seconds: float, channels: int
) -> None:
    path = save(
        AVClip(waveform=noise_waveform(round(seconds * RATE), channels), sample_rate=RATE), tmp_path / "a.wav"
    )
    header = read_wav_header(path)
    assert header is not None and header.info() == probe(path).audio


def test_a_sidecar_load_reads_directly_and_equals_the_decoder(packed, monkeypatch) -> None:
    opened: list[str] = []
    module = importlib.import_module("avikit.media.load")
    real_open = module.open_input

    def counted(path: str | Path):  # the context manager open_input returns
        opened.append(Path(path).suffix)
        return real_open(path)

    monkeypatch.setattr(module, "open_input", counted)
    clip = load(packed.video, 0.4, 1.6, audio_path=packed.audio)
    assert opened == [".mp4"]  # the WAV is read without FFmpeg
    window = (clip.first_sample, clip.first_sample + clip.num_samples)
    assert np.array_equal(clip.require_waveform(), _ffmpeg(packed.audio, window))
    monkeypatch.setattr(module, "read_wav_header", lambda path: None)  # the decoder for the same load
    opened.clear()
    assert np.array_equal(load(packed.video, 0.4, 1.6, audio_path=packed.audio).waveform, clip.waveform)
    assert opened == [".mp4", ".wav"]


def test_other_files_are_left_to_ffmpeg(tmp_path: Path, packed) -> None:
    matroska = save(AVClip(waveform=noise_waveform(800, 1), sample_rate=RATE), tmp_path / "a.mkv")
    assert read_wav_header(matroska) is None and read_wav_header(packed.video) is None
    data = bytearray(packed.audio.read_bytes())
    data[34:36] = (24).to_bytes(2, "little")  # 24-bit samples
    (tmp_path / "s24.wav").write_bytes(data)
    assert read_wav_header(tmp_path / "s24.wav") is None
    (tmp_path / "short.wav").write_bytes(packed.audio.read_bytes()[:-100])  # a data chunk past the end
    assert read_wav_header(tmp_path / "short.wav") is None


def test_a_sidecar_at_another_rate_or_layout_still_loads_through_the_decoder(packed) -> None:
    for rate, channels in ((8000, 1), (RATE, 1), (8000, 2)):
        clip = load(packed.video, audio_path=packed.audio, sample_rate=rate, channels=channels)
        reference = load(packed.audio, sample_rate=rate, channels=channels).require_waveform()
        assert clip.sample_rate == rate and np.array_equal(
            clip.require_waveform(), reference[:, : clip.num_samples]
        )


def test_a_reader_opens_the_sidecar_with_ffmpeg_only_when_it_must(packed) -> None:
    from avikit.media import MediaReader

    with MediaReader(packed.video, packed.audio) as reader:
        direct = reader.load(0.2, 1.0)
        assert reader._audio_container is None  # no FFmpeg for the WAV so far
        mono = reader.load(0.2, 1.0, channels=1)
        again = reader.load(0.2, 1.0, audio=False)
    np.testing.assert_array_equal(mono.require_waveform(), load(packed.audio, 0.2, 1.0, channels=1).waveform)
    assert direct.num_samples == mono.num_samples and again.waveform is None


def _extensible_wav(path: Path, pcm: np.ndarray, rate: int) -> Path:
    """A WAVE_FORMAT_EXTENSIBLE file with an odd-sized chunk before ``data`` (written by hand, as other
    tools do: the parser must follow the extensible format's sub-format and the chunk padding)."""
    channels = pcm.shape[0]
    guid = bytes.fromhex("0100000000001000800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_PCM
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * 2 * channels, 2 * channels, 16, 22, 16, 3)
    data = pcm.T.astype("<i2").tobytes()
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt + guid)) + fmt + guid
    body += b"LIST" + struct.pack("<I", 5) + b"INFOx\x00" + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def test_an_extensible_wav_with_a_padded_chunk_reads_like_ffmpeg(tmp_path: Path) -> None:
    pcm = np.random.default_rng(1).integers(-32768, 32767, (2, 1001), dtype=np.int16)
    path = _extensible_wav(tmp_path / "ext.wav", pcm, RATE)
    header = read_wav_header(path)
    assert header is not None and (header.channels, header.num_samples) == (2, 1001)
    assert header.info() == probe(path).audio
    reference = load(path).require_waveform()  # FFmpeg's demuxer and decoder
    assert np.array_equal(header.read((0, 1001)), reference)
    assert np.array_equal(header.read((0, 1001)), pcm.astype(np.float32) / 32768)
