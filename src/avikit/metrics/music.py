"""Music metrics: raw pitch accuracy of a pitch track against MIDI notes, and onset F1.

- Raw pitch accuracy (RPA): mir_eval 0.8 ``melody.raw_pitch_accuracy`` on one time grid: the fraction of
  frames voiced in the reference whose estimated frequency is non-zero and within 50 cents (strictly less)
  of the reference. The estimate's own voicing is not used (as in mir_eval). Statistics per clip are
  ``[correct frames, voiced reference frames]``; the corpus RPA divides their sums.
- Onset F1: mir_eval 0.8 ``onset.f_measure``: reference and estimated onsets matched one-to-one within
  +-50 ms (a maximum bipartite matching), ``F = 2 P R / (P + R)``. Statistics per clip are ``[matched,
  reference onsets, estimated onsets]``.

Both are in [0, 1], higher is better.

Example:
    >>> reference = melody_frequencies([[69, 0.0, 0.5, 100]], num_frames=100, hop_seconds=0.01)
    >>> estimate = np.full(100, 445.0)  # 19.6 cents sharp of 440 Hz everywhere
    >>> compute_raw_pitch_accuracy(compute_pitch_statistics(reference[None], estimate[None]))
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError

__all__ = [
    "compute_onset_f1",
    "compute_onset_statistics",
    "compute_pitch_statistics",
    "compute_raw_pitch_accuracy",
    "melody_frequencies",
    "midi_to_hz",
    "note_onsets",
]


def midi_to_hz(pitch: ArrayLike) -> NDArray[np.float64]:
    """``440 * 2 ** ((pitch - 69) / 12)`` Hz (equal temperament, A4 = MIDI 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(pitch, dtype=np.float64) - 69.0) / 12.0)


def melody_frequencies(
    notes: Sequence[Sequence[float]], num_frames: int, hop_seconds: float
) -> NDArray[np.float64]:
    """Reference frequency per frame ``[num_frames]`` (0: unvoiced) of monophonic ``[pitch, start, end, ..]``.

    Frame ``t`` sits at ``t * hop_seconds`` and is voiced by the note with ``start <= t * hop < end``.
    """
    times = np.arange(num_frames) * hop_seconds
    out = np.zeros(num_frames)
    for pitch, start, end, *_ in notes:
        out[(times >= start) & (times < end)] = midi_to_hz(pitch)
    return out


def compute_pitch_statistics(
    reference: ArrayLike, estimate: ArrayLike, cents: float = 50.0
) -> NDArray[np.int64]:
    """Per clip ``[correct frames, voiced reference frames]`` (``int64 [N, 2]``) of ``[N, T]`` Hz tracks."""
    ref = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    est = np.atleast_2d(np.asarray(estimate, dtype=np.float64))
    if ref.shape != est.shape:
        raise UsageError(f"reference {ref.shape} and estimate {est.shape} must be on one frame grid")
    voiced = ref > 0
    both = voiced & (est > 0)
    safe_ref, safe_est = np.where(both, ref, 1.0), np.where(both, est, 1.0)
    correct = both & (np.abs(1200 * np.log2(safe_est / safe_ref)) < cents)
    return np.stack([correct.sum(1), voiced.sum(1)], axis=1).astype(np.int64)


def compute_raw_pitch_accuracy(statistics: ArrayLike) -> float:
    """Corpus RPA from statistics ``[N, 2]``: correct frames over voiced reference frames."""
    stats = np.asarray(statistics, dtype=np.int64).reshape(-1, 2)
    if stats[:, 1].sum() == 0:
        raise UsageError("no voiced reference frame: raw pitch accuracy is undefined")
    return float(stats[:, 0].sum() / stats[:, 1].sum())


def note_onsets(notes: Sequence[Sequence[float]], merge_seconds: float = 0.03) -> NDArray[np.float64]:
    """Sorted distinct note starts in seconds; starts closer than ``merge_seconds`` count once (a chord)."""
    starts = np.sort(np.asarray([note[1] for note in notes], dtype=np.float64))
    if len(starts) == 0:
        return starts
    keep = np.r_[True, np.diff(starts) >= merge_seconds]
    return starts[keep]


def compute_onset_statistics(
    references: Sequence[ArrayLike], estimates: Sequence[ArrayLike], window: float = 0.05
) -> NDArray[np.int64]:
    """Per clip ``[matched, reference onsets, estimated onsets]`` with mir_eval's one-to-one matching."""
    from mir_eval.util import match_events

    if len(references) != len(estimates):
        raise UsageError(f"{len(references)} reference onset lists but {len(estimates)} estimated ones")
    rows = []
    for reference, estimate in zip(references, estimates, strict=True):
        ref, est = np.sort(np.asarray(reference, float)), np.sort(np.asarray(estimate, float))
        matched = len(match_events(ref, est, window)) if len(ref) and len(est) else 0
        rows.append((matched, len(ref), len(est)))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def compute_onset_f1(statistics: ArrayLike) -> NDArray[np.float64]:
    """Onset F1 per clip from statistics ``[N, 3]`` (0 where a clip has no reference or no estimate)."""
    stats = np.asarray(statistics, dtype=np.float64).reshape(-1, 3)
    total = stats[:, 1] + stats[:, 2]
    return np.divide(2 * stats[:, 0], total, out=np.zeros(len(stats)), where=total > 0)
