"""Answering timed questions from a streaming detector's state (shared by the streaming models).

A ``now`` question is answered at once with the classes the detector holds active; a ``notify`` question
waits until the detector reports an onset of its class at or after the question's time.

Example:
    >>> from avikit.models.streaming.protocol import Question
    >>> desk = QuestionDesk()
    >>> desk.ask((Question("q1", 3.0, "notify", "Tell me when the dog sounds.", "dog"),), {"bell"})
    []
    >>> [e.question for e in desk.onsets([StreamEvent("onset", "dog", 4.0)])]
    ['q1']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from avikit.models.streaming.protocol import Question, StreamEvent

__all__ = ["QuestionDesk"]


class QuestionDesk:
    """Open ``notify`` questions, answered when a matching onset arrives."""

    def __init__(self) -> None:
        self.waiting: list[Question] = []

    def ask(self, questions: Sequence[Question], active: Iterable[str]) -> list[StreamEvent]:
        """Answer the ``now`` questions with ``active``; keep the ``notify`` ones."""
        out = []
        for q in questions:
            if q.kind == "now":
                out.append(StreamEvent("answer", question=q.id, answer=sorted(set(active))))
            else:
                self.waiting.append(q)
        return out

    def onsets(self, events: Sequence[StreamEvent]) -> list[StreamEvent]:
        """Answers of the waiting questions that these onsets satisfy (each question once)."""
        out = []
        for e in events:
            for q in [q for q in self.waiting if q.label == e.label and (e.onset or 0.0) >= q.time - 0.5]:
                out.append(StreamEvent("answer", label=q.label, onset=e.onset, question=q.id, answer=q.label))
                self.waiting.remove(q)
        return out
