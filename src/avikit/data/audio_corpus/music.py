"""The music domain: pieces composed as MIDI (melody, chords, drums) and rendered with a GM soundfont.

:func:`compose_piece` draws a key (tonic and major or minor), a tempo (80-140 beats per minute) and three
instruments: a General MIDI melody instrument, a chord instrument and the drum kit. The chords follow a
diatonic progression, one chord per bar of four beats; the melody is monophonic, a random walk on the scale
in eighth and quarter notes, played louder than the chords so that it leads; the drums play kick, snare and
closed hi-hat. Every note is kept as ground truth (``[pitch, start, end, velocity]``, seconds).

:func:`render_midi` writes the piece as a standard MIDI file (``pretty_midi``) and renders it with
``fluidsynth`` through the FluidR3 General MIDI soundfont of the Debian package ``fluid-soundfont-gm`` (MIT
licence), chorus and reverb off, at the corpus rate.

Example:
    >>> import numpy as np
    >>> piece = compose_piece(np.random.default_rng(0), seconds=4.0)
    >>> sorted(track["role"] for track in piece.tracks)
    ['chords', 'drums', 'melody']
"""

from __future__ import annotations

import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.audio_corpus.tools import find_soundfont, run_program
from avikit.errors import DataError

__all__ = ["CHORD_PROGRAMS", "MELODY_PROGRAMS", "Piece", "compose_piece", "piece_to_midi", "render_midi"]

MELODY_PROGRAMS = {73: "Flute", 40: "Violin", 56: "Trumpet", 71: "Clarinet", 65: "Alto Sax", 11: "Vibraphone"}
"""General MIDI programs (0-based) of the melody instruments."""

CHORD_PROGRAMS = {
    0: "Acoustic Grand Piano",
    4: "Electric Piano 1",
    48: "String Ensemble 1",
    24: "Nylon Guitar",
}
"""General MIDI programs of the chord instruments."""

_MAJOR, _MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)
_PROGRESSIONS = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3), (5, 3, 0, 4))
_KICK, _SNARE, _HAT = 36, 38, 42


@dataclass(frozen=True)
class Piece:
    """A composed piece: key, tempo and one track per role (JSON-able ground truth).

    Attributes:
        tonic: pitch class of the key (0 = C).
        mode: ``"major"`` or ``"minor"``.
        tempo: beats per minute.
        seconds: length; no note starts at or after it, and none ends after it.
        tracks: ``{"role", "program", "name", "is_drum", "notes": [[pitch, start, end, velocity], ...]}`` per
            role (``melody``, ``chords``, ``drums``), notes sorted by start, then pitch.
    """

    tonic: int
    mode: str
    tempo: float
    seconds: float
    tracks: tuple[dict[str, Any], ...]

    def melody(self) -> list[list[float]]:
        """The melody's notes ``[pitch, start, end, velocity]``."""
        return next(t["notes"] for t in self.tracks if t["role"] == "melody")


def _clip(notes: list[list[float]], seconds: float) -> list[list[float]]:
    """Cut notes at ``seconds``, round times to microseconds, drop notes left shorter than 20 ms."""
    rounded = [
        [int(p), round(s, 6), round(min(e, seconds), 6), int(v)]
        for p, s, e, v in sorted(notes, key=lambda n: (n[1], n[0]))
    ]
    return [note for note in rounded if note[2] - note[1] >= 0.02]


def _melody(rng: np.random.Generator, scale: list[int], beat: float, seconds: float) -> list[list[float]]:
    """A monophonic random walk on the scale (MIDI 60-84), eighth and quarter notes, velocity 90-110."""
    index, time, notes = len(scale) // 2, 0.0, []
    while time < seconds:
        length = beat * float(rng.choice([0.5, 1.0], p=[0.4, 0.6]))
        index = int(np.clip(index + rng.integers(-2, 3), 0, len(scale) - 1))
        notes.append([scale[index], time, time + 0.95 * length, int(rng.integers(90, 111))])
        time += length
    return notes


