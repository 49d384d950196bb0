"""Audio-visual question answering (MUSIC-AVQA question types), with temporal evidence.

Each clip has several questions (``inputs.text``); a prediction answers each with a word and may point at
the evidence: the time span that supports the answer. Accuracy follows MUSIC-AVQA (per type, per modality,
overall); ``evidence_iou`` is the mean temporal IoU of the given spans with the true evidence (a question
without a span scores 0; two empty spans agree).

Example:
    >>> from avikit.data.synth import generate
    >>> sample, _ = generate("test", 1)
    >>> AVQATask().build_inputs(sample).text[0]
    'How many sound sources are heard throughout the video?'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.sample import Sample
from avikit.data.synth.classes import CLASS_NAMES
from avikit.errors import UsageError
from avikit.metrics import compute_avqa_scores, compute_avqa_statistics
from avikit.metrics.avqa import AVQA_QUESTION_TYPES, compute_evidence_iou
from avikit.tasks.base import Evaluation, Protocol, Task, TaskInputs, TaskSpec, item_samples, mean_values
from avikit.tasks.schema import FieldSpec

__all__ = ["AVQA_ANSWERS", "AVQATask"]

AVQA_ANSWERS: tuple[str, ...] = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "yes",
    "no",
    "left",
    "middle",
    "right",
    *CLASS_NAMES,
)
"""The closed answer vocabulary; any other answer string is scored as wrong."""


class AVQATask(Task):
    """MUSIC-AVQA accuracy per question type, per modality and overall, plus evidence IoU."""

    spec = TaskSpec(
        name="avqa",
        pillar="perception",
        family="question answering",
        version=1,
        benchmark="MUSIC-AVQA",
        description="Answer questions about what is heard and seen (counting, location, comparison, time) "
        "with one word each, and optionally the time span that supports the answer.",
        inputs=("audio", "video", "text"),
        protocol=Protocol(params={"answers": len(AVQA_ANSWERS), "evidence": "temporal IoU"}),
        target_schema={
            "answers": "the answer word of each question",
            "types": "the (modality, sub-type) of each question",
            "evidence": "the (start, end) seconds that support each answer",
        },
        prediction_schema=(
            FieldSpec("answers", "strings", ("Q",), None, "one answer word per question, in question order"),
            FieldSpec(
                "evidence",
                "spans",
                ("Q",),
                None,
                "optional: per question {start, end} in seconds, or null",
                required=False,
            ),
        ),
        metrics=(*AVQA_QUESTION_TYPES.values(), "audio", "visual", "audio_visual", "overall", "evidence_iou"),
        primary_metric="overall",
        unit="percent",
        resampling_unit="video",
    )

    def includes(self, sample: Sample) -> bool:
        """Test clips with at least one question."""
        return super().includes(sample) and bool(sample.target("qa"))

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """All frames, the whole audio and the questions."""
        geometry = self.check_rates(sample)
        questions = tuple(q["question"] for q in sample.target("qa"))
        size = (geometry.size, geometry.size)
        return TaskInputs(
            sample.id, tuple(range(geometry.num_frames)), (0, geometry.num_samples), size, text=questions
        )

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """Answers, types and evidence spans of the sample's questions."""
        qa = sample.target("qa")
        return {
            "answers": [q["answer"] for q in qa],
            "types": [tuple(q["type"]) for q in qa],
            "evidence": [(float(q["evidence"]["start"]), float(q["evidence"]["end"])) for q in qa],
        }

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """Q: the number of questions."""
        return {"Q": len(inputs.text)}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """MUSIC-AVQA accuracies (percent) and the evidence IoU (percent)."""
        index = {answer: k for k, answer in enumerate(AVQA_ANSWERS)}
        guesses = [index.get(a, len(AVQA_ANSWERS)) for p in predictions for a in p["answers"]]
        labels = [index[a] for t in targets for a in t["answers"]]
        types = [kind for t in targets for kind in t["types"]]
        if not labels:
            raise UsageError("the scored samples have no questions; nothing to score")
        logits = np.eye(len(AVQA_ANSWERS) + 1)[guesses]
        statistics = compute_avqa_statistics(logits, labels, types)
        iou = np.concatenate(
            [
                compute_evidence_iou(p.get("evidence") or [None] * len(t["evidence"]), t["evidence"])
                for p, t in zip(predictions, targets, strict=True)
            ]
        )
        scores = {**compute_avqa_scores(statistics), "evidence_iou": float(100 * iou.mean())}
        values = {
            "overall": mean_values(statistics["correct"], 100.0),
            "evidence_iou": mean_values(iou, 100.0),
        }
        questions = item_samples([len(t["answers"]) for t in targets])
        return Evaluation(scores, values, len(predictions), dict.fromkeys(values, questions))

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """The true answers and evidence."""
        evidence = [{"start": start, "end": end} for start, end in target["evidence"]]
        return {"id": inputs.sample_id, "answers": list(target["answers"]), "evidence": evidence}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """A uniformly random answer from the vocabulary per question, no evidence."""
        return {
            "id": inputs.sample_id,
            "answers": [AVQA_ANSWERS[int(rng.integers(len(AVQA_ANSWERS)))] for _ in inputs.text],
        }
