"""Generation metrics of av-benchmark: Frechet distance, KL, Inception Score, AV alignment and DeSync.

Reproduces hkchengrex/av-benchmark at commit 050a5cdb9b (``av_bench/evaluate.py::evaluate`` and
``av_bench/metrics/{fad,kl,isc}.py``), on embeddings or logits that an embedder has already produced. The
embedders and their pinned preprocessing live in ``avikit.models.embedders``; :data:`PREPROCESSING` records
the official values so a result can state them.

Differences that are deliberate and documented:

- A failing matrix square root never turns into ``-1`` (the official ``compute_fd`` catches the error and
  returns ``-1``). :func:`compute_frechet_scores` raises :class:`FrechetDistanceError`, or, with
  ``on_failure="eigh"``, uses the symmetric eigen-decomposition fallback and says so in the result
  (``"sqrtm_fallback": 1.0``).
- ``scipy.linalg.sqrtm`` is called without its ``disp`` argument (deprecated in SciPy 1.17); the regularised
  retry (``1e-6 * I`` on both covariances when the root is not finite) is kept.
- The KL quirk of av-benchmark with several generated samples per video (only the last one counts) is not
  reproduced: pass one ``[N, C]`` array per generated set.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from avikit.errors import UsageError
from avikit.metrics._validation import as_finite, non_empty, same_shape
from avikit.metrics.bootstrap import (
    NUM_RESAMPLES,
    bootstrap_indices,
    compute_percentile_interval,
    compute_set_replicates,
)

__all__ = [
    "PREPROCESSING",
    "SYNCHFORMER_GRID",
    "SYNCHFORMER_PREPROCESSING",
    "FrechetDistanceError",
    "compute_alignment_scores",
    "compute_alignment_statistics",
    "compute_desync_scores",
    "compute_desync_statistics",
    "compute_frechet_bootstrap_ci",
    "compute_frechet_contributions",
    "compute_frechet_distance_infinity",
    "compute_frechet_replicates",
    "compute_frechet_scores",
    "compute_frechet_statistics",
    "compute_inception_contributions",
    "compute_inception_scores",
    "compute_kl_scores",
    "compute_kl_statistics",
    "evaluate_alignment",
    "evaluate_desync",
    "evaluate_frechet_distance",
    "evaluate_inception_score",
    "evaluate_kl",
    "frechet_distance",
    "reduce_to_span",
]

AV_BENCHMARK_COMMIT = "050a5cdb9b"

SYNCHFORMER_PREPROCESSING: Mapping[str, Any] = {
    "audio": {
        "sample_rate": 16000,
        "segment_samples": 10240,
        "segment_step": 5120,
        "n_fft": 1024,
        "win_length": 400,
        "hop_length": 160,
        "n_mels": 128,
        "mel_scale": "htk",
        "mel_norm": None,
        "stft_pad": "reflect",
        "log_offset": 1e-6,
        "frames": 66,
        "mean": -4.2677393,
        "std": 4.5689974,
    },
    "video": {
        "fps": 25,
        "size": 224,
        "resize": "bicubic, antialiased, shorter side, uint8 rounding",
        "crop": "centre",
        "normalize": "[-1, 1]",
        "segment_frames": 16,
        "segment_step": 8,
    },
    "windows": {"duration": 8.0, "segments": 14, "which": ("first", "last")},
    "features": {
        "video": "Motionformer ViT-B/16, divided space-time attention, 224 px, 16-frame segments -> 8 x 768",
        "audio": "AST ViT-B/16 over 128 mel x 66 frames, frequency aggregated -> 6 x 768",
    },
}
"""What av-benchmark feeds Synchformer for DeSync (``extract.py``, ``extract_video.py``, ``evaluate.py``); the
one source for ``avikit.models.embedders.synchformer`` and part of any feature-cache key."""

PREPROCESSING: Mapping[str, Mapping[str, Any]] = {
    "vggish": {"sample_rate": 16000, "frame_seconds": 0.96, "dim": 128, "postprocess": False},
    "panns": {"sample_rate": 16000, "n_mels": 64, "f_min": 50, "f_max": 8000, "n_fft": 512, "hop": 160},
    "passt": {"sample_rate": 32000, "num_samples": 320000, "num_logits": 527, "dim": 768},
    "imagebind": {"video_fps": 0.5, "image_size": 224, "audio_clips": 3, "audio_clip_seconds": 2},
    "synchformer": SYNCHFORMER_PREPROCESSING,
    "audio": {"channels": 1, "remove_mean": True, "duration_seconds": 8.0, "pad": False},
}
"""Pinned preprocessing of av-benchmark 050a5cdb9b per embedder (``extract.py``, ``extract_video.py``)."""

SYNCHFORMER_GRID: NDArray[np.float64] = np.linspace(-2.0, 2.0, 21).astype(np.float32).astype(np.float64)
"""Offsets (s) of Synchformer's 21 classes, float32 as ``make_class_grid`` (0.2 is 0.20000000298...)."""


