"""The three-domain audio corpus: speech, music and sound effects, plus mixtures of all three.

Every clip is made from ``(seed, split, domain, index)`` alone (random access, no clip depends on another):

- ``speech``: a sentence (:mod:`~avikit.data.audio_corpus.sentences`) spoken by espeak-ng
  (:mod:`~avikit.data.audio_corpus.speech`), placed at a random offset in the first 0.3 s; a sentence too long
  for the clip is drawn again without its ending;
- ``music``: a piece composed and rendered with fluidsynth (:mod:`~avikit.data.audio_corpus.music`);
- ``effects``: the sound of an AVSynth scene of the same split (:func:`avikit.data.synth.render_audio`, both
  channels averaged), its sounding classes and audio events kept;
- ``mixture``: one clip of each domain (drawn for the mixture, independent of the domain's own clips), each at
  the corpus level and then at the relative levels of :data:`MIX_LEVELS` (cycled by index), summed.

Each clip is mono, ``seconds`` long at ``sample_rate`` and scaled to an RMS of ``level_db`` dBFS (lowered
further if its peak would pass 0.99). Targets are JSON-able ground truth: the transcript and voice, the notes
and instruments, the sound classes and events, the components and their levels.

Example:
    >>> targets, waveform = make_clip("effects", "test", 0, seed=0, config=CorpusConfig(seconds=3))
    >>> targets["domain"], waveform.shape, waveform.dtype
    ('effects', (48000,), dtype('float32'))
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from avikit.data.audio_corpus.music import compose_piece, render_midi
from avikit.data.audio_corpus.speech import draw_utterance, speak
from avikit.data.synth.audio import render_audio
from avikit.data.synth.ground_truth import build_targets
from avikit.data.synth.scene import SynthConfig, sample_scene
from avikit.errors import DataError, UsageError

__all__ = ["CORPUS_VERSION", "DOMAINS", "MIX_LEVELS", "CorpusConfig", "corpus_rng", "make_clip"]

CORPUS_VERSION = 1
"""Version of the generator: it changes whenever the same arguments could make other audio."""

DOMAINS = ("speech", "music", "effects", "mixture")
"""The corpus's domains; ``mixture`` sums one clip of each of the three others."""

MIX_LEVELS = (
    {"speech": 0.0, "music": -6.0, "effects": -12.0},
    {"speech": -6.0, "music": 0.0, "effects": -12.0},
    {"speech": -6.0, "music": -12.0, "effects": 0.0},
)
"""Relative levels (dB) of the components of mixture ``index``: ``MIX_LEVELS[index % 3]``."""

_SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class CorpusConfig:
    """Clip length, sample rate and level of every clip.

    Attributes:
        seconds: clip length in whole seconds (3 or more, so that a sentence fits).
        sample_rate: Hz.
        level_db: RMS of each clip in dB relative to full scale.
    """

    seconds: int = 4
    sample_rate: int = 16000
    level_db: float = -20.0

    def __post_init__(self) -> None:
        if not isinstance(self.seconds, int) or self.seconds < 3:
            raise UsageError(f"seconds must be a whole number >= 3, got {self.seconds!r}")
        if not 8000 <= self.sample_rate <= 48000:
            raise UsageError(f"sample_rate must lie in [8000, 48000] Hz, got {self.sample_rate}")
        if not -60 <= self.level_db <= -3:
            raise UsageError(f"level_db must lie in [-60, -3] dBFS, got {self.level_db}")

    @property
    def num_samples(self) -> int:
        """Samples per clip."""
        return self.seconds * self.sample_rate


def corpus_rng(seed: int, *keys: object) -> np.random.Generator:
    """A numpy Generator seeded by a SHA-256 of ``(CORPUS_VERSION, seed, *keys)``.

    Example:
        >>> first, again = corpus_rng(0, "test", "music", 1), corpus_rng(0, "test", "music", 1)
        >>> int(first.integers(99)) == int(again.integers(99))
        True
    """
    text = "/".join(["audio-corpus", str(CORPUS_VERSION), str(seed), *map(str, keys)])
    digest = hashlib.sha256(text.encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "little")))


