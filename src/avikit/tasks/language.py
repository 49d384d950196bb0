"""Language-output tasks: questions about a clip answered in words, scored by declared parsing rules.

Every language task asks the instruction questions of one or more kinds (:mod:`avikit.data.instructions`)
about each clip and takes one free-text answer per question: ``{"id", "answers": [text, ...]}``. The
protocol follows the ``qwen3-omni-eval`` preset (:mod:`avikit.models.language.prompt`): the video at 2 fps
(every fourth frame of an 8 fps clip), the whole audio of the clip (never dropped), media before the
question, greedy decoding. Test clips; the ``open_test`` split holds classes never seen in training.

This module holds the shared base and three tasks:

- ``avqa-words``: MUSIC-AVQA question types answered in a word; exact match after VQA normalization
  (:func:`avikit.metrics.text_answers.normalize_answer`), per type, per modality and overall (percent);
- ``avqa-choice``: the same as multiple choice; the letter is read by the declared rule
  (:func:`avikit.metrics.text_answers.extract_choice`), an unreadable answer is wrong and counted as
  ``unparsed``;
- ``av-hallucination``: AVHBench-style yes/no probes (:mod:`avikit.metrics.hallucination`), with the
  accuracy per probed modality.

Example:
    >>> from avikit.data.synth import generate
    >>> inputs = AVQAWordsTask().build_inputs(generate("test", 1)[0])
    >>> inputs.frames[:3], inputs.text[0]
    ((0, 4, 8), 'How many sound sources are heard throughout the video? Answer in one word.')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from avikit.data.instructions import Instruction, build_instructions
from avikit.data.sample import Sample
from avikit.data.synth.classes import CLASS_NAMES
from avikit.metrics.avqa import AVQA_QUESTION_TYPES
from avikit.metrics.hallucination import PROBE_SCORES, compute_probe_scores, compute_probe_statistics
from avikit.metrics.text_answers import extract_choice, normalize_answer, parse_yes_no
from avikit.tasks.base import (
    Evaluation,
    Protocol,
    Task,
    TaskInputs,
    TaskSpec,
    item_samples,
    mean_values,
)
from avikit.tasks.schema import FieldSpec

__all__ = [
    "LANGUAGE_TASKS",
    "PRESET",
    "VIDEO_FPS",
    "AVQAChoiceTask",
    "AVQAWordsTask",
    "HallucinationTask",
    "LanguageTask",
    "language_spec",
]

LANGUAGE_TASKS = (
    "avqa-words",
    "avqa-choice",
    "av-caption",
    "av-grounding",
    "av-hallucination",
    "av-faithfulness",
)
"""Every language-output task, by registry name."""
PRESET = "qwen3-omni-eval"
"""The prompt preset every language task's protocol follows."""
VIDEO_FPS = 2
"""Frames per second given to the model (the preset's)."""
ANSWERS_FIELD = FieldSpec("answers", "strings", ("Q",), None, "one free-text answer per question, in order")
_WORDS = ("zero", "one", "two", "three", "yes", "no", "left", "middle", "right", *CLASS_NAMES)


def language_spec(
    name: str,
    family: str,
    benchmark: str,
    description: str,
    kinds: tuple[str, ...],
    metrics: tuple[str, ...],
    unit: str = "percent",
    lower_is_better: tuple[str, ...] = (),
    metric_units: Mapping[str, str] | None = None,
) -> TaskSpec:
    """The spec of a language task (interaction pillar, the preset's protocol)."""
    return TaskSpec(
        name=name,
        pillar="interaction",
        family=family,
        version=1,
        benchmark=benchmark,
        description=description,
        inputs=("audio", "video", "text"),
        protocol=Protocol(
            frame_sampling="uniform",
            params={"preset": PRESET, "video_fps": VIDEO_FPS, "audio": "whole clip", "kinds": list(kinds)},
        ),
        target_schema={"records": "the instruction records asked (question, reference answer, evidence)"},
        prediction_schema=(ANSWERS_FIELD,),
        metrics=metrics,
        primary_metric=metrics[0],
        unit=unit,
        lower_is_better=lower_is_better,
        metric_units=dict(metric_units or {}),
    )


