"""The trivial streaming baseline: never reports an event or an alert, answers ``now`` with nothing.

Example:
    >>> SilentModel().id
    'silent'
"""

from __future__ import annotations

from avikit.models.streaming.answers import QuestionDesk
from avikit.models.streaming.protocol import Chunk, StreamEvent

__all__ = ["SilentModel"]


class SilentModel:
    """Emits nothing; ``now`` questions get an empty answer, ``notify`` questions none."""

    id = "silent"
    weights_hash = "none"

    def reset(self, fps: int, sample_rate: int) -> None:
        """Nothing to forget."""

    def step(self, chunk: Chunk) -> list[StreamEvent]:
        """Only the empty answers."""
        return QuestionDesk().ask(chunk.questions, ())
