"""Temporal grounding in words and answers with evidence (NExT-GQA rules), and refusal of absent sounds.

- ``av-grounding``: "When does the X sound?" answered with seconds ("From 1.5 to 3.0 seconds."), the span
  read by :func:`avikit.metrics.text_answers.parse_span`; NExT-GQA's mIoU, IoU@0.3/0.5, mIoP, IoP@0.3/0.5
  (:mod:`avikit.metrics.grounding`) over the questions about present sounds, and the refusal accuracy:
  a question about an absent class must be refused, one about a present class must not.
- ``av-faithfulness``: MUSIC-AVQA-type questions answered with a word *and* the evidence ("two. Evidence:
  heard from 0.0 to 4.9 seconds."): answer accuracy, NExT-GQA's IoP scores and Acc@GQA (correct answer
  and IoP >= 0.5), and the modality match of the cited evidence (:mod:`avikit.metrics.faithfulness`).
  Counterfactual consistency reruns the model on edited clips, so the bench measures it
  (:mod:`avikit.eval.llm_bench`).

Example:
    >>> from avikit.data.synth import generate
    >>> GroundingTask().build_inputs(generate("test", 1)[0]).text
    ('When does the snake sound?', 'When does the bell sound?')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from avikit.data.instructions import Instruction, format_span
from avikit.data.sample import Sample
from avikit.metrics.faithfulness import compute_modality_match, parse_cited_modality
from avikit.metrics.grounding import GROUNDING_SCORES, compute_grounding_scores, compute_grounding_statistics
from avikit.metrics.text_answers import is_refusal, normalize_answer, parse_span
from avikit.tasks.base import Evaluation, TaskInputs, mean_values
from avikit.tasks.language import LanguageTask, language_spec

__all__ = ["FaithfulnessTask", "GroundingTask"]


def _span_of(record: Mapping[str, Any]) -> list[tuple[float, float]]:
    return [(float(record["evidence"]["start"]), float(record["evidence"]["end"]))]


class GroundingTask(LanguageTask):
    """When does a sound happen, in seconds; questions about absent sounds must be refused."""

    kinds = ("grounding", "refusal")
    avsynth_only = True
    spec = language_spec(
        "av-grounding",
        "temporal grounding in words",
        "NExT-GQA grounding rules (IoU, IoP) on AVSynth sounds",
        "Say when a named sound happens, in seconds; refuse when the sound is absent.",
        kinds,
        (*GROUNDING_SCORES[:6], "unparsed", "refusal_accuracy"),
        lower_is_better=("unparsed",),
    )

    def select(self, records: list[Instruction]) -> list[Instruction]:
        """The grounding questions and the one refusal question of the same form ("When does ...")."""
        return [r for r in records if r.kind == "grounding" or r.id.endswith("/refusal/0")]

    def includes(self, sample: Sample) -> bool:
        """Clips with at least one sound that has a single span (a question to ground)."""
        return super().includes(sample) and any(r.kind == "grounding" for r in self.questions(sample))

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """NExT-GQA scores (percent) of the present sounds; refusal accuracy over all questions."""
        spans, truths, clip_of, refusal_ok = [], [], [], []
        for k, (p, t) in enumerate(zip(predictions, targets, strict=True)):
            for answer, record in zip(p["answers"], t["records"], strict=True):
                absent = record["kind"] == "refusal"
                refusal_ok.append(float(is_refusal(answer) == absent))
                if not absent:
                    spans.append(None if is_refusal(answer) else parse_span(answer))
                    truths.append(_span_of(record))
                    clip_of.append(k)
        statistics = compute_grounding_statistics(spans, truths)
        scores = {
            key: value
            for key, value in compute_grounding_scores(statistics).items()
            if key in self.spec.metrics
        }
        scores["refusal_accuracy"] = float(100 * np.mean(refusal_ok))
        values = {"miou": mean_values(statistics["iou"], 100.0)}  # per sound; a clip's sounds stay together
        return Evaluation(scores, values, len(predictions), {"miou": np.array(clip_of, dtype=np.int64)})

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """A random span of the 10 s clip per question."""
        spans = [sorted(rng.uniform(0, 10, 2).round(1).tolist()) for _ in inputs.text]
        return {"id": inputs.sample_id, "answers": [format_span(a, b) for a, b in spans]}


class FaithfulnessTask(LanguageTask):
    """Answers with evidence: correct, grounded (Acc@GQA) and citing the right modality."""

    kinds = ("evidence",)
    avsynth_only = True
    spec = language_spec(
        "av-faithfulness",
        "answers with evidence",
        "NExT-GQA Acc@GQA with modality-matched evidence",
        "Answer in one word and cite the evidence (modality and seconds); accuracy, IoP, Acc@GQA and the "
        "modality match of the cited evidence.",
        kinds,
        ("acc@gqa", "accuracy", "miop", "iop@0.5", "miou", "modality_match", "unparsed"),
        lower_is_better=("unparsed",),
    )

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """Acc@GQA and its parts (percent)."""
        spans, truths, correct, cited, modality, clip_of = [], [], [], [], [], []
        for k, (p, t) in enumerate(zip(predictions, targets, strict=True)):
            for answer, record in zip(p["answers"], t["records"], strict=True):
                word = normalize_answer(answer.split(".")[0].split(";")[0])
                correct.append(word == normalize_answer(record["answer"].split(".")[0]))
                spans.append(parse_span(answer))
                truths.append(_span_of(record))
                cited.append(parse_cited_modality(answer))
                modality.append(record["modality"])
                clip_of.append(k)
        statistics = compute_grounding_statistics(spans, truths, correct)
        grounded = compute_grounding_scores(statistics)
        match = compute_modality_match(cited, modality)
        scores = {
            "acc@gqa": grounded["acc@gqa"],
            "accuracy": float(100 * np.mean(correct)),
            "miop": grounded["miop"],
            "iop@0.5": grounded["iop@0.5"],
            "miou": grounded["miou"],
            "modality_match": float(100 * match.mean()),
            "unparsed": grounded["unparsed"],
        }
        hits = ((statistics["correct"] > 0) & (statistics["iop"] >= 0.5)).astype(np.float64)
        return Evaluation(
            scores,
            {"acc@gqa": mean_values(hits, 100.0)},
            len(predictions),
            {"acc@gqa": np.array(clip_of, dtype=np.int64)},
        )

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """A random word, modality and span per question."""
        out = []
        for _ in inputs.text:
            a, b = sorted(rng.uniform(0, 10, 2).round(1).tolist())
            cited = ("heard", "seen", "heard and seen")[int(rng.integers(3))]
            out.append(
                f"{('one', 'two', 'yes', 'no')[int(rng.integers(4))]}. "
                f"Evidence: {cited} from {a} to {b} seconds."
            )
        return {"id": inputs.sample_id, "answers": out}