class LanguageTask(Task):
    """Shared behaviour: the questions of some instruction kinds, video at 2 fps, the whole audio."""

    kinds: ClassVar[tuple[str, ...]] = ()
    avsynth_only: ClassVar[bool] = False
    """Whether the questions come from ground truth only AVSynth writes (objects, per-modality events,
    captions): such a task scores no sample of another dataset."""

    def questions(self, sample: Sample) -> list[Instruction]:
        """The instruction records this task asks about ``sample``, in a fixed order."""
        targets = sample.to_dict()["targets"]
        other = self.profile.name != "avsynth"  # another dataset's distractors come from its own answers
        answers = self.profile.vocabularies.get("answers") if other else None
        return self.select(build_instructions(targets, sample.id, sample.split, self.kinds, answers))

    def select(self, records: list[Instruction]) -> list[Instruction]:
        """Which of the clip's records are asked (all by default)."""
        return records

    def includes(self, sample: Sample) -> bool:
        """Clips of the protocol's split with at least one question.

        Only AVSynth clips where the questions need AVSynth's ground truth (:attr:`avsynth_only`).
        """
        if self.avsynth_only and sample.dataset != "avsynth":
            return False
        return super().includes(sample) and bool(self.questions(sample))

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """Every ``fps / 2``-th frame (2 fps), the whole audio and the questions."""
        geometry = self.check_rates(sample)
        step = max(1, geometry.fps // VIDEO_FPS)
        return TaskInputs(
            sample.id,
            tuple(range(0, geometry.num_frames, step)),
            (0, geometry.num_samples),
            (geometry.size, geometry.size),
            text=tuple(r.question for r in self.questions(sample)),
        )

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """The asked records (question, answer, evidence, modality, meta) and the clip's objects."""
        targets = sample.to_dict()["targets"]
        return {
            "records": [r.to_dict() for r in self.questions(sample)],
            "objects": targets.get("objects", []),  # none in an official question file
            "events": targets.get("events", []),
        }

    def prediction_dims(self, inputs: TaskInputs) -> dict[str, int]:
        """Q: the number of questions."""
        return {"Q": len(inputs.text)}

    def oracle_prediction(self, target: Mapping[str, Any], inputs: TaskInputs) -> dict[str, Any]:
        """The reference answers."""
        return {"id": inputs.sample_id, "answers": [r["answer"] for r in target["records"]]}

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """A random answer word per question.

        The words are the answer words of every question type, or, on another dataset, its answers.
        """
        words = _WORDS if self.profile.name == "avsynth" else self.profile.labels("answers")
        return {
            "id": inputs.sample_id,
            "answers": [str(words[int(rng.integers(len(words)))]) for _ in inputs.text],
        }


def _records(targets: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for t in targets for r in t["records"]]


def _answers(predictions: Sequence[Mapping[str, Any]]) -> list[str]:
    return [a for p in predictions for a in p["answers"]]


def _per_question(
    values: np.ndarray, targets: Sequence[Mapping[str, Any]], key: str
) -> tuple[dict[str, tuple[np.ndarray, float]], dict[str, np.ndarray]]:
    """``item_values`` and ``item_samples`` of a percent score that is the mean over every question.

    The bootstrap resamples clips and keeps each clip's questions together, so the interval is of the same
    question-weighted mean as the score.
    """
    clips = item_samples([len(t["records"]) for t in targets])
    return {key: mean_values(values, 100.0)}, {key: clips}


def _accuracy_scores(correct: np.ndarray, records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    scores = {}
    for kind, key in AVQA_QUESTION_TYPES.items():
        hits = [c for c, r in zip(correct, records, strict=True) if tuple(r["meta"]["type"]) == kind]
        scores[key] = float(100 * np.mean(hits)) if hits else float("nan")
    for modality in ("audio", "visual", "audio_visual"):
        hits = [c for c, r in zip(correct, records, strict=True) if r["modality"] == modality]
        scores[modality] = float(100 * np.mean(hits)) if hits else float("nan")
    return scores


class AVQAWordsTask(LanguageTask):
    """MUSIC-AVQA questions answered in a word: normalized exact match."""

    kinds = ("qa",)
    spec = language_spec(
        "avqa-words",
        "question answering in words",
        "MUSIC-AVQA (open-ended, normalized exact match)",
        "Answer MUSIC-AVQA-type questions in one word; scored by exact match after VQA normalization.",
        kinds,
        ("overall", *AVQA_QUESTION_TYPES.values(), "audio", "visual", "audio_visual"),
    )

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """Percent of answers equal to the reference after normalization, overall and per type."""
        records = _records(targets)
        correct = np.array(
            [
                normalize_answer(a) == normalize_answer(r["answer"])
                for a, r in zip(_answers(predictions), records, strict=True)
            ],
            dtype=np.float64,
        )
        scores = {"overall": float(100 * correct.mean()), **_accuracy_scores(correct, records)}
        values, clips = _per_question(correct, targets, "overall")
        return Evaluation(scores, values, len(predictions), clips)


class AVQAChoiceTask(LanguageTask):
    """The same questions as multiple choice; the letter read by a declared rule."""

    kinds = ("mc",)
    spec = language_spec(
        "avqa-choice",
        "question answering, multiple choice",
        "MUSIC-AVQA (multiple choice)",
        "Answer MUSIC-AVQA-type questions by choosing a lettered option; an unreadable answer is wrong.",
        kinds,
        ("overall", "audio", "visual", "audio_visual", "unparsed"),
        lower_is_better=("unparsed",),
    )

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """Accuracy of the extracted letter, and the share of unparsed answers (percent)."""
        records = _records(targets)
        chosen = [
            extract_choice(a, len(r["options"]), r["options"])
            for a, r in zip(_answers(predictions), records, strict=True)
        ]
        truth = ["ABCD".index(r["answer"][1]) for r in records]  # answers are written "(B)"
        correct = np.array([c == t for c, t in zip(chosen, truth, strict=True)], dtype=np.float64)
        scores = _accuracy_scores(correct, records)
        scores = {
            "overall": float(100 * correct.mean()),
            **{k: scores[k] for k in ("audio", "visual", "audio_visual")},
            "unparsed": float(100 * np.mean([c is None for c in chosen])),
        }
        values, clips = _per_question(correct, targets, "overall")
        return Evaluation(scores, values, len(predictions), clips)

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """A uniformly random letter among each question's options (the random baseline)."""
        counts = [text.count("(") for text in inputs.text]
        return {"id": inputs.sample_id, "answers": [f"({'ABCD'[int(rng.integers(n))]})" for n in counts]}


class HallucinationTask(LanguageTask):
    """AVHBench-style yes/no probes of what is heard, what is seen, and whether a seen object sounds."""

    kinds = ("probe",)
    avsynth_only = True
    spec = language_spec(
        "av-hallucination",
        "hallucination probes",
        "AVHBench-style yes/no probes (POPE metrics)",
        "Answer yes/no probes about heard sounds, seen objects and audio-visual matching; accuracy, "
        "precision, "
        "recall, F1 and the Yes ratio.",
        kinds,
        (*PROBE_SCORES, "audio_accuracy", "visual_accuracy", "audio_visual_accuracy"),
        lower_is_better=("unparsed",),
    )

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """Probe scores (percent) overall and the accuracy per probed modality."""
        records = _records(targets)
        statistics = compute_probe_statistics(
            [parse_yes_no(a) for a in _answers(predictions)], [r["meta"]["label"] for r in records]
        )
        scores = compute_probe_scores(statistics)
        for modality in ("audio", "visual", "audio_visual"):
            hits = [
                c for c, r in zip(statistics["correct"], records, strict=True) if r["modality"] == modality
            ]
            scores[f"{modality}_accuracy"] = float(100 * np.mean(hits)) if hits else float("nan")
        correct = np.asarray(statistics["correct"], dtype=np.float64)
        values, clips = _per_question(correct, targets, "accuracy")
        return Evaluation(scores, values, len(predictions), clips)

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """Yes or no with equal probability."""
        return {"id": inputs.sample_id, "answers": [("yes", "no")[int(rng.integers(2))] for _ in inputs.text]}
