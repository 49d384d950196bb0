"""The generation bench's scores of one generated set: each with its clip-bootstrap replicates.

From embedder features of a generated set and of the real clips (row ``i`` of every array is clip ``i``),
:func:`compute_set_metrics` gives every av-benchmark score of :mod:`avikit.metrics.generation` as a
:class:`SetScore`: the score, its bootstrap replicates over clips and a per-clip value that points at the
worst clips.

- Mean metrics (KL per pair, alignment, DeSync) resample clips and take the mean
  (:func:`avikit.metrics.bootstrap.compute_mean_replicates`).
- Set metrics (FD, Inception Score) resample clips, generated and real paired, and recompute the metric
  (:func:`avikit.metrics.generation.compute_frechet_replicates`).

Every replicate array is drawn from ``(clip count, resamples, seed)`` alone, so the replicates of two
generated sets of the same clips are paired: their difference gives the paired interval of the difference
(:func:`compare_set_scores`). Intervals are percentile intervals, not re-centred on the score.

Example:
    >>> rng = np.random.default_rng(0)
    >>> features = {"pair_video": rng.normal(size=(5, 4)), "pair_audio": rng.normal(size=(5, 4)),
    ...             "sync": rng.normal(size=(5, 2, 21))}
    >>> scores = compute_set_metrics(features, (), num_resamples=50)
    >>> sorted(scores), scores["alignment"].replicates.shape
    (['alignment', 'desync'], (50,))
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from avikit.errors import UsageError
from avikit.metrics.bootstrap import (
    NUM_RESAMPLES,
    Comparison,
    bootstrap_indices,
    compute_mean_replicates,
    compute_percentile_interval,
)
from avikit.metrics.generation import (
    compute_alignment_statistics,
    compute_desync_statistics,
    compute_frechet_contributions,
    compute_frechet_replicates,
    compute_inception_contributions,
    compute_inception_scores,
    compute_kl_statistics,
    evaluate_frechet_distance,
    reduce_to_span,
)

__all__ = ["IS_SPLITS", "SetScore", "compare_set_scores", "compute_set_metrics", "mean_score"]

IS_SPLITS = 1
"""Inception Score splits: av-benchmark's 10 need hundreds of clips; the bench scores a few."""


@dataclass(frozen=True)
class SetScore:
    """One score of a generated set.

    Attributes:
        score: the metric on the whole set.
        replicates: ``[R]`` the metric on each clip resample (shared draws: see the module docstring).
        per_clip: ``[N]`` each clip's term of a mean, its leave-one-out contribution to FD, or its KL to the
            marginal for IS.
    """

    score: float
    replicates: NDArray[np.float64]
    per_clip: NDArray[np.float64]

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """The percentile interval of the replicates."""
        return compute_percentile_interval(self.replicates, confidence)


def mean_score(values: Sequence[float] | NDArray[np.float64], seed: int = 0,
               num_resamples: int = NUM_RESAMPLES) -> SetScore:  # fmt: skip
    """A per-clip mean metric as a :class:`SetScore` (its replicates resample clips).

    Example:
        >>> mean_score([0.0, 1.0, 2.0], num_resamples=10).score
        1.0
    """
    array = np.asarray(values, dtype=np.float64)
    return SetScore(float(array.mean()), compute_mean_replicates(array, None, num_resamples, seed), array)


def _frechet(
    generated: NDArray[np.float64], real: NDArray[np.float64], seed: int, resamples: int
) -> SetScore:
    from scipy.linalg import LinAlgWarning

    generated, real = reduce_to_span(generated, real)
    with warnings.catch_warnings():  # fewer clips than dimensions: singular covariances are expected
        warnings.simplefilter("ignore", LinAlgWarning)
        score = evaluate_frechet_distance(generated, real, on_failure="eigh")["frechet_distance"]
        contributions = compute_frechet_contributions(generated, real, on_failure="eigh")
    return SetScore(score, compute_frechet_replicates(generated, real, resamples, seed), contributions)