class FrechetDistanceError(ValueError):
    """The matrix square root of the covariance product has a large imaginary part."""


def _softmax_log(logits: NDArray) -> NDArray[np.float64]:
    """Row-wise log-softmax in float64."""
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _log_sigmoid(logits: NDArray) -> NDArray[np.float64]:
    values = logits.astype(np.float64)
    return -np.logaddexp(0.0, -values)


# --------------------------------------------------------------------------------------------- Frechet


def _sqrtm_trace(product: NDArray[np.float64]) -> tuple[float, bool]:
    """Trace of ``sqrtm(product)`` by scipy; returns ``(trace, ok)`` where ``ok`` is False on failure."""
    from scipy import linalg

    root = linalg.sqrtm(product)
    if not np.all(np.isfinite(root)):
        return float("nan"), False
    if np.iscomplexobj(root):
        if not np.allclose(np.diagonal(root).imag, 0, atol=1e-3):
            return float(np.max(np.abs(root.imag))), False
        root = root.real
    return float(np.trace(root)), True


def _eigh_trace(sigma1: NDArray[np.float64], sigma2: NDArray[np.float64]) -> float:
    """``tr sqrt(S1 S2)`` as ``sum sqrt(eig(sqrt(S1) S2 sqrt(S1)))``; exact for PSD inputs, always real."""
    values, vectors = np.linalg.eigh(sigma1)
    half = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    inner = np.linalg.eigvalsh(half @ sigma2 @ half)
    return float(np.sqrt(np.clip(inner, 0, None)).sum())


