"""Offline avikit models run on a sliding window: the baseline way to make any clip model stream.

A ring buffer keeps the last ``window`` seconds of frames and samples (silence and black frames before the
stream began). Every ``hop`` seconds of stream clock the wrapped model runs on the buffer as one clip:

- :class:`WindowEventModel` (AVVP parsing): the classes heard in the newest second that were not heard in
  the second before start events (claimed onset: that second's start); the classes of the newest second
  answer ``now`` questions;
- :class:`WindowSyncModel` (offset classification on the last 5 s): after ``confirm`` runs in a row with an
  offset of ``threshold`` s or more, an alert; it re-arms once a run finds the streams in sync.

Example:
    >>> ring = Ring(seconds=2, fps=8, sample_rate=16000, channels=2, size=4)
    >>> ring.push(np.ones((8, 4, 4, 3), np.uint8), np.ones((2, 16000), np.float32))
    >>> ring.clip().frames[:, 0, 0, 0].tolist()[6:10], ring.clip().waveform.shape
    ([0, 0, 1, 1], (2, 32000))
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from avikit.media import AVClip
from avikit.models.clip_items import clip_item, window_inputs
from avikit.models.protocol import Model
from avikit.models.registry import get_model
from avikit.models.streaming.answers import QuestionDesk
from avikit.models.streaming.protocol import Chunk, StreamEvent
from avikit.tasks import SYNC_OFFSETS, get_task

__all__ = ["Ring", "WindowEventModel", "WindowSyncModel"]


class Ring:
    """The last ``seconds`` of frames ``[T, S, S, 3]`` and audio ``[C, N]`` (zeros before the start)."""

    def __init__(self, seconds: int, fps: int, sample_rate: int, channels: int, size: int) -> None:
        self.fps, self.sample_rate = fps, sample_rate
        self.frames = np.zeros((seconds * fps, size, size, 3), np.uint8)
        self.audio = np.zeros((channels, seconds * sample_rate), np.float32)

    def push(self, frames: np.ndarray, audio: np.ndarray) -> None:
        """Append new frames and samples, dropping the oldest (fixed memory)."""
        for buffer, new, axis in ((self.frames, frames, 0), (self.audio, audio, 1)):
            n = min(new.shape[axis], buffer.shape[axis])
            kept = np.take(buffer, np.arange(n, buffer.shape[axis]), axis=axis)
            tail = np.take(new, np.arange(new.shape[axis] - n, new.shape[axis]), axis=axis)
            buffer[...] = np.concatenate([kept, tail], axis=axis)

    def clip(self) -> AVClip:
        """The buffer as a clip."""
        return AVClip(self.frames.copy(), self.audio.copy(), self.fps, self.sample_rate)


class _Windowed:
    """The ring, the clock and when to run next."""

    window = 10
    model_name = "avvp"

    def __init__(self, hop: float, model: Model | None = None) -> None:
        self.hop = Fraction(hop).limit_denominator(1000)
        self._model = model
        self.reset(8, 16000)

    @property
    def model(self) -> Model:
        if self._model is None:
            self._model = get_model(self.model_name)
        return self._model

    def reset(self, fps: int, sample_rate: int) -> None:
        """A new stream: empty ring, first run after one hop."""
        self.fps, self.sample_rate = fps, sample_rate
        self.ring: Ring | None = None
        self.next_run = self.hop
        self.desk = QuestionDesk()
        self._clear()

    def _clear(self) -> None:
        """Reset the subclass's own state."""

    def _push(self, chunk: Chunk) -> bool:
        """Add the chunk; whether the model should run now."""
        if self.ring is None:
            self.ring = Ring(
                self.window, chunk.fps, chunk.sample_rate, chunk.audio.shape[0], chunk.frames.shape[1]
            )
        self.ring.push(chunk.frames, chunk.audio)
        if chunk.end < self.next_run:
            return False
        self.next_run = chunk.end + self.hop
        return True


class WindowEventModel(_Windowed):
    """AVVP on the last 10 s, every ``hop`` s: new classes of the newest second are onsets."""

    weights_hash = "see wrapped model"

    def __init__(self, hop: float = 1.0, model: Model | None = None) -> None:
        super().__init__(hop, model)
        self.id = f"window-avvp(hop={float(self.hop):g}s)"

    def _clear(self) -> None:
        self.heard: set[str] = set()

    def step(self, chunk: Chunk) -> list[StreamEvent]:
        """Run AVVP when a hop has passed; emit onsets and answers."""
        events: list[StreamEvent] = []
        if self._push(chunk):
            assert self.ring is not None
            task = get_task("avvp")
            newest = set(
                self.model.predict(task, [clip_item(self.ring.clip(), "window", task)])[0]["audio"][-1]
            )
            start = float(chunk.end) - 1.0
            events = [StreamEvent("onset", label, max(start, 0.0)) for label in sorted(newest - self.heard)]
            self.heard = newest
        return events + self.desk.onsets(events) + self.desk.ask(chunk.questions, self.heard)


class WindowSyncModel(_Windowed):
    """Offset classification on the last 5 s every ``hop`` s; alerts on a confirmed offset."""

    window = 5
    model_name = "sync"
    weights_hash = "see wrapped model"

    def __init__(
        self, hop: float = 2.5, threshold: float = 0.4, confirm: int = 2, model: Model | None = None
    ) -> None:
        self.threshold, self.confirm = threshold, confirm
        super().__init__(hop, model)
        self.id = f"window-sync(hop={float(self.hop):g}s)"

    def _clear(self) -> None:
        self.run, self.armed = 0, True

    def step(self, chunk: Chunk) -> list[StreamEvent]:
        """Run the offset classifier when a hop has passed; alert once per drift."""
        if not self._push(chunk):
            return []
        assert self.ring is not None
        clip, task = self.ring.clip(), get_task("sync")
        logits = np.asarray(
            self.model.predict(task, [clip_item(clip, "window", task, window_inputs(clip, 0, 5))])[0][
                "logits"
            ]
        )
        offset = -float(SYNC_OFFSETS[int(np.argmax(logits))])  # class k reads the audio SYNC_OFFSETS[k] later
        off = abs(offset) >= self.threshold
        self.run = self.run + 1 if off else 0
        if not off:
            self.armed = True
        if self.armed and self.run >= self.confirm:
            self.armed = False
            return [StreamEvent("alert", answer=offset)]
        return []
