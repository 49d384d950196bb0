"""Cross-modal retrieval (audio to video and back): R@1/5/10, median rank and mean rank.

Reproduces YuanGongND/cav-mae at commit 68fe8c2a39, ``src/retrieval.py::compute_metrics`` (R@K as fractions,
MedR = ``np.median(rank) + 1``), with CLIP4Clip's MeanR = ``mean(rank) + 1``. Pairs are on the diagonal of the
similarity matrix. Tie rule ``"official"``: a query whose true item ties with k others contributes the
k+1 tied
positions as separate ranks (the denominator grows), exactly like the official code.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.metrics._validation import as_finite, non_empty
from avikit.metrics.classification import compute_average_precision

__all__ = [
    "compute_retrieval_scores",
    "compute_retrieval_statistics",
    "evaluate_caption_to_clip_map",
    "evaluate_retrieval",
]

TiePolicy = Literal["official", "optimistic", "pessimistic"]


def _ranks(similarity: NDArray, ties: TiePolicy) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The ranks and the query of each rank (official ties give a query one rank per tied position)."""
    diagonal = np.diag(similarity)[:, None]
    better = np.sum(similarity > diagonal, axis=1)
    tied = np.sum(similarity == diagonal, axis=1)
    queries = np.arange(len(similarity), dtype=np.int64)
    if ties == "optimistic":
        return better.astype(np.float64), queries
    if ties == "pessimistic":
        return (better + tied - 1).astype(np.float64), queries
    offsets = np.arange(tied.sum()) - np.repeat(np.cumsum(tied) - tied, tied)
    return (np.repeat(better, tied) + offsets).astype(np.float64), np.repeat(queries, tied)


def compute_retrieval_statistics(similarity: ArrayLike, ties: TiePolicy = "official") -> dict[str, NDArray]:
    """0-based ranks of the true item, both directions.

    Args:
        similarity: ``[N, N]``, ``similarity[i, j]`` between audio ``i`` and video ``j`` (higher = closer).
        ties: ``"official"``, ``"optimistic"`` (best tied rank) or ``"pessimistic"`` (worst tied rank).

    Returns:
        ``{"audio_to_video_rank": [R1], "video_to_audio_rank": [R2]}`` (R = N unless ``"official"`` ties add
        entries) and ``{direction}_query``: the query (row) each rank belongs to.
    """
    matrix = as_finite(similarity, "similarity", 2).astype(np.float64)
    if matrix.shape[0] != matrix.shape[1]:
        raise UsageError(f"similarity must be square [N, N] with pairs on the diagonal, got {matrix.shape}")
    non_empty(matrix, "similarity")
    if ties not in ("official", "optimistic", "pessimistic"):
        raise UsageError(f"ties must be 'official', 'optimistic' or 'pessimistic', got {ties!r}")
    out: dict[str, NDArray] = {}
    for direction, rows in (("audio_to_video", matrix), ("video_to_audio", matrix.T)):
        out[f"{direction}_rank"], out[f"{direction}_query"] = _ranks(rows, ties)
    return out


def compute_retrieval_scores(statistics: dict[str, NDArray]) -> dict[str, float]:
    """R@1/5/10 (fractions), MedR and MeanR (1-based) per direction from the ranks."""
    scores = {}
    for direction in ("audio_to_video", "video_to_audio"):
        rank = statistics[f"{direction}_rank"]
        non_empty(rank, f"statistics['{direction}_rank']")
        for k in (1, 5, 10):
            scores[f"{direction}_r{k}"] = float(np.sum(rank < k)) / len(rank)
        scores[f"{direction}_median_rank"] = float(np.median(rank) + 1)
        scores[f"{direction}_mean_rank"] = float(np.mean(rank) + 1)
    return scores


def evaluate_retrieval(similarity: ArrayLike, ties: TiePolicy = "official") -> dict[str, float]:
    """Audio-to-video and video-to-audio retrieval: R@1, R@5, R@10, median and mean rank.

    Official: cav-mae ``src/retrieval.py::compute_metrics`` at 68fe8c2a39 (rows of the matrix are queries;
    video-to-audio uses its transpose).

    Args:
        similarity: ``[N, N]`` audio x video similarity, pairs on the diagonal.
        ties: tie policy (see module docstring).

    Returns:
        ``{direction}_r1|_r5|_r10`` in [0, 1] (higher is better) and ``{direction}_median_rank|_mean_rank`` in
        [1, N] (lower is better), for ``direction`` in ``audio_to_video``, ``video_to_audio``.

    Example:
        >>> scores = evaluate_retrieval([[0.9, 0.1], [0.8, 0.2]])
        >>> scores["audio_to_video_r1"], scores["video_to_audio_r1"], scores["audio_to_video_median_rank"]
        (0.5, 1.0, 1.5)
    """
    return compute_retrieval_scores(compute_retrieval_statistics(similarity, ties))


def evaluate_caption_to_clip_map(scores: ArrayLike, labels: ArrayLike) -> dict[str, float]:
    """Text-to-clip retrieval by class captions: each caption ranks the clips by their score, mean AP.

    Each class caption is a query; its relevant clips are the clips of that class; AP is sklearn's
    ``average_precision_score`` (:func:`avikit.metrics.compute_average_precision`), averaged over the
    classes present among the clips (a class without a clip has no AP).

    Args:
        scores: ``[N, C]`` clip-by-caption scores (e.g. a zero-shot classifier's ``scores``).
        labels: ``[N]`` class index of each clip.

    Returns:
        ``{"map": mean AP in [0, 1] (higher is better), "chance": the mean share of each present class's
        clips}`` (the expected AP of a random ranking, up to small-sample terms).

    Example:
        >>> evaluate_caption_to_clip_map([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]], [0, 1, 0])
        {'map': 1.0, 'chance': 0.5}
    """
    score_array = as_finite(scores, "scores", 2)
    label_array = np.asarray(labels)
    if label_array.shape != (len(score_array),) or not np.issubdtype(label_array.dtype, np.integer):
        raise UsageError(f"labels must be [N] class indices for {len(score_array)} clips")
    if label_array.min(initial=0) < 0 or label_array.max(initial=0) >= score_array.shape[1]:
        raise UsageError(f"labels must lie in [0, {score_array.shape[1]}), one column of scores per class")
    present = np.unique(label_array)
    targets = label_array[:, None] == present[None, :]
    ap = compute_average_precision(score_array[:, present], targets)
    return {"map": float(ap.mean()), "chance": float(targets.mean(0).mean())}