def frechet_distance(
    mean1: ArrayLike,
    covariance1: ArrayLike,
    mean2: ArrayLike,
    covariance2: ArrayLike,
    on_failure: Literal["raise", "eigh"] = "raise",
    eps: float = 1e-6,
) -> tuple[float, bool]:
    """Frechet distance between two Gaussians, ``||m1 - m2||^2 + tr S1 + tr S2 - 2 tr sqrt(S1 S2)``.

    Official: av-benchmark 050a5cdb9b ``metrics/fad.py::calculate_frechet_distance`` (scipy ``sqrtm``; retry
    with ``eps * I`` added to both covariances when the root is not finite; an imaginary diagonal above 1e-3
    is an error, otherwise the real part is kept).

    Args:
        mean1: ``[D]`` mean of the first set.
        covariance1: ``[D, D]`` covariance of the first set.
        mean2: ``[D]`` mean of the second set.
        covariance2: ``[D, D]`` covariance of the second set.
        on_failure: ``"raise"`` (:class:`FrechetDistanceError`) or ``"eigh"``: use the real
            eigen-decomposition root of the symmetrised product ``sqrt(S1) S2 sqrt(S1)``, which has the
            same trace for PSD inputs.
        eps: diagonal offset of the regularised retry.

    Returns:
        ``(distance, fallback_used)``; the distance is in squared embedding units, >= 0, lower is better.

    Example:
        >>> distance, _ = frechet_distance([0.0], [[1.0]], [1.0], [[4.0]])
        >>> round(distance, 6)
        2.0
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mean1)), np.atleast_1d(np.asarray(mean2))
    s1 = np.atleast_2d(np.asarray(covariance1, dtype=np.float64))
    s2 = np.atleast_2d(np.asarray(covariance2, dtype=np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.shape[0],) * 2:
        raise UsageError(
            f"means {mu1.shape}, {mu2.shape} and covariances {s1.shape}, {s2.shape} do not match"
        )
    diff = mu1 - mu2
    trace, ok = _sqrtm_trace(s1 @ s2)
    if not ok and np.isnan(trace):
        offset = np.eye(s1.shape[0]) * eps
        trace, ok = _sqrtm_trace((s1 + offset) @ (s2 + offset))
    fallback = not ok
    if fallback:
        if on_failure == "raise":
            raise FrechetDistanceError(
                f"sqrtm of the covariance product failed (imaginary part {trace:.3g}); use more samples than "
                "dimensions, or on_failure='eigh' for the documented eigen-decomposition fallback"
            )
        trace = _eigh_trace(s1, s2)
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * trace), fallback


def compute_frechet_statistics(predictions: ArrayLike, targets: ArrayLike) -> dict[str, NDArray]:
    """Per-item embeddings of both sets, checked: ``{"prediction": [N, D], "target": [M, D]}``.

    Shards merge with ``merge_statistics`` (concatenation); merged shards score as the one-shot set.
    """
    prediction = as_finite(predictions, "predictions", 2)
    target = as_finite(targets, "targets", 2)
    if prediction.shape[1] != target.shape[1]:
        raise UsageError(f"predictions have {prediction.shape[1]} dims but targets have {target.shape[1]}")
    if len(prediction) < 2 or len(target) < 2:
        raise UsageError("a covariance needs at least two embeddings per set")
    return {"prediction": prediction, "target": target}


def _moments(embeddings: NDArray) -> tuple[NDArray, NDArray[np.float64]]:
    # mean keeps the feature dtype, covariance is np.cov (ddof=1, float64), as av-benchmark
    return np.mean(embeddings, axis=0), np.atleast_2d(np.cov(embeddings, rowvar=False))


def compute_frechet_scores(
    statistics: Mapping[str, NDArray], on_failure: Literal["raise", "eigh"] = "raise"
) -> dict[str, float]:
    """``{"frechet_distance", "sqrtm_fallback"}`` from :func:`compute_frechet_statistics` output."""
    mu1, s1 = _moments(statistics["prediction"])
    mu2, s2 = _moments(statistics["target"])
    distance, fallback = frechet_distance(mu1, s1, mu2, s2, on_failure=on_failure)
    return {"frechet_distance": distance, "sqrtm_fallback": float(fallback)}


def evaluate_frechet_distance(
    predictions: ArrayLike, targets: ArrayLike, on_failure: Literal["raise", "eigh"] = "raise"
) -> dict[str, float]:
    """Frechet distance between generated and reference embeddings (FD_VGG / FD_PANN / FD_PaSST).

    Official: av-benchmark 050a5cdb9b ``metrics/fad.py::compute_fd(pred, gt)``. For FD_VGG every 0.96 s VGGish
    frame is one row; for PANNs (2048-d) and PaSST (768-d) one row per clip. The score is symmetric in its
    arguments up to ``sqrtm`` numerics.

    Args:
        predictions: ``[N, D]`` embeddings of generated media.
        targets: ``[M, D]`` embeddings of reference media.
        on_failure: see :func:`frechet_distance`.

    Returns:
        ``{"frechet_distance": >= 0 (squared embedding units, lower is better), "sqrtm_fallback": 0 or 1}``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> same = rng.normal(size=(500, 4))
        >>> evaluate_frechet_distance(same, same)["frechet_distance"] < 1e-6
        True
    """
    return compute_frechet_scores(compute_frechet_statistics(predictions, targets), on_failure)


def compute_frechet_contributions(
    predictions: ArrayLike, targets: ArrayLike, on_failure: Literal["raise", "eigh"] = "raise"
) -> NDArray[np.float64]:
    """Leave-one-out contribution of every generated item: ``FD(all) - FD(all but i)``, shape ``[N]``.

    A positive value means the item makes the distance worse; sort descending to look at the worst clips.
    Costs one matrix square root per item (``O(N D^3)``).
    """
    stats = compute_frechet_statistics(predictions, targets)
    prediction = stats["prediction"]
    if len(prediction) < 3:
        raise UsageError("leave-one-out contributions need at least three generated embeddings")
    mu2, s2 = _moments(stats["target"])
    full = frechet_distance(*_moments(prediction), mu2, s2, on_failure=on_failure)[0]
    keep = np.ones(len(prediction), dtype=bool)
    out = np.empty(len(prediction))
    for index in range(len(prediction)):
        keep[index] = False
        out[index] = full - frechet_distance(*_moments(prediction[keep]), mu2, s2, on_failure=on_failure)[0]
        keep[index] = True
    return out


def compute_frechet_distance_infinity(
    predictions: ArrayLike,
    targets: ArrayLike,
    num_points: int = 15,
    min_count: int | None = None,
    seed: int = 0,
    on_failure: Literal["raise", "eigh"] = "raise",
) -> dict[str, float]:
    """FD extrapolated to infinitely many generated samples (FID-infinity / FAD-infinity).

    Definition: Chong & Forsyth, "Effectively Unbiased FID and Inception Score and where to find them" (CVPR
    2020), as used for audio by fadtk (Gui et al., ICASSP 2024, ``FrechetAudioDistance.score_inf``): FD is
    computed on random subsets (without replacement) of the generated set with sizes
    ``linspace(min_count, N, num_points)``, a line is fitted to FD against ``1 / size``, and its intercept is
    the score. This is an option beside the official FD, not an av-benchmark number.

    Args:
        predictions: ``[N, D]`` embeddings of generated media.
        targets: ``[M, D]`` reference embeddings (always used whole).
        num_points: subset sizes in the fit.
        min_count: smallest subset (default ``max(D + 2, N // 4)``).
        seed: seed of the subset draws.
        on_failure: see :func:`frechet_distance`.

    Returns:
        ``{"frechet_distance_infinity", "slope", "r2"}``; the intercept is in FD units, lower is better.
    """
    stats = compute_frechet_statistics(predictions, targets)
    prediction = stats["prediction"]
    count, dim = prediction.shape
    low = min_count if min_count is not None else max(dim + 2, count // 4)
    if not 2 <= low < count or num_points < 2:
        raise UsageError(f"need 2 <= min_count < N ({low}, {count}) and num_points >= 2")
    mu2, s2 = _moments(stats["target"])
    rng = np.random.default_rng(seed)
    sizes = np.linspace(low, count, num_points).astype(int)
    values = []
    for size in sizes:
        subset = prediction[rng.choice(count, size, replace=False)]
        values.append(frechet_distance(*_moments(subset), mu2, s2, on_failure=on_failure)[0])
    slope, intercept = np.polyfit(1.0 / sizes, values, 1)
    fitted = intercept + slope / sizes
    residual = float(np.sum((np.asarray(values) - fitted) ** 2))
    total = float(np.sum((np.asarray(values) - np.mean(values)) ** 2)) or 1.0
    return {"frechet_distance_infinity": float(intercept), "slope": float(slope), "r2": 1 - residual / total}


def reduce_to_span(
    predictions: ArrayLike, targets: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Both sets in an orthonormal basis of the span of their centred rows (at most ``N + M - 1`` dims).

    A rotation and a shift change no Frechet distance (means, covariances and ``tr sqrt(S1 S2)`` all live in
    that span, and so do those of any subset of the rows), so FD of the reduced sets equals FD of the
    originals while the matrix roots become small: 8 clips in a 64-d space are 15 dims at most.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.normal(size=(4, 32)), rng.normal(size=(4, 32))
        >>> ra, rb = reduce_to_span(a, b)
        >>> ra.shape[1] <= 7, bool(np.isclose(np.linalg.norm(a[0] - b[1]), np.linalg.norm(ra[0] - rb[1])))
        (True, True)
    """
    generated = np.asarray(predictions, dtype=np.float64)
    real = np.asarray(targets, dtype=np.float64)
    rows = np.concatenate([generated, real])
    centre = rows.mean(axis=0)
    _, singular, basis = np.linalg.svd(rows - centre, full_matrices=False)
    keep = basis[singular > singular.max(initial=0.0) * 1e-10]  # [K, D]
    if len(keep) == 0:  # every row equal: any one axis
        keep = np.eye(1, rows.shape[1])
    return (generated - centre) @ keep.T, (real - centre) @ keep.T


def compute_frechet_replicates(
    predictions: ArrayLike,
    targets: ArrayLike,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = 0,
    on_failure: Literal["raise", "eigh"] = "eigh",
) -> NDArray[np.float64]:
    """Bootstrap replicates ``[num_resamples]`` of FD, resampling clips: row ``i`` of both sets together.

    The generated and the real set are paired by clip (row ``i`` of each is the same video), so a resample
    draws clips (:func:`avikit.metrics.bootstrap.bootstrap_indices`) and recomputes FD on the chosen pairs;
    every score over the same clips and seed sees the same resamples, which makes differences paired.
    Resamples repeat clips, which shrinks the covariances and moves FD up: the percentile interval of small
    sets may lie above the estimate, and it says so rather than being re-centred on it. With the default
    ``on_failure="eigh"`` every resample takes the symmetric eigen-decomposition root (exact for the
    covariances, which are positive semi-definite, and real where ``sqrtm`` of a near-singular product is
    not); ``"raise"`` takes the official ``sqrtm`` path of :func:`frechet_distance`.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> reps = compute_frechet_replicates(rng.normal(size=(6, 3)), rng.normal(size=(6, 3)), 20)
        >>> reps.shape, bool((reps >= 0).all())
        ((20,), True)
    """
    stats = compute_frechet_statistics(predictions, targets)
    if len(stats["prediction"]) != len(stats["target"]):
        raise UsageError(
            f"clip resampling pairs generated and real rows: got {len(stats['prediction'])} and "
            f"{len(stats['target'])} rows; give one row per clip in each set, in the same clip order"
        )
    from scipy.linalg import LinAlgWarning

    generated, real = reduce_to_span(stats["prediction"], stats["target"])

    if on_failure == "eigh":  # all resamples at once: stacked moments and eigen-decompositions
        return _batched_frechet(generated, real, bootstrap_indices(len(generated), num_resamples, seed))

    def score(rows: NDArray[np.int64]) -> float:
        return frechet_distance(*_moments(generated[rows]), *_moments(real[rows]), on_failure=on_failure)[0]

    with warnings.catch_warnings():  # resamples of few clips: singular covariances are expected
        warnings.simplefilter("ignore", LinAlgWarning)
        return compute_set_replicates(score, len(generated), num_resamples, seed)


def _batched_frechet(
    generated: NDArray[np.float64], real: NDArray[np.float64], picks: NDArray[np.int64]
) -> NDArray[np.float64]:
    """FD with the ``eigh`` root of every resample ``picks[r]`` of paired rows, ``[R]``.

    The same moments as :func:`frechet_distance` (mean; ``np.cov`` with ``ddof=1``) and the same root as its
    ``eigh`` fallback, for all resamples in stacked array operations.
    """

    def moments(rows: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        mean = rows.mean(axis=1)  # [R, K]
        centred = rows - mean[:, None]
        return mean, np.einsum("rnk,rnl->rkl", centred, centred) / (rows.shape[1] - 1)

    (mu1, s1), (mu2, s2) = moments(generated[picks]), moments(real[picks])
    values, vectors = np.linalg.eigh(s1)
    half = (vectors * np.sqrt(np.clip(values, 0, None))[:, None, :]) @ vectors.transpose(0, 2, 1)
    inner = np.linalg.eigvalsh(half @ s2 @ half)
    trace = np.sqrt(np.clip(inner, 0, None)).sum(axis=1)
    diff = mu1 - mu2
    traces = np.trace(s1, axis1=1, axis2=2) + np.trace(s2, axis1=1, axis2=2)
    return np.einsum("rk,rk->r", diff, diff) + traces - 2 * trace


def compute_frechet_bootstrap_ci(
    predictions: ArrayLike,
    targets: ArrayLike,
    confidence: float = 0.95,
    num_resamples: int = NUM_RESAMPLES,
    seed: int = 0,
    on_failure: Literal["raise", "eigh"] = "eigh",
) -> tuple[float, float]:
    """Percentile bootstrap interval of FD over clips (:func:`compute_frechet_replicates`), in FD units.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> low, high = compute_frechet_bootstrap_ci(rng.normal(size=(40, 2)) + 1, rng.normal(size=(40, 2)))
        >>> bool(0 < low < high)
        True
    """
    replicates = compute_frechet_replicates(predictions, targets, num_resamples, seed, on_failure)
    return compute_percentile_interval(replicates, confidence)


# -------------------------------------------------------------------------------------------------- KL


def compute_kl_statistics(prediction_logits: ArrayLike, target_logits: ArrayLike) -> dict[str, NDArray]:
    """Per-pair KL terms ``{"kl_softmax": [N], "kl_sigmoid": [N]}`` (the per-sample contributions).

    ``kl_softmax[i] = sum_c p_ic (log p_ic - log q_ic)`` with ``p = softmax(target)`` and
    ``q = softmax(prediction)``, i.e. KL(reference || generated). ``kl_sigmoid`` is av-benchmark's sigmoid
    variant, which has no ``(1 - s)`` term and so is not a Bernoulli KL; it is reported for parity only.
    """
    prediction = as_finite(prediction_logits, "prediction_logits", 2)
    target = as_finite(target_logits, "target_logits", 2)
    same_shape(prediction, target, "prediction_logits", "target_logits")
    non_empty(prediction, "prediction_logits")
    log_p, log_q = _softmax_log(target), _softmax_log(prediction)
    log_sp, log_sq = _log_sigmoid(target), _log_sigmoid(prediction)
    return {
        "kl_softmax": np.sum(np.exp(log_p) * (log_p - log_q), axis=1),
        "kl_sigmoid": np.sum(np.exp(log_sp) * (log_sp - log_sq), axis=1),
    }


def compute_kl_scores(statistics: Mapping[str, NDArray]) -> dict[str, float]:
    """``{"kl_softmax", "kl_sigmoid"}``: means of the per-pair terms (nats, >= 0, lower is better)."""
    non_empty(statistics["kl_softmax"], "statistics['kl_softmax']")
    return {key: float(np.mean(statistics[key])) for key in ("kl_softmax", "kl_sigmoid")}


def evaluate_kl(prediction_logits: ArrayLike, target_logits: ArrayLike) -> dict[str, float]:
    """Paired KL divergence of classifier outputs, reference to generated (KL-PANNS / KL-PASST).

    Official: av-benchmark 050a5cdb9b ``metrics/kl.py::compute_kl`` (``F.kl_div(log_softmax(pred),
    log_softmax(gt), reduction="sum", log_target=True) / N``); headline keys ``KL-PANNS-softmax`` (PANNs 527
    pre-sigmoid logits) and ``KL-PASST-softmax``. Rows are paired by clip.

    Args:
        prediction_logits: ``[N, C]`` logits of generated audio.
        target_logits: ``[N, C]`` logits of the reference audio of the same videos.

    Returns:
        ``{"kl_softmax", "kl_sigmoid"}`` in nats, >= 0 for softmax, ``higher_is_better=False``.

    Example:
        >>> round(evaluate_kl([[0.0, 0.0]], [[np.log(3.0), 0.0]])["kl_softmax"], 6)
        0.130812
    """
    return compute_kl_scores(compute_kl_statistics(prediction_logits, target_logits))


# ---------------------------------------------------------------------------------------------- IS


def _inception_chunks(logits: NDArray, splits: int, seed: int) -> list[NDArray[np.float64]]:
    """Shuffled log-probabilities split as av-benchmark: chunk i is rows ``[i*N//s, (i+1)*N//s)``."""
    count = len(logits)
    log_p = _softmax_log(logits[np.random.RandomState(seed).permutation(count)])
    return [log_p[i * count // splits : (i + 1) * count // splits] for i in range(splits)]


def _chunk_kl(log_p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-row ``KL(p_i || mean p)`` inside one chunk."""
    if len(log_p) == 0:
        return np.empty(0)
    p = np.exp(log_p)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.log(p.mean(axis=0, keepdims=True))
    return np.sum(p * (log_p - log_q), axis=1)


def compute_inception_scores(logits: ArrayLike, splits: int = 10, seed: int = 2020) -> dict[str, float]:
    """``{"inception_score_mean", "inception_score_std"}`` (population std over the splits).

    The statistics of IS are the logits themselves (``[N, C]``; shards merge by concatenation), because the
    shuffle and the split marginals need the whole set.
    """
    array = as_finite(logits, "logits", 2)
    non_empty(array, "logits")
    kls = [_chunk_kl(chunk) for chunk in _inception_chunks(array, splits, seed)]
    scores = [float(np.exp(np.mean(kl))) if len(kl) else float("nan") for kl in kls]
    return {"inception_score_mean": float(np.mean(scores)), "inception_score_std": float(np.std(scores))}


def evaluate_inception_score(logits: ArrayLike, splits: int = 10, seed: int = 2020) -> dict[str, float]:
    """Inception Score of generated audio from classifier logits (ISC-PANNS / ISC-PASST).

    Official: av-benchmark 050a5cdb9b ``metrics/isc.py::compute_isc`` (rows shuffled by
    ``np.random.RandomState(2020).permutation``, float64, 10 splits, per split ``exp(mean KL(p_i || q))``,
    mean and population std over splits). With fewer rows than splits some chunks are empty and the result is
    NaN, as upstream.

    Args:
        logits: ``[N, C]`` classifier logits of generated audio.
        splits: number of chunks.
        seed: shuffle seed.

    Returns:
        ``{"inception_score_mean" in [1, C], "inception_score_std"}``, ``higher_is_better=True``.

    Example:
        >>> round(evaluate_inception_score(np.eye(4) * 50, splits=1)["inception_score_mean"], 6)
        4.0
    """
    return compute_inception_scores(logits, splits, seed)


def compute_inception_contributions(
    logits: ArrayLike, splits: int = 10, seed: int = 2020
) -> NDArray[np.float64]:
    """Per-item ``KL(p_i || q_chunk)`` in the original row order ``[N]``; low values: uninformative clips."""
    array = as_finite(logits, "logits", 2)
    order = np.random.RandomState(seed).permutation(len(array))
    shuffled = np.concatenate([_chunk_kl(chunk) for chunk in _inception_chunks(array, splits, seed)])
    out = np.empty(len(array))
    out[order] = shuffled
    return out


# --------------------------------------------------------------------------------------- alignment


def compute_alignment_statistics(
    video_embeddings: ArrayLike, audio_embeddings: ArrayLike
) -> dict[str, NDArray]:
    """Per-pair cosine ``{"cosine": [N]}`` between video and audio embeddings (norms clamped at 1e-8)."""
    video = as_finite(video_embeddings, "video_embeddings", 2).astype(np.float64)
    audio = as_finite(audio_embeddings, "audio_embeddings", 2).astype(np.float64)
    same_shape(video, audio, "video_embeddings", "audio_embeddings")
    non_empty(video, "video_embeddings")
    norms = np.maximum(np.linalg.norm(video, axis=1), 1e-8) * np.maximum(np.linalg.norm(audio, axis=1), 1e-8)
    return {"cosine": np.sum(video * audio, axis=1) / norms}


def compute_alignment_scores(statistics: Mapping[str, NDArray], scale: float = 1.0) -> dict[str, float]:
    """``{"alignment": mean cosine * scale}``."""
    non_empty(statistics["cosine"], "statistics['cosine']")
    return {"alignment": float(np.mean(statistics["cosine"]) * scale)}


def evaluate_alignment(
    video_embeddings: ArrayLike, audio_embeddings: ArrayLike, scale: float = 1.0
) -> dict[str, float]:
    """Audio-visual alignment: mean cosine between reference-video and generated-audio embeddings (IB-score).

    Official: av-benchmark 050a5cdb9b ``evaluate.py`` (``IB-Score`` = mean ``torch.cosine_similarity`` of
    ImageBind-huge vision embeddings of the reference video and audio embeddings of the generated audio). With
    ImageBind embeddings this is the IB-score; with the AVSynth reference encoders it is its analogue.

    Args:
        video_embeddings: ``[N, D]`` video embeddings.
        audio_embeddings: ``[N, D]`` audio embeddings of the paired generated audio.
        scale: unit of the result: 1.0 gives the raw cosine in [-1, 1] (what av-benchmark returns); 100 gives
            the value papers print (MMAudio reports 33.22 for 0.3322).

    Returns:
        ``{"alignment"}`` in ``[-scale, scale]``, ``higher_is_better=True``.

    Example:
        >>> evaluate_alignment([[1.0, 0.0]], [[1.0, 1.0]], scale=100)["alignment"] > 70.7
        True
    """
    return compute_alignment_scores(compute_alignment_statistics(video_embeddings, audio_embeddings), scale)


# ------------------------------------------------------------------------------------------ DeSync


def compute_desync_statistics(logits: ArrayLike, grid: ArrayLike | None = None) -> dict[str, NDArray]:
    """Per-clip mean absolute predicted offset ``{"desync": [N]}`` from ``[N, W, K]`` window logits.

    Every window's offset is ``|grid[argmax_k logits]|`` (first index on ties); a clip's value is the mean
    over its W windows (av-benchmark scores W = 2 windows, the first and the last 14 segments of 8 s).
    """
    array = as_finite(logits, "logits", 3)
    offsets = SYNCHFORMER_GRID if grid is None else as_finite(grid, "grid", 1).astype(np.float64)
    if array.shape[2] != len(offsets):
        raise UsageError(f"logits have {array.shape[2]} classes but the offset grid has {len(offsets)}")
    non_empty(array, "logits")
    return {"desync": np.abs(offsets[np.argmax(array, axis=2)]).mean(axis=1)}


def compute_desync_scores(statistics: Mapping[str, NDArray]) -> dict[str, float]:
    """``{"desync"}``: mean over clips, in seconds."""
    non_empty(statistics["desync"], "statistics['desync']")
    return {"desync": float(np.mean(statistics["desync"]))}


def evaluate_desync(logits: ArrayLike, grid: ArrayLike | None = None) -> dict[str, float]:
    """DeSync: mean absolute audio-visual offset predicted by a sync model, in seconds.

    Official: av-benchmark 050a5cdb9b ``evaluate.py`` (``DeSync``: Synchformer AudioSet checkpoint
    24-01-04T16-39-21 scores the first and the last 14 segments of each 8 s clip, ``|grid[argmax]|`` with
    ``grid = make_class_grid(-2, 2, 21)`` in float32, mean over all 2N windows). With the same number of
    windows per clip the mean over clips equals the mean over windows.

    Args:
        logits: ``[N, W, K]`` offset-class logits per clip and window.
        grid: ``[K]`` offsets in seconds (default :data:`SYNCHFORMER_GRID`).

    Returns:
        ``{"desync"}`` in seconds, in ``[0, max |grid|]``, ``higher_is_better=False``.

    Example:
        >>> logits = np.zeros((1, 2, 21))
        >>> logits[0, 0, 10] = logits[0, 1, 12] = 1.0
        >>> round(evaluate_desync(logits)["desync"], 6)
        0.2
    """
    return compute_desync_scores(compute_desync_statistics(logits, grid))
