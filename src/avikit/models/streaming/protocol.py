"""What a streaming model is: ``reset`` once, then ``step(chunk) -> events`` as the media arrive.

A :class:`Chunk` holds the next stretch of the stream (read-only copies of its frames and samples, with
their exact positions on the stream's grids) and the questions asked during it. A model answers with
:class:`StreamEvent` records: an event onset it detected (``onset``, with the time it claims the event
began), an alert (``alert``) or an answer to a question (``answer``). The harness stamps every event with
the stream clock at the end of the chunk that produced it: a model cannot claim to have answered earlier.

Example:
    >>> import numpy as np
    >>> chunk = Chunk(np.zeros((4, 8, 8, 3), np.uint8), np.zeros((2, 8000), np.float32), 8, 16000, 0, 0)
    >>> float(chunk.start), float(chunk.end)
    (0.0, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Chunk", "Question", "StreamEvent", "StreamModel"]


@dataclass(frozen=True)
class Question:
    """A question asked at stream time ``time`` (seconds).

    Attributes:
        id: unique within the stream.
        time: when it is asked.
        kind: ``"now"`` (what is sounding now?) or ``"notify"`` (tell me when ``label`` sounds).
        text: the question in words.
        label: the class a ``notify`` question is about.
    """

    id: str
    time: float
    kind: str
    text: str
    label: str | None = None


@dataclass(frozen=True, eq=False)
class Chunk:
    """The next stretch of a stream: frames ``[t, H, W, 3]`` and audio ``[C, n]`` from the given positions."""

    frames: np.ndarray
    audio: np.ndarray
    fps: int
    sample_rate: int
    first_frame: int
    first_sample: int
    questions: tuple[Question, ...] = ()

    @property
    def start(self) -> Fraction:
        """Stream time of the chunk's first sample (seconds)."""
        return Fraction(self.first_sample, self.sample_rate)

    @property
    def end(self) -> Fraction:
        """Stream time just after the chunk's last sample: the stream clock once it has arrived."""
        return Fraction(self.first_sample + self.audio.shape[-1], self.sample_rate)


@dataclass(frozen=True)
class StreamEvent:
    """What a model emits: ``kind`` is ``"onset"``, ``"alert"`` or ``"answer"``.

    Attributes:
        kind: the event kind.
        label: the class (onsets, notify answers) or ``None``.
        onset: the stream time the model claims the event began (never after the clock).
        question: the id of the question answered.
        answer: the answer (a list of classes for ``now`` questions).
        time: the emission time, stamped by the harness (the stream clock).
    """

    kind: str
    label: str | None = None
    onset: float | None = None
    question: str | None = None
    answer: Any = None
    time: float | None = field(default=None, compare=False)


@runtime_checkable
class StreamModel(Protocol):
    """An incremental model."""

    id: str

    def reset(self, fps: int, sample_rate: int) -> None:
        """Forget everything; a new stream at these rates begins."""
        ...

    def step(self, chunk: Chunk) -> list[StreamEvent]:
        """Consume the next chunk; return what to emit now."""
        ...
