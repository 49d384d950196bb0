"""Temporal grounding of answers (NExT-GQA): IoU, IoP and Acc@GQA of one predicted span per question.

Reproduces doc-mint/NExT-GQA (``code/TempGQA/eval_ground.py``, ``get_tIoU`` and ``eval_ground``, commit
of 2024-03): for a ground-truth span ``g`` and the predicted span ``p``,

- a zero-length prediction (``p.start == p.end``) has IoU 0 and IoP 1 if it lies inside ``g`` (ends
  included), else IoP 0;
- otherwise ``IoU = (min(ends) - max(starts)) / (max(ends) - min(starts))`` and
  ``IoP = (min(ends) - max(starts)) / (p.end - p.start)``, the overlap over the **predicted** length;
- with several ground-truth spans, the best IoU and the best IoP are kept separately, each starting at 0
  (so a disjoint prediction scores 0, never a negative value);
- ``Acc@GQA``: the answer is correct **and** IoP >= 0.5.

A question whose answer has no span (unparsed) scores 0 everywhere and is counted as ``unparsed``.
Scores are percent, as the official script prints them; ``higher_is_better`` for all but ``unparsed``.

Example:
    >>> stats = compute_grounding_statistics([(2.0, 4.0), None], [[(3.0, 5.0)], [(0.0, 1.0)]], [True, True])
    >>> {k: round(v, 2) for k, v in compute_grounding_scores(stats).items()}["miou"]
    16.67
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "GROUNDING_SCORES",
    "compute_grounding_scores",
    "compute_grounding_statistics",
    "compute_span_iou_iop",
    "evaluate_grounding",
]

GROUNDING_SCORES = ("miou", "iou@0.3", "iou@0.5", "miop", "iop@0.3", "iop@0.5", "acc@gqa", "unparsed")
Span = tuple[float, float]


def compute_span_iou_iop(truth: Span, predicted: Span) -> tuple[float, float]:
    """NExT-GQA's ``get_tIoU(loc=truth, span=predicted)``: ``(IoU, IoP)``, possibly negative when disjoint."""
    (g0, g1), (p0, p1) = truth, predicted
    if p0 == p1:
        return 0.0, 1.0 if g0 <= p0 <= g1 else 0.0
    union = max(g1, p1) - min(g0, p0)
    overlap = min(g1, p1) - max(g0, p0)
    iou = overlap / union if union > 0 else 0.0
    iop = overlap / (p1 - p0) if p1 > p0 else 0.0
    return iou, iop


def compute_grounding_statistics(
    predicted: Sequence[Span | None],
    truths: Sequence[Sequence[Span]],
    correct: Sequence[bool] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """Per-question best IoU and IoP (floored at 0), answer correctness and parse failures.

    Args:
        predicted: per question the predicted ``(start, end)`` in seconds, or ``None`` (unparsed).
        truths: per question its ground-truth spans (at least one).
        correct: per question whether the answer was right (``None``: grounding only, all ``False``).
    """
    if len(predicted) != len(truths) or (correct is not None and len(correct) != len(truths)):
        raise ValueError(f"need as many predictions ({len(predicted)}) as questions ({len(truths)})")
    if not truths or any(len(t) == 0 for t in truths):
        raise ValueError("every question needs at least one ground-truth span")
    iou, iop, unparsed = np.zeros(len(truths)), np.zeros(len(truths)), np.zeros(len(truths))
    for k, (span, spans) in enumerate(zip(predicted, truths, strict=True)):
        if span is None:
            unparsed[k] = 1.0
            continue
        for truth in spans:
            a, b = compute_span_iou_iop(truth, span)
            iou[k], iop[k] = max(iou[k], a), max(iop[k], b)
    right = np.zeros(len(truths)) if correct is None else np.asarray(correct, dtype=np.float64)
    return {"iou": iou, "iop": iop, "correct": right, "unparsed": unparsed}


def compute_grounding_scores(statistics: dict[str, NDArray[np.float64]]) -> dict[str, float]:
    """Scores in percent: mIoU, IoU@0.3/0.5, mIoP, IoP@0.3/0.5, Acc@GQA and the unparsed share."""
    iou, iop = statistics["iou"], statistics["iop"]
    return {
        "miou": float(100 * iou.mean()),
        "iou@0.3": float(100 * (iou >= 0.3).mean()),
        "iou@0.5": float(100 * (iou >= 0.5).mean()),
        "miop": float(100 * iop.mean()),
        "iop@0.3": float(100 * (iop >= 0.3).mean()),
        "iop@0.5": float(100 * (iop >= 0.5).mean()),
        "acc@gqa": float(100 * ((statistics["correct"] > 0) & (iop >= 0.5)).mean()),
        "unparsed": float(100 * statistics["unparsed"].mean()),
    }


def evaluate_grounding(
    predicted: Sequence[Span | None], truths: Sequence[Sequence[Span]], correct: Sequence[bool] | None = None
) -> dict[str, float]:
    """NExT-GQA grounding scores (percent) of predicted spans against ground-truth spans."""
    return compute_grounding_scores(compute_grounding_statistics(predicted, truths, correct))
