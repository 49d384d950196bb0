"""Yes/no hallucination probes (AVHBench, POPE): accuracy, precision, recall, F1 and the Yes ratio.

As AVHBench (Sung-Bin et al., ICLR 2025) and POPE (Li et al., EMNLP 2023, ``evaluate.py``): "yes" is the
positive class; precision and recall are of "yes"; ``yes_ratio`` is the share of answers that say yes (an
always-yes model has accuracy near 50% and a Yes ratio of 100%). An answer that is neither yes nor no after
normalization (:func:`avikit.metrics.text_answers.parse_yes_no`) is *unparsed*: wrong for accuracy, neither
a yes nor a no for precision and recall, and reported as its own share. Scores are percent.

Example:
    >>> stats = compute_probe_statistics(["yes", "yes", "no", "maybe"], ["yes", "no", "no", "yes"])
    >>> scores = compute_probe_scores(stats)
    >>> scores["accuracy"], scores["precision"], scores["yes_ratio"], scores["unparsed"]
    (50.0, 50.0, 50.0, 25.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["PROBE_SCORES", "compute_probe_scores", "compute_probe_statistics", "evaluate_probes"]

PROBE_SCORES = ("accuracy", "precision", "recall", "f1", "yes_ratio", "unparsed")


def compute_probe_statistics(
    answers: Sequence[str | None], labels: Sequence[str]
) -> dict[str, NDArray[np.float64]]:
    """Per probe: ``said_yes``, ``said_no``, ``is_yes`` (label) and ``correct`` as 0/1 arrays.

    Args:
        answers: parsed answers, ``"yes"``, ``"no"`` or ``None`` (unparsed).
        labels: the true answers, ``"yes"`` or ``"no"``.
    """
    if len(answers) != len(labels) or not labels:
        raise ValueError(f"need one or more answers with labels, got {len(answers)} and {len(labels)}")
    bad = sorted({label for label in labels if label not in ("yes", "no")})
    if bad:
        raise ValueError(f"probe labels must be 'yes' or 'no', got {bad}")
    said_yes = np.array([a == "yes" for a in answers], dtype=np.float64)
    said_no = np.array([a == "no" for a in answers], dtype=np.float64)
    is_yes = np.array([label == "yes" for label in labels], dtype=np.float64)
    correct = np.array([a == label for a, label in zip(answers, labels, strict=True)], dtype=np.float64)
    return {"said_yes": said_yes, "said_no": said_no, "is_yes": is_yes, "correct": correct}


def compute_probe_scores(statistics: dict[str, NDArray[np.float64]]) -> dict[str, float]:
    """Percent scores; precision (recall) is 0 when nothing was said yes (no probe is yes)."""
    said_yes, is_yes = statistics["said_yes"], statistics["is_yes"]
    true_yes = float((said_yes * is_yes).sum())
    precision = true_yes / float(said_yes.sum()) if said_yes.sum() else 0.0
    recall = true_yes / float(is_yes.sum()) if is_yes.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    unparsed = 1.0 - statistics["said_yes"] - statistics["said_no"]
    return {
        "accuracy": float(100 * statistics["correct"].mean()),
        "precision": 100 * precision,
        "recall": 100 * recall,
        "f1": 100 * f1,
        "yes_ratio": float(100 * said_yes.mean()),
        "unparsed": float(100 * unparsed.mean()),
    }


def evaluate_probes(answers: Sequence[str | None], labels: Sequence[str]) -> dict[str, float]:
    """Probe scores (percent) of parsed yes/no answers against labels."""
    return compute_probe_scores(compute_probe_statistics(answers, labels))