def _inception(logits: NDArray[np.float64], seed: int, resamples: int) -> SetScore:
    """Inception Score of one split (the whole set) and its replicates, all resamples in stacked arrays."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # [N, C]
    chosen = log_p[bootstrap_indices(len(logits), resamples, seed)]  # [R, N, C]
    p = np.exp(chosen)
    with np.errstate(divide="ignore"):
        log_q = np.log(p.mean(axis=1, keepdims=True))  # [R, 1, C]
    replicates = np.exp(np.sum(p * (chosen - log_q), axis=2).mean(axis=1))
    score = compute_inception_scores(logits, splits=IS_SPLITS)["inception_score_mean"]
    return SetScore(score, replicates, compute_inception_contributions(logits, splits=IS_SPLITS))


def compute_set_metrics(
    features: Mapping[str, NDArray[np.float64]],
    outputs: Sequence[str],
    seed: int = 0,
    num_resamples: int = NUM_RESAMPLES,
) -> dict[str, SetScore]:
    """The av-benchmark scores of one generated set from embedder features.

    Args:
        features: arrays over the same clips, in order: ``audio``/``real_audio`` ``[N, D]`` audio
            embeddings, ``logits``/``real_logits`` ``[N, C]`` classifier logits (audio outputs),
            ``video``/``real_video`` ``[N, D]`` video embeddings (video outputs), ``pair_video`` and
            ``pair_audio`` ``[N, D]`` (the clip as watched) and ``sync`` ``[N, W, 21]`` offset logits.
        outputs: what the task generates: ``"audio"``, ``"video"`` or both.
        seed: bootstrap seed.
        num_resamples: bootstrap resamples.

    Returns:
        ``fd_audio``, ``kl`` and ``inception_score`` (audio outputs), ``fd_video`` (video outputs),
        ``alignment`` and ``desync``, each a :class:`SetScore`.
    """
    if len(features["pair_video"]) < 3:
        raise UsageError("set metrics need at least 3 clips (a covariance and a leave-one-out FD)")
    out: dict[str, SetScore] = {}
    if "audio" in outputs:
        out["fd_audio"] = _frechet(features["audio"], features["real_audio"], seed, num_resamples)
        kl = compute_kl_statistics(features["logits"], features["real_logits"])["kl_softmax"]
        out["kl"] = mean_score(kl, seed, num_resamples)
        out["inception_score"] = _inception(features["logits"], seed, num_resamples)
    if "video" in outputs:
        out["fd_video"] = _frechet(features["video"], features["real_video"], seed, num_resamples)
    cosine = compute_alignment_statistics(features["pair_video"], features["pair_audio"])["cosine"]
    out["alignment"] = mean_score(cosine, seed, num_resamples)
    desync = compute_desync_statistics(features["sync"])["desync"]
    out["desync"] = mean_score(desync, seed, num_resamples)
    return out


def compare_set_scores(
    first: SetScore, second: SetScore, higher_is_better: bool = True, confidence: float = 0.95
) -> Comparison:
    """``first - second`` with the paired interval of their replicates (same clips, same seed).

    With ``higher_is_better=False`` the difference is ``second - first``: positive is always better.

    Example:
        >>> a, b = mean_score([1.0, 2.0, 3.0], num_resamples=50), mean_score([0, 1, 2], num_resamples=50)
        >>> result = compare_set_scores(a, b)
        >>> result.difference, result.significant
        (1.0, True)
    """
    if first.replicates.shape != second.replicates.shape or len(first.per_clip) != len(second.per_clip):
        raise UsageError("a paired comparison needs two scores of the same clips and resamples")
    sign = 1.0 if higher_is_better else -1.0
    return Comparison.from_replicates(
        sign * (first.score - second.score), sign * (first.replicates - second.replicates), confidence
    )
