"""Faithfulness of an answer to its cited evidence: modality match and counterfactual consistency.

- Modality match: the modality an answer cites ("heard", "seen", or both) equals the modality its
  ground-truth evidence lies in. :func:`parse_cited_modality` reads it from the answer.
- Counterfactual consistency (as CG-Bench's clue recovery, turned around): the model answers the same
  question three times: on the clip, on the clip with the **cited evidence removed** (the cited span of
  the cited modality silenced or blacked out) and on the clip with **unrelated content removed** (an
  equally long span outside the evidence, same modality). A faithful model changes its answer in the first
  case and keeps it in the second. :func:`compute_counterfactual_statistics` gives, per question,
  ``sensitive`` (answer changed when the evidence went), ``invariant`` (answer kept when unrelated content
  went) and ``consistent`` (both).

Example:
    >>> parse_cited_modality("two. Evidence: heard from 0.0 to 4.0 seconds.")
    'audio'
    >>> s = compute_counterfactual_statistics(["two", "yes"], ["one", "yes"], ["two", "no"])
    >>> s["consistent"].tolist()
    [1.0, 0.0]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from avikit.metrics.text_answers import normalize_answer

__all__ = ["compute_counterfactual_statistics", "compute_modality_match", "parse_cited_modality"]

_HEARD = re.compile(r"\b(heard|hear|sound|audio)\b")
_SEEN = re.compile(r"\b(seen|see|visible|video|visual)\b")


def parse_cited_modality(text: str) -> str | None:
    """``"audio"``, ``"visual"``, ``"audio_visual"`` (both) or ``None``, read after the word "evidence"."""
    lowered = text.lower()
    tail = lowered[lowered.index("evidence") :] if "evidence" in lowered else ""
    heard, seen = bool(_HEARD.search(tail)), bool(_SEEN.search(tail))
    return "audio_visual" if heard and seen else "audio" if heard else "visual" if seen else None


def compute_modality_match(cited: Sequence[str | None], truth: Sequence[str]) -> NDArray[np.float64]:
    """Per answer 1 when the cited modality equals the evidence's modality, else 0 (``None`` is 0)."""
    return np.array([c is not None and c == t for c, t in zip(cited, truth, strict=True)], dtype=np.float64)


def compute_counterfactual_statistics(
    original: Sequence[str], evidence_removed: Sequence[str], unrelated_removed: Sequence[str]
) -> dict[str, NDArray[np.float64]]:
    """Per question: ``sensitive``, ``invariant`` and ``consistent`` (0/1), answers compared normalized."""
    base = [normalize_answer(a) for a in original]
    changed = np.array(
        [normalize_answer(a) != b for a, b in zip(evidence_removed, base, strict=True)], dtype=np.float64
    )
    kept = np.array(
        [normalize_answer(a) == b for a, b in zip(unrelated_removed, base, strict=True)], dtype=np.float64
    )
    return {"sensitive": changed, "invariant": kept, "consistent": changed * kept}
