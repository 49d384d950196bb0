"""Trivial baselines of the language tasks: the answer prior of the training questions, from the text alone.

:class:`TextPriorModel` answers each question with the most frequent training answer of the same question
*pattern* (the question with class names replaced by ``<class>``), falling back to the most frequent answer
of its kind. It never reads the media: it is the strongest blind answer a lookup table can give, the
baseline an AV-LLM's gain must be measured against, beside the blind LM (:func:`load_blind_lm`).

Example:
    >>> model = TextPriorModel.fit([("Is there a sound of a dog? Answer yes or no.", "yes"),
    ...                             ("Is there a sound of a cow? Answer yes or no.", "yes"),
    ...                             ("Is there a sound of a cat? Answer yes or no.", "no")])
    >>> model.answer("Is there a sound of a bee? Answer yes or no.")
    'yes'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from avikit.data.instructions import build_instructions
from avikit.data.synth.classes import CLASS_NAMES
from avikit.data.synth.ground_truth import build_targets
from avikit.data.synth.questions import build_questions
from avikit.data.synth.scene import sample_scene
from avikit.models.encoders.trunk_encoding import MediaItem
from avikit.tasks import Task
from avikit.tasks.language import LANGUAGE_TASKS

__all__ = ["TextPriorModel", "load_text_prior", "question_pattern"]

_CLASSES = re.compile(r"\b(" + "|".join(sorted(CLASS_NAMES, key=len, reverse=True)) + r")\b")


def question_pattern(question: str) -> str:
    """The question with every class name replaced by ``<class>`` (and options text removed)."""
    text = _CLASSES.sub("<class>", re.sub(r"\([A-D]\) [^(]*", "", question)).strip()
    return text.replace("an <class>", "a <class>")


class TextPriorModel:
    """The most frequent training answer of each question pattern (blind by construction)."""

    tasks: tuple[str, ...] = LANGUAGE_TASKS

    def __init__(self, table: dict[str, str], fallback: str, model_id: str = "text-prior") -> None:
        self.table, self.fallback, self.id = table, fallback, model_id
        self.weights_hash = "none"

    @classmethod
    def fit(cls, pairs: Iterable[tuple[str, str]], model_id: str = "text-prior") -> TextPriorModel:
        """Count answers per question pattern over ``(question, answer)`` pairs."""
        counts: dict[str, Counter[str]] = {}
        overall: Counter[str] = Counter()
        for question, answer in pairs:
            counts.setdefault(question_pattern(question), Counter())[answer] += 1
            overall[answer] += 1
        table = {pattern: c.most_common(1)[0][0] for pattern, c in counts.items()}
        return cls(table, overall.most_common(1)[0][0] if overall else "", model_id)

    def answer(self, question: str) -> str:
        """The prior answer of ``question``."""
        return self.table.get(question_pattern(question), self.fallback)

    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Prior answers, from the question text only."""
        return [{"id": item.id, "answers": [self.answer(q) for q in item.inputs.text]} for item in batch]


def load_text_prior(clips: int = 400, seed: int = 0) -> TextPriorModel:
    """The prior of AVSynth ``train`` clips ``0 .. clips - 1`` (ground truth only, nothing rendered)."""
    pairs = []
    for index in range(clips):
        targets = build_targets(sample_scene("train", index, seed))
        targets["qa"] = build_questions(targets)
        pairs += [(r.question, r.answer) for r in build_instructions(targets, f"train_{index:06d}", "train")]
    return TextPriorModel.fit(pairs)
