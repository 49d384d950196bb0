"""Audio-visual question answering (MUSIC-AVQA question types), with temporal evidence.

Each clip has several questions (``inputs.text``); a prediction answers each with a word and may point at
the evidence: the time span that supports the answer. Accuracy follows MUSIC-AVQA (per type, per modality,
overall); an answer outside the dataset's answers (its profile's ``"answers"``) is wrong, as an answer
class the official model cannot output. ``evidence_iou`` is the mean temporal IoU of the given spans with
the true evidence (a question without a span scores 0; two empty spans agree), over the questions whose
dataset states evidence (AVSynth does, MUSIC-AVQA does not: there it is NaN).

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

from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.data.synth.classes import CLASS_NAMES
from avikit.data.synth.questions import ANSWER_WORDS
from avikit.errors import DataError, UsageError
from avikit.metrics import compute_avqa_scores, compute_avqa_statistics
from avikit.metrics.avqa import AVQA_QUESTION_TYPES, compute_evidence_iou
from avikit.tasks.base import Evaluation, Protocol, Task, TaskInputs, TaskSpec, item_samples, mean_values
from avikit.tasks.schema import FieldSpec

__all__ = ["AVQA_ANSWERS", "AVQATask"]

AVQA_ANSWERS: tuple[str, ...] = (*ANSWER_WORDS, *CLASS_NAMES)
"""The answers of the AVSynth world (template words, then every class): what the reference model outputs."""


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

    required_targets = ("qa",)

    def includes(self, sample: Sample) -> bool:
        """Clips of the split with at least one question."""
        return super().includes(sample) and bool(sample.target("qa"))

    def profile_params(self, profile: DatasetProfile) -> dict[str, Any]:
        """The number of answers."""
        return {"answers": len(profile.labels("answers"))}

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """All frames, the whole audio and the questions."""
        geometry = self.check_rates(sample)
        questions = tuple(q["question"] for q in sample.target("qa"))
        frames = tuple(range(geometry.num_frames))
        return TaskInputs(sample.id, frames, (0, geometry.num_samples), geometry.frame_shape, text=questions)

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """Answers, types and evidence spans (``None`` where the dataset states none) of the questions."""
        qa = sample.target("qa")
        return {
            "answers": [q["answer"] for q in qa],
            "types": [tuple(q["type"]) for q in qa],
            "evidence": [
                (float(q["evidence"]["start"]), float(q["evidence"]["end"])) if "evidence" in q else None
                for q in qa
            ],
        }

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """Q: the number of questions."""
        return {"Q": len(inputs.text)}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """MUSIC-AVQA accuracies (percent) and the evidence IoU (percent; NaN without stated evidence)."""
        answers = self.profile.labels("answers")
        index = {answer: k for k, answer in enumerate(answers)}
        guesses = [index.get(a, len(answers)) for p in predictions for a in p["answers"]]
        unknown = sorted({a for t in targets for a in t["answers"]} - set(index))
        if unknown:
            raise DataError(
                f"true answers {unknown[:5]} are not among the answers of {self.profile.name!r}; "
                "prepare it again"
            )
        labels = [index[a] for t in targets for a in t["answers"]]
        types = [kind for t in targets for kind in t["types"]]
        if not labels:
            raise UsageError("the scored samples have no questions; nothing to score")
        logits = np.eye(len(answers) + 1)[guesses]  # the last column: an answer outside the vocabulary
        statistics = compute_avqa_statistics(logits, labels, types)
        ious, owners = [], []
        for position, (p, t) in enumerate(zip(predictions, targets, strict=True)):
            stated = [k for k, span in enumerate(t["evidence"]) if span is not None]
            given = p.get("evidence") or [None] * len(t["evidence"])
            ious.append(compute_evidence_iou([given[k] for k in stated], [t["evidence"][k] for k in stated]))
            owners.append(np.full(len(stated), position, np.int64))
        iou = np.concatenate(ious)
        evidence = float(100 * iou.mean()) if iou.size else float("nan")
        scores = {**compute_avqa_scores(statistics), "evidence_iou": evidence}
        values = {"overall": mean_values(statistics["correct"], 100.0)}
        groups = {"overall": item_samples([len(t["answers"]) for t in targets])}
        if iou.size:  # official MUSIC-AVQA files state no evidence spans
            values["evidence_iou"] = mean_values(iou, 100.0)
            groups["evidence_iou"] = np.concatenate(owners)
        return Evaluation(scores, values, len(predictions), groups)

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """The true answers and evidence (where stated)."""
        evidence = [
            None if span is None else {"start": span[0], "end": span[1]} for span in target["evidence"]
        ]
        return {"id": inputs.sample_id, "answers": list(target["answers"]), "evidence": evidence}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """A uniformly random answer from the dataset's answers per question, no evidence."""
        answers = self.profile.labels("answers")
        return {
            "id": inputs.sample_id,
            "answers": [answers[int(rng.integers(len(answers)))] for _ in inputs.text],
        }
