"""Audio-visual captioning, in three details (both modalities, only what is heard, only what is seen).

Scored without an LLM judge (:mod:`avikit.metrics.captioning`): CIDEr-D and BLEU-4 against the AVSynth
reference caption of the same detail, and video-SALMONN 2's event-level missing and hallucination rates
computed exactly against the clip's event list (the classes heard for "what you hear", seen for "what you
see", either for both), plus the repetition rate. Rates are pooled over captions (percent, lower is
better); CIDEr-D is the corpus mean (its document frequencies come from the scored set).

Example:
    >>> from avikit.data.synth import generate
    >>> CaptionTask().build_inputs(generate("test", 1)[0]).text
    ('Describe what you see and hear.', 'Describe only what you hear.', 'Describe only what you see.')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from avikit.data.synth.classes import CLASS_NAMES
from avikit.metrics.captioning import compute_bleu, compute_cider_d, compute_event_rates
from avikit.tasks.base import Evaluation, TaskInputs, mean_values
from avikit.tasks.language import LanguageTask, language_spec

__all__ = ["CaptionTask", "caption_truth"]


def caption_truth(record: Mapping[str, Any], target: Mapping[str, Any]) -> set[str]:
    """The event classes a caption of this detail should mention: heard, seen, or either."""
    heard = {e["label"] for e in target["events"]["audio"]}
    seen = {o["class"] for o in target["objects"] if o["on_screen"]}
    detail = record["meta"]["detail"]
    return heard if detail == "audio" else seen if detail == "visual" else heard | seen


class CaptionTask(LanguageTask):
    """Captions of the clip, of what is heard and of what is seen."""

    kinds = ("caption",)
    avsynth_only = True
    spec = language_spec(
        "av-caption",
        "captioning",
        "AVSynth captions (CIDEr-D, BLEU-4; video-SALMONN 2 event rates)",
        "Describe the clip, what is heard and what is seen; CIDEr-D and BLEU-4 against the reference, and "
        "the "
        "share of true events missed and of mentioned events invented.",
        kinds,
        ("cider_d", "bleu_4", "missing_rate", "hallucination_rate", "repetition_rate"),
        unit="CIDEr-D",
        lower_is_better=("missing_rate", "hallucination_rate", "repetition_rate"),
        metric_units={
            "bleu_4": "fraction",
            "missing_rate": "percent",
            "hallucination_rate": "percent",
            "repetition_rate": "percent",
        },
    )

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """CIDEr-D (corpus), BLEU-4 and pooled event rates over every caption."""
        captions, refs, truths, clip_of = [], [], [], []
        for k, (p, t) in enumerate(zip(predictions, targets, strict=True)):
            for answer, record in zip(p["answers"], t["records"], strict=True):
                captions.append(answer)
                refs.append([record["answer"]])
                truths.append(caption_truth(record, t))
                clip_of.append(k)
        cider, per_caption = compute_cider_d(captions, refs)
        rates = compute_event_rates(captions, truths, CLASS_NAMES)
        scores = {
            "cider_d": cider,
            "bleu_4": float(compute_bleu(captions, refs)[3]),
            "missing_rate": float(100 * rates["missed"].sum() / max(rates["true_events"].sum(), 1)),
            "hallucination_rate": float(100 * rates["invented"].sum() / max(rates["mentioned"].sum(), 1)),
            "repetition_rate": float(100 * rates["repetition"].mean()),
        }
        clips = {"cider_d": np.array(clip_of, dtype=np.int64)}  # a clip's captions stay together
        return Evaluation(scores, {"cider_d": mean_values(per_caption)}, len(predictions), clips)

    def chance_prediction(self, inputs: TaskInputs, rng: np.random.Generator) -> dict[str, Any]:
        """A caption naming one random class."""
        return {
            "id": inputs.sample_id,
            "answers": [f"A {CLASS_NAMES[int(rng.integers(len(CLASS_NAMES)))]}." for _ in inputs.text],
        }