def _chords(
    rng: np.random.Generator, tonic: int, steps: tuple[int, ...], beat: float, seconds: float
) -> list[list[float]]:
    """Triads of a diatonic progression around C3-C5, one per bar of four beats, velocity 50-65."""
    progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    notes, bar = [], 0
    while bar * 4 * beat < seconds:
        degree = progression[bar % len(progression)]
        start = bar * 4 * beat
        for offset in (0, 2, 4):
            step = degree + offset
            pitch = 48 + tonic + steps[step % 7] + 12 * (step // 7)
            notes.append([pitch, start, start + 4 * beat * 0.98, int(rng.integers(50, 66))])
        bar += 1
    return notes


def _drums(rng: np.random.Generator, beat: float, seconds: float) -> list[list[float]]:
    """Kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on every eighth; velocity 60-90."""
    notes, eighth = [], 0
    while eighth * beat / 2 < seconds:
        start = eighth * beat / 2
        hits = [_HAT] + ([_KICK] if eighth % 8 in (0, 4) else []) + ([_SNARE] if eighth % 8 in (2, 6) else [])
        notes += [[pitch, start, start + 0.1, int(rng.integers(60, 91))] for pitch in hits]
        eighth += 1
    return notes


def compose_piece(rng: np.random.Generator, seconds: float) -> Piece:
    """Compose a piece of ``seconds``: key, tempo, instruments, melody, chords and drums from ``rng``."""
    tonic, mode = int(rng.integers(12)), ("major", "minor")[int(rng.integers(2))]
    steps = _MAJOR if mode == "major" else _MINOR
    tempo = float(rng.integers(80, 141))
    beat = 60.0 / tempo
    scale = [
        60 + tonic + steps[k % 7] + 12 * (k // 7)
        for k in range(14)
        if 60 + tonic + steps[k % 7] + 12 * (k // 7) <= 84
    ]
    melody_program = list(MELODY_PROGRAMS)[int(rng.integers(len(MELODY_PROGRAMS)))]
    chord_program = list(CHORD_PROGRAMS)[int(rng.integers(len(CHORD_PROGRAMS)))]
    tracks = (
        {
            "role": "melody",
            "program": melody_program,
            "name": MELODY_PROGRAMS[melody_program],
            "is_drum": False,
            "notes": _clip(_melody(rng, scale, beat, seconds), seconds),
        },
        {
            "role": "chords",
            "program": chord_program,
            "name": CHORD_PROGRAMS[chord_program],
            "is_drum": False,
            "notes": _clip(_chords(rng, tonic, steps, beat, seconds), seconds),
        },
        {
            "role": "drums",
            "program": 0,
            "name": "Standard Drum Kit",
            "is_drum": True,
            "notes": _clip(_drums(rng, beat, seconds), seconds),
        },
    )
    return Piece(tonic, mode, tempo, seconds, tracks)


def piece_to_midi(piece: Piece) -> Any:
    """The piece as a ``pretty_midi.PrettyMIDI`` (one instrument per track, the piece's tempo)."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=piece.tempo)
    for track in piece.tracks:
        instrument = pretty_midi.Instrument(track["program"], is_drum=track["is_drum"], name=track["role"])
        instrument.notes = [
            pretty_midi.Note(velocity=int(v), pitch=int(p), start=float(s), end=float(e))
            for p, s, e, v in track["notes"]
        ]
        midi.instruments.append(instrument)
    return midi


def render_midi(piece: Piece, sample_rate: int, gain: float = 0.6) -> np.ndarray:
    """Render ``piece`` with fluidsynth: mono float32 ``[round(seconds * sample_rate)]`` (zero-padded).

    Raises:
        MissingDependencyError: fluidsynth or the soundfont is not installed.
        DataError: fluidsynth wrote no audio or audio of another format.
    """
    soundfont = find_soundfont()
    with tempfile.TemporaryDirectory() as folder:
        midi_path, wav_path = Path(folder) / "piece.mid", Path(folder) / "piece.wav"
        piece_to_midi(piece).write(str(midi_path))
        run_program(
            [
                "fluidsynth",
                "-ni",
                "-q",
                "-R",
                "0",
                "-C",
                "0",
                "-g",
                str(gain),
                "-r",
                str(sample_rate),
                "-T",
                "wav",
                "-O",
                "s16",
                "-F",
                wav_path,
                soundfont,
                midi_path,
            ]
        )
        with wave.open(str(wav_path), "rb") as reader:
            rate, width, channels = reader.getframerate(), reader.getsampwidth(), reader.getnchannels()
            raw = reader.readframes(reader.getnframes())
    if rate != sample_rate or width != 2 or not raw:
        raise DataError(
            f"fluidsynth wrote {len(raw)} bytes at {rate} Hz, {8 * width}-bit; expected {sample_rate} Hz"
        )
    audio = np.frombuffer(raw, dtype="<i2").reshape(-1, channels).mean(1).astype(np.float32) / 32768.0
    length = round(piece.seconds * sample_rate)
    return np.pad(audio[:length], (0, max(0, length - len(audio))))
