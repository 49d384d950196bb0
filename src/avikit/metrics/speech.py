"""Speech metrics: word error rate of transcripts, PESQ and STOI of waveforms.

- WER: ``(substitutions + deletions + insertions) / reference words`` from the word-level Levenshtein
  alignment of ``jiwer`` (jitsi/jiwer 4.0, ``jiwer.process_words``), after :func:`normalize_transcript`.
  Statistics are per clip ``[errors, reference words]``; the corpus WER divides their sums (so shards merge).
- PESQ: ITU-T P.862.2 wide-band MOS-LQO (``pesq`` 0.0.4, the ITU reference C code; range about 1.04-4.64).
- STOI: short-time objective intelligibility (Taal et al. 2011, ``pystoi`` 0.4.1; range 0-1).

All three are higher-is-better except WER (lower is better, 0 = perfect, may pass 1 with insertions).

Example:
    >>> stats = compute_wer_statistics(["the red car"], ["the red cat"])
    >>> stats.tolist(), compute_wer(stats)
    ([[1, 3]], 0.3333333333333333)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import MissingDependencyError, UsageError
from avikit.metrics._validation import as_finite, same_shape

__all__ = [
    "compute_pesq",
    "compute_stoi",
    "compute_wer",
    "compute_wer_statistics",
    "evaluate_wer",
    "normalize_transcript",
]

_PUNCTUATION = re.compile(r"[^\w\s']")


def normalize_transcript(text: str) -> str:
    """Lower-case, punctuation (but apostrophes) to spaces, one space between words.

    Example:
        >>> normalize_transcript("  The red car, every day! ")
        'the red car every day'
    """
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


def _jiwer() -> object:
    try:
        import jiwer
    except ImportError as err:  # pragma: no cover - the extra is installed in development
        raise MissingDependencyError("WER needs jiwer: pip install 'avikit[tokenizers]'") from err
    return jiwer


def compute_wer_statistics(references: Sequence[str], hypotheses: Sequence[str]) -> NDArray[np.int64]:
    """Per clip ``[errors, reference words]`` (``int64 [N, 2]``) of normalised transcripts.

    Raises:
        UsageError: the lists differ in length, or a reference is empty after normalisation.
    """
    if len(references) != len(hypotheses):
        raise UsageError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    jiwer = _jiwer()
    rows = []
    for index, (reference, hypothesis) in enumerate(zip(references, hypotheses, strict=True)):
        ref, hyp = normalize_transcript(reference), normalize_transcript(hypothesis)
        if not ref:
            raise UsageError(f"reference {index} has no words: {reference!r}")
        if not hyp:  # every reference word deleted
            rows.append((len(ref.split()), len(ref.split())))
            continue
        out = jiwer.process_words(ref, hyp)  # type: ignore[attr-defined]
        rows.append((out.substitutions + out.deletions + out.insertions, len(ref.split())))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2)


def compute_wer(statistics: ArrayLike) -> float:
    """Corpus WER from statistics ``[N, 2]``: summed errors over summed reference words."""
    stats = np.asarray(statistics, dtype=np.int64).reshape(-1, 2)
    if stats[:, 1].sum() == 0:
        raise UsageError("no reference words: WER is undefined")
    return float(stats[:, 0].sum() / stats[:, 1].sum())


def evaluate_wer(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, object]:
    """``{"wer": corpus WER, "per_clip": [errors / words per clip]}``."""
    stats = compute_wer_statistics(references, hypotheses)
    return {"wer": compute_wer(stats), "per_clip": (stats[:, 0] / stats[:, 1]).tolist()}


def _pair(reference: ArrayLike, estimate: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    ref = as_finite(reference, "reference", (1, 2)).astype(np.float64)
    est = as_finite(estimate, "estimate", (1, 2)).astype(np.float64)
    same_shape(ref, est, "reference", "estimate")
    return ref.reshape(-1, ref.shape[-1]), est.reshape(-1, est.shape[-1])


def compute_pesq(reference: ArrayLike, estimate: ArrayLike, sample_rate: int = 16000) -> NDArray[np.float64]:
    """Wide-band PESQ (P.862.2 MOS-LQO) per clip of ``[N, S]`` (or ``[S]``) waveforms at 16 kHz.

    Raises:
        UsageError: another sample rate (wide-band PESQ is defined at 16 kHz).
        DataError: the ITU code finds no speech in a reference (``pesq.NoUtterancesError``).
    """
    from pesq import NoUtterancesError, pesq

    from avikit.errors import DataError

    if sample_rate != 16000:
        raise UsageError(f"wide-band PESQ needs 16 kHz audio, got {sample_rate} Hz; resample first")
    ref, est = _pair(reference, estimate)
    out = []
    for index, (r, e) in enumerate(zip(ref, est, strict=True)):
        try:
            out.append(pesq(sample_rate, r, e, "wb"))
        except NoUtterancesError as err:
            raise DataError(f"PESQ: clip {index} has no speech in its reference") from err
    return np.asarray(out, dtype=np.float64)


def compute_stoi(reference: ArrayLike, estimate: ArrayLike, sample_rate: int = 16000) -> NDArray[np.float64]:
    """STOI per clip of ``[N, S]`` (or ``[S]``) waveforms (pystoi resamples to its 10 kHz internally)."""
    from pystoi import stoi

    ref, est = _pair(reference, estimate)
    return np.asarray([stoi(r, e, sample_rate, extended=False) for r, e in zip(ref, est, strict=True)])
