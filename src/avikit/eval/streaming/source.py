"""Streams of media: an AVSynth ``long`` clip (with its drift, if any) cut into chunks that cannot look ahead.

:func:`iter_chunks` walks a clip's grids and yields :class:`~avikit.models.streaming.Chunk` records holding
read-only *copies* of the next frames and samples (a model never gets a view into the rest of the stream),
cut at every chunk boundary and at every question's time, so a question arrives exactly when the stream
clock reaches it and the data before it is all the model has.

Example:
    >>> import numpy as np
    >>> from avikit.media import AVClip
    >>> clip = AVClip(np.zeros((16, 4, 4, 3), np.uint8), np.zeros((1, 32000), np.float32), 8, 16000)
    >>> [(float(c.start), float(c.end)) for c in iter_chunks(clip, Fraction(1, 2))][:2]
    [(0.0, 0.5), (0.5, 1.0)]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction

import numpy as np

from avikit.data.synth import generate
from avikit.media import AVClip
from avikit.models.streaming.protocol import Chunk, Question
from avikit.tasks.streaming import StreamRef

__all__ = ["concatenate_clips", "iter_chunks", "stream_clip"]


def stream_clip(ref: StreamRef) -> AVClip:
    """The stream's media; with a drift, the audio from ``drift_time`` on is shifted by ``drift_ms``."""
    _, clip = generate(ref.split, ref.index, ref.seed)  # type: ignore[misc]
    if ref.drift_time is None:
        return clip
    wave = clip.require_waveform()
    rate = clip.sample_rate or 16000
    start, shift = round(ref.drift_time * rate), round(ref.drift_ms * rate / 1000)
    source = np.arange(start, wave.shape[1]) - shift  # audio later by `shift` samples
    drifted = wave.copy()
    drifted[:, start:] = np.where(
        (source >= 0) & (source < wave.shape[1]), wave[:, np.clip(source, 0, wave.shape[1] - 1)], 0
    )
    return clip.with_waveform(drifted)


def concatenate_clips(clips: Sequence[AVClip]) -> AVClip:
    """One clip made of several in a row (same rates)."""
    frames = np.concatenate([c.require_frames() for c in clips])
    audio = np.concatenate([c.require_waveform() for c in clips], axis=1)
    return AVClip(frames, audio, clips[0].fps, clips[0].sample_rate)


def _read_only(array: np.ndarray) -> np.ndarray:
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy


def iter_chunks(clip: AVClip, chunk_seconds: Fraction, questions: Sequence[Question] = ()) -> Iterator[Chunk]:
    """Chunks of ``chunk_seconds``, also cut at question times: a question arrives as its chunk ends."""
    fps, rate = int(clip.fps or 0), int(clip.sample_rate or 0)
    frames, audio = clip.require_frames(), clip.require_waveform()
    duration = Fraction(audio.shape[1], rate)
    cuts = {Fraction(k) * chunk_seconds for k in range(1, int(duration / chunk_seconds) + 1)}
    cuts |= {Fraction(q.time).limit_denominator(rate) for q in questions if 0 < q.time <= duration}
    cuts.add(duration)
    start = Fraction(0)
    for end in sorted(c for c in cuts if c <= duration):
        a, b = int(start * rate), int(end * rate)
        fa, fb = -((-start * fps) // 1), -((-end * fps) // 1)  # frames shown in [start, end): exact ceilings
        asked = tuple(q for q in questions if start < Fraction(q.time).limit_denominator(rate) <= end)
        yield Chunk(_read_only(frames[fa:fb]), _read_only(audio[:, a:b]), fps, rate, fa, a, asked)
        start = end