def _level(waveform: np.ndarray, level_db: float) -> np.ndarray:
    """Scale to an RMS of ``level_db`` dBFS, or less so that the peak stays at or below 0.99."""
    rms, peak = (
        float(np.sqrt(np.mean(np.square(waveform, dtype=np.float64)))),
        float(np.max(np.abs(waveform))),
    )
    if rms == 0.0:
        raise DataError("a corpus clip came out silent; the generator or an installed tool is broken")
    gain = min(10 ** (level_db / 20) / rms, 0.99 / peak)
    return (waveform * gain).astype(np.float32)


def _speech(rng: np.random.Generator, config: CorpusConfig) -> tuple[dict[str, Any], np.ndarray]:
    margin = int(0.3 * config.sample_rate)
    for attempt in range(6):
        utterance = draw_utterance(rng, num_parts=4 if attempt < 3 else 3)
        voice = speak(utterance.text, utterance.voice, utterance.speed, utterance.pitch, config.sample_rate)
        if len(voice) <= config.num_samples - margin:
            break
    else:
        raise DataError(f"no sentence fits a {config.seconds} s clip after 6 draws; use more seconds")
    onset = int(rng.integers(0, margin + 1))
    waveform = np.zeros(config.num_samples, np.float32)
    waveform[onset : onset + len(voice)] = voice
    targets = {
        **asdict(utterance),
        "transcript": utterance.text,
        "speech_start": onset / config.sample_rate,
        "speech_end": (onset + len(voice)) / config.sample_rate,
    }
    del targets["text"]
    return targets, waveform


def _music(rng: np.random.Generator, config: CorpusConfig) -> tuple[dict[str, Any], np.ndarray]:
    piece = compose_piece(rng, float(config.seconds))
    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    targets = {
        "key": f"{names[piece.tonic]} {piece.mode}",
        "tempo": piece.tempo,
        "instruments": [{k: t[k] for k in ("role", "program", "name", "is_drum")} for t in piece.tracks],
        "notes": {t["role"]: t["notes"] for t in piece.tracks},
    }
    return targets, render_midi(piece, config.sample_rate)


def _effects(split: str, index: int, seed: int, config: CorpusConfig) -> tuple[dict[str, Any], np.ndarray]:
    synth = SynthConfig(duration=Fraction(config.seconds), sample_rate=config.sample_rate)
    scene = sample_scene(split, index, seed, synth)
    truth = build_targets(scene)
    targets = {
        "avsynth": {"split": split, "index": index, "seed": seed},
        "labels": truth["sounding_classes"],
        "events": truth["events"]["audio"],
    }
    return targets, render_audio(scene).mean(0)


def _component(
    domain: str, split: str, index: int, seed: int, config: CorpusConfig, stream: str
) -> tuple[dict[str, Any], np.ndarray]:
    rng = corpus_rng(seed, split, stream, domain, index)
    if domain == "speech":
        return _speech(rng, config)
    if domain == "music":
        return _music(rng, config)
    synth_index = index if stream == "clip" else 10**6 + index  # mixtures use AVSynth scenes clips never use
    return _effects(split, synth_index, seed, config)


def make_clip(
    domain: str, split: str, index: int, seed: int = 0, config: CorpusConfig | None = None
) -> tuple[dict[str, Any], np.ndarray]:
    """Make clip ``index`` of ``domain`` in ``split``: its targets and waveform ``float32 [seconds * rate]``.

    Raises:
        UsageError: an unknown domain or split, or a negative index.
        MissingDependencyError: espeak-ng, fluidsynth or the soundfont is not installed.
    """
    config = config or CorpusConfig()
    if domain not in DOMAINS or split not in _SPLITS or index < 0:
        raise UsageError(
            f"need a domain in {DOMAINS}, a split in {_SPLITS} and an index >= 0; "
            f"got {domain!r}, {split!r}, {index}"
        )
    head = {"domain": domain, "duration": config.seconds}
    if domain != "mixture":
        targets, waveform = _component(domain, split, index, seed, config, "clip")
        return {**head, **targets}, _level(waveform, config.level_db)
    levels = MIX_LEVELS[index % len(MIX_LEVELS)]
    components, total = {}, np.zeros(config.num_samples, np.float64)
    for part, level in levels.items():
        targets, waveform = _component(part, split, index, seed, config, "mixture")
        components[part] = targets
        total += _level(waveform, config.level_db) * 10 ** (level / 20)
    return {**head, "levels_db": dict(levels), "components": components}, _level(
        total.astype(np.float32), config.level_db
    )
