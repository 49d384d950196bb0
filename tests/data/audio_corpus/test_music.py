"""The music domain: composition rules checked note by note, and fluidsynth's rendering against MIDI pitch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from avikit.data.audio_corpus.music import Piece, compose_piece, piece_to_midi, render_midi

_MAJOR, _MINOR = {0, 2, 4, 5, 7, 9, 11}, {0, 2, 3, 5, 7, 8, 10}


@pytest.mark.parametrize("seed", range(5))
def test_composition_follows_its_key_tempo_and_roles(seed):
    piece = compose_piece(np.random.default_rng(seed), seconds=4.0)
    scale = _MAJOR if piece.mode == "major" else _MINOR
    melody = piece.melody()
    assert all((pitch - piece.tonic) % 12 in scale for pitch, *_ in melody)  # diatonic melody
    assert all(a[2] <= b[1] for a, b in itertools.pairwise(melody))  # monophonic: no overlap
    assert 80 <= piece.tempo <= 140
    for track in piece.tracks:
        assert all(0 <= start < end <= 4.0 for _, start, end, _ in track["notes"])
    beat = 60.0 / piece.tempo
    drums = next(t for t in piece.tracks if t["role"] == "drums")["notes"]
    kicks = [start for pitch, start, *_ in drums if pitch == 36]
    assert np.allclose(
        np.array(kicks) / (2 * beat), np.round(np.array(kicks) / (2 * beat)), atol=1e-5
    )  # beats 1, 3
    assert min(v for *_, v in melody) > max(
        v for *_, v in next(t for t in piece.tracks if t["role"] == "chords")["notes"]
    )


def test_composition_is_a_function_of_the_random_stream():
    first, again = (compose_piece(np.random.default_rng(7), seconds=3.0) for _ in range(2))
    assert first == again


def test_midi_file_round_trips_the_notes(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    piece = compose_piece(np.random.default_rng(1), seconds=4.0)
    path = tmp_path / "piece.mid"
    piece_to_midi(piece).write(str(path))
    read = pretty_midi.PrettyMIDI(str(path))
    for track, instrument in zip(piece.tracks, read.instruments, strict=True):
        assert instrument.is_drum == track["is_drum"] and instrument.program == track["program"]
        got = sorted(
            [[n.pitch, n.start, n.end, n.velocity] for n in instrument.notes], key=lambda n: (n[1], n[0])
        )
        # MIDI stores ticks (220 per beat) and the tempo in whole microseconds per beat: within one tick
        assert np.allclose(np.array(got), np.array(track["notes"]), atol=60 / piece.tempo / 220)


def test_fluidsynth_renders_the_midi_pitch():
    # one flute A4 (MIDI 69) for 1.5 s: the spectral peak must be 440 Hz = 440 * 2 ** ((69 - 69) / 12)
    track = {
        "role": "melody",
        "program": 73,
        "name": "Flute",
        "is_drum": False,
        "notes": [[69, 0.0, 1.5, 100]],
    }
    piece = Piece(tonic=9, mode="major", tempo=120.0, seconds=2.0, tracks=(track,))
    audio = render_midi(piece, 16000)
    assert audio.shape == (32000,) and np.abs(audio).max() > 0.01
    window = audio[4000:20000] * np.hanning(16000)
    spectrum = np.abs(np.fft.rfft(window))
    assert abs(np.argmax(spectrum) - 440.0) <= 2.0  # 1 Hz bins; a flute's pitch is steady within 2 Hz
    assert np.sqrt(np.mean(audio[28000:] ** 2)) < 0.1 * np.sqrt(np.mean(audio[4000:20000] ** 2))  # note ended
