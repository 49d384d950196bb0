"""A causal spectral-template event detector: the light streaming baseline, exact under any chunking.

Every hop of 1/8 s of the mono mix (a Hann-windowed spectrum) becomes a profile of log power in 32
log-spaced bands; the seen class whose template profile (made from the class's own synthesis,
:func:`avikit.data.synth.audio.class_sound`, at three pitches) correlates best with it is on in that hop,
if the correlation reaches ``similarity`` (0.5: 16 of the 21 seen classes' isolated sounds, at an unseen
pitch, in -40 dB noise, are named right at 0.5 and 7 at 0.6 or 0.7; chosen on those sounds, not on any split)
and the hop is louder than ``level_db``. A class
that is on for ``on_hops`` hops in a row starts an event (its onset is the first of those hops); one off
for ``off_hops`` hops ends it. Samples are buffered across chunks, so the output does not depend on how the
stream is cut (a test checks chunked against whole).

Example:
    >>> import numpy as np
    >>> from avikit.data.synth.audio import class_sound
    >>> from avikit.models.streaming.protocol import Chunk
    >>> model = BandOnsetModel()
    >>> model.reset(8, 16000)
    >>> audio = np.zeros((1, 32000), np.float32); audio[0, 16000:] = 0.3 * class_sound("gong", 16000)
    >>> chunk = Chunk(np.zeros((16, 8, 8, 3), np.uint8), audio, 8, 16000, 0, 0)
    >>> [(e.label, e.onset) for e in model.step(chunk)]
    [('gong', 1.0)]
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from avikit.data.synth.audio import class_sound
from avikit.data.synth.classes import SEEN_CLASSES
from avikit.models.streaming.answers import QuestionDesk
from avikit.models.streaming.protocol import Chunk, StreamEvent

__all__ = ["BandOnsetModel"]


_EDGES = np.geomspace(80.0, 7000.0, 33)


def _profile(power: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Log power in 32 log-spaced bands (80 Hz - 7 kHz), floored 30 dB under the peak, centred, unit norm."""
    index = np.clip(np.searchsorted(_EDGES, freqs) - 1, 0, 31)
    inside = (freqs >= _EDGES[0]) & (freqs < _EDGES[-1])
    bands = np.stack([power[..., inside & (index == b)].sum(-1) for b in range(32)], axis=-1)
    log = np.log10(bands + 1e-10)
    log = np.maximum(log, log.max(-1, keepdims=True) - 3.0)  # 30 dB below the peak band: the floor
    log = log - log.mean(-1, keepdims=True)
    return log / (np.linalg.norm(log, axis=-1, keepdims=True) + 1e-9)


@lru_cache(maxsize=4)
def _templates(hop: int, sample_rate: int) -> np.ndarray:
    """``[classes, 32]``: each seen class's band profile, averaged over three pitches."""
    freqs = np.fft.rfftfreq(hop, 1 / sample_rate)
    window = np.hanning(hop)
    rows = []
    for name in SEEN_CLASSES:
        power = np.zeros(len(freqs))
        for pitch in (0.85, 1.0, 1.18):
            sound = class_sound(name, 4 * hop, sample_rate, pitch=pitch).reshape(4, hop)
            power += (np.abs(np.fft.rfft(sound * window, axis=1)) ** 2).mean(0)
        rows.append(_profile(power, freqs))
    return np.asarray(rows)


class BandOnsetModel:
    """Band-contrast onsets of the seen classes; answers questions from its active set."""

    weights_hash = "none"

    def __init__(
        self, similarity: float = 0.5, level_db: float = -35.0, on_hops: int = 2, off_hops: int = 4
    ) -> None:
        self.similarity, self.level_db, self.on_hops, self.off_hops = similarity, level_db, on_hops, off_hops
        self.id = f"stream-bands(sim={similarity:g})"
        self.reset(8, 16000)

    def reset(self, fps: int, sample_rate: int) -> None:
        """Empty the buffer and the per-class counters."""
        self.sample_rate, self.hop = sample_rate, sample_rate // 8
        self.buffer = np.zeros(0, np.float32)
        self.done = 0  # samples consumed
        count = len(SEEN_CLASSES)
        self.run_on, self.run_off = np.zeros(count, np.int64), np.zeros(count, np.int64)
        self.active = np.zeros(count, bool)
        self.desk = QuestionDesk()

    def _hop(self, frame: np.ndarray) -> list[StreamEvent]:
        power = np.abs(np.fft.rfft(frame * np.hanning(len(frame)))) ** 2
        similarity = _templates(self.hop, self.sample_rate) @ _profile(
            power, np.fft.rfftfreq(self.hop, 1 / self.sample_rate)
        )
        best = int(np.argmax(similarity))
        loud = 10 * np.log10(np.mean(frame**2) + 1e-12) >= self.level_db
        on = np.zeros(len(similarity), bool)
        on[best] = loud and similarity[best] >= self.similarity
        self.run_on = np.where(on, self.run_on + 1, 0)
        self.run_off = np.where(on, 0, self.run_off + 1)
        events = []
        for k in np.flatnonzero(~self.active & (self.run_on >= self.on_hops)):
            onset = (self.done - (self.on_hops - 1) * self.hop) / self.sample_rate
            events.append(StreamEvent("onset", SEEN_CLASSES[k], round(onset, 6)))
        self.active = (self.active | (self.run_on >= self.on_hops)) & (self.run_off < self.off_hops)
        return events

    def step(self, chunk: Chunk) -> list[StreamEvent]:
        """Consume the chunk's audio hop by hop; answer its questions."""
        self.buffer = np.concatenate(
            [self.buffer, chunk.audio.mean(axis=0, dtype=np.float64).astype(np.float32)]
        )
        events: list[StreamEvent] = []
        while len(self.buffer) >= self.hop:
            frame, self.buffer = self.buffer[: self.hop], self.buffer[self.hop :]
            events += self._hop(frame.astype(np.float64))
            self.done += self.hop
        events += self.desk.onsets(events)
        active = [SEEN_CLASSES[k] for k in np.flatnonzero(self.active)]
        return events + self.desk.ask(chunk.questions, active)
