"""The watermark table: each watermarker under each attack, on AVSynth and speech-like clips.

For a split, :func:`evaluate_watermarks` cuts 2 s windows from AVSynth clips (mono) and from speech-like
babble (:mod:`avikit.data.synth.speech`), then per watermarker:

- **null scores**: the detector on ``num_null`` clean windows; the thresholds at FPR 1e-2 and 1e-3
  (:mod:`avikit.metrics.watermark`) come from them;
- **quality**: SI-SNR (dB) of the watermarked windows to the clean ones and, when the ``pesq`` package is
  installed, wide-band PESQ (ITU-T P.862.2; MOS-LQO 1.04-4.64);
- **per attack** (:data:`~avikit.metrics.watermark_attacks.STANDARD_ATTACKS`): the detector on the
  watermarked windows after the attack (TPR at both FPRs with 95% bootstrap intervals over windows, AUC,
  bit accuracy, median p-value of the decoded 16-bit message), on the *clean* windows after the same attack
  (the false-positive rate the attack causes at the FPR 1e-2 threshold), and on windows watermarked only on
  a random half (localization IoU).

Chance levels stand beside the scores: a detector that ignores its input has TPR equal to the FPR, AUC 0.5
and bit accuracy 0.5.

Example:
    >>> round(chance_levels()["tpr@fpr=0.001"], 3)
    0.001
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avikit.data.synth.audio import render_audio
from avikit.data.synth.scene import sample_scene
from avikit.data.synth.speech import SPEECH_SEEDS, render_speech
from avikit.metrics import compute_bootstrap_ci
from avikit.metrics.reconstruction import compute_si_sdr
from avikit.metrics.watermark import (
    FPR_LEVELS,
    compute_auc,
    compute_binomial_p_value,
    compute_detection_threshold,
    compute_localization_iou,
    compute_watermark_statistics,
)
from avikit.metrics.watermark_attacks import STANDARD_ATTACKS, apply_attack
from avikit.models.watermark import NUM_BITS, AudioWatermarker

__all__ = [
    "THRESHOLDS_FILE",
    "calibrate_thresholds",
    "chance_levels",
    "detect_audio",
    "detect_file",
    "evaluate_watermarks",
    "load_thresholds",
    "load_windows",
]

log = logging.getLogger(__name__)

WINDOW_SECONDS = 2
SAMPLE_RATE = 16000


def chance_levels(fprs: Sequence[float] = FPR_LEVELS) -> dict[str, float]:
    """Scores of a detector that ignores its input (the trivial baseline of every row).

    Its p-value is the median of ``P(X >= k)`` over ``k ~ Bin(16, 1/2)``: ``P(X >= 8)``.
    """
    p_value = float(compute_binomial_p_value([NUM_BITS // 2], NUM_BITS)[0])
    return {**{f"tpr@fpr={f:g}": f for f in fprs}, "auc": 0.5, "bit_accuracy": 0.5, "p_value": p_value}


def load_windows(split: str, count: int, seed: int = 0) -> tuple[NDArray[np.float32], list[str]]:
    """``count`` 2 s mono windows ``[count, 32000]``: half AVSynth (5 per clip), half speech; and their kinds.

    Windows with no sound at all (AVSynth clips with silent stretches) are skipped: nothing can be
    watermarked there.
    """
    windows: list[NDArray[np.float32]] = []
    kinds: list[str] = []
    size = WINDOW_SECONDS * SAMPLE_RATE
    index = 0
    while sum(k == "avsynth" for k in kinds) < count // 2:
        audio = render_audio(sample_scene(split, index, seed)).mean(0)
        index += 1
        for start in range(0, len(audio) - size + 1, size):
            piece = audio[start : start + size]
            if np.sqrt(np.mean(piece**2)) > 1e-3 and sum(k == "avsynth" for k in kinds) < count // 2:
                windows.append(piece)
                kinds.append("avsynth")
    index = SPEECH_SEEDS[split]
    while len(windows) < count:
        audio = render_speech(index, 10.0, SAMPLE_RATE)
        index += 1
        for start in range(0, len(audio) - size + 1, size):
            if len(windows) < count:
                windows.append(audio[start : start + size])
                kinds.append("speech")
    return np.stack(windows).astype(np.float32), kinds


def _pesq(clean: NDArray[np.float32], marked: NDArray[np.float32]) -> list[float] | None:
    """Wide-band PESQ per window; windows where PESQ finds no utterance (pure tones, silence) are left out."""
    try:
        from pesq import PesqError, pesq
    except ImportError:
        log.warning("the pesq package is not installed (pip install 'avikit[watermark]'); PESQ left out")
        return None
    values = [
        float(pesq(SAMPLE_RATE, c, m, "wb", on_error=PesqError.RETURN_VALUES))
        for c, m in zip(clean, marked, strict=True)
    ]
    return [v for v in values if v >= 0] or None  # PESQ errors come back as negative codes


def _attack_row(
    marker: AudioWatermarker,
    spec: str,
    marked: NDArray[np.float32],
    clean: NDArray[np.float32],
    messages: NDArray[np.int64],
    partial: tuple[NDArray[np.float32], NDArray[np.float32]],
    null: NDArray[np.float64],
    seed: int,
    fprs: Sequence[float],
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    ones = np.ones(marked.shape[1])
    scores, decoded = [], []
    for i, audio in enumerate(marked):
        found = marker.detect(
            apply_attack(spec, audio, ones, SAMPLE_RATE, rng, clean[(i + 1) % len(clean)]).audio
        )
        scores.append(found.score)
        decoded.append(found.bits)
    clean_scores = [
        marker.detect(apply_attack(spec, a, ones, SAMPLE_RATE, rng, clean[(i + 1) % len(clean)]).audio).score
        for i, a in enumerate(clean)
    ]
    ious = []
    for i, (audio, mask) in enumerate(zip(*partial, strict=True)):
        attacked = apply_attack(spec, audio, mask, SAMPLE_RATE, rng, clean[(i + 1) % len(clean)])
        ious.append(compute_localization_iou(marker.detect(attacked.audio).probability, attacked.mask))
    stats = compute_watermark_statistics(scores, np.array(decoded), messages)
    row: dict[str, Any] = {"attack": spec}
    for fpr in fprs:
        hits = (stats["score"] > compute_detection_threshold(null, fpr)).astype(np.float64)
        row[f"tpr@fpr={fpr:g}"] = float(hits.mean())
        row[f"tpr@fpr={fpr:g}_ci"] = list(compute_bootstrap_ci(hits, seed=seed))
    row["auc"] = compute_auc(stats["score"], null)
    row["bit_accuracy"] = float(stats["bit_accuracy"].mean())
    row["bit_accuracy_ci"] = list(compute_bootstrap_ci(stats["bit_accuracy"], seed=seed))
    row["p_value"] = float(np.median(stats["p_value"]))
    row[f"attacked_clean_fpr@{fprs[0]:g}"] = float(
        np.mean(np.array(clean_scores) > compute_detection_threshold(null, fprs[0]))
    )
    row["localization_iou"] = float(np.mean(ious))
    return row


def _partial(
    marker: AudioWatermarker,
    clean: NDArray[np.float32],
    messages: NDArray[np.int64],
    rng: np.random.Generator,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Windows watermarked on one random half only, and their masks."""
    size = clean.shape[1]
    audio, masks = [], []
    for window, message in zip(clean, messages, strict=True):
        start = int(rng.integers(0, size // 2 + 1))
        mask = np.zeros(size, np.float32)
        mask[start : start + size // 2] = 1
        audio.append(np.where(mask > 0, marker.embed(window, message), window))
        masks.append(mask)
    return np.stack(audio).astype(np.float32), np.stack(masks)


def _evaluate_one(
    marker: AudioWatermarker,
    null_windows: NDArray[np.float32],
    clean: NDArray[np.float32],
    attacks: Sequence[str],
    seed: int,
    num_localization: int,
    fprs: Sequence[float],
) -> dict[str, Any]:
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    messages = rng.integers(0, 2, (len(clean), NUM_BITS))
    null = np.array([marker.detect(w).score for w in null_windows], dtype=np.float64)
    marked = np.stack([marker.embed(w, m) for w, m in zip(clean, messages, strict=True)])
    si_snr = compute_si_sdr(clean.astype(np.float64), marked.astype(np.float64))
    pesq_values = _pesq(clean, marked)
    partial = _partial(marker, clean[:num_localization], messages[:num_localization], rng)
    rows = [_attack_row(marker, spec, marked, clean, messages, partial, null, seed, fprs) for spec in attacks]
    return {
        "name": marker.name,
        "weights_hash": marker.weights_hash,
        "thresholds": {f"{f:g}": compute_detection_threshold(null, f) for f in fprs},
        "null_scores": {"mean": float(null.mean()), "max": float(null.max())},
        "quality": {
            "si_snr": float(si_snr.mean()),
            "si_snr_ci": list(compute_bootstrap_ci(si_snr, seed=seed)),
            "pesq_wb": None if pesq_values is None else float(np.mean(pesq_values)),
            "pesq_wb_ci": None if pesq_values is None else list(compute_bootstrap_ci(pesq_values, seed=seed)),
            "pesq_wb_windows": 0 if pesq_values is None else len(pesq_values),
        },
        "rows": rows,
        "seconds": round(time.perf_counter() - start, 1),
    }


def evaluate_watermarks(
    watermarkers: Mapping[str, AudioWatermarker],
    split: str = "test",
    num_null: int = 1000,
    num_marked: int = 200,
    num_localization: int = 50,
    attacks: Sequence[str] = STANDARD_ATTACKS,
    seed: int = 0,
    fprs: Sequence[float] = FPR_LEVELS,
) -> dict[str, Any]:
    """The attack table of every watermarker (module docstring); the content of ``watermark.json``.

    Args:
        watermarkers: watermarkers by name.
        split: ``val`` to choose, ``test`` to report.
        num_null: clean windows for the thresholds (at least 1000 for FPR 1e-3).
        num_marked: windows watermarked per attack (other windows than the null ones).
        num_localization: of those, windows watermarked on half their length, for localization IoU.
        attacks: attack specs.
        seed: seed of messages, attacks and bootstrap.
        fprs: false-positive rates of the thresholds (``1 / fpr <= num_null``).
    """
    windows, kinds = load_windows(split, num_null + num_marked, seed)
    order = np.random.default_rng(seed).permutation(len(windows))  # AVSynth and speech in both sets
    null_windows, clean = windows[order[:num_null]], windows[order[num_null:]]
    results = {
        name: _evaluate_one(marker, null_windows, clean, attacks, seed, num_localization, fprs)
        for name, marker in watermarkers.items()
    }
    return {
        "split": split,
        "window_seconds": WINDOW_SECONDS,
        "sample_rate": SAMPLE_RATE,
        "num_null": num_null,
        "num_marked": num_marked,
        "num_localization": num_localization,
        "speech_share": float(np.mean([kinds[i] == "speech" for i in order[num_null:]])),
        "chance": chance_levels(fprs),
        "watermarkers": results,
    }


# ------------------------------------------------------------------------------------------------- detection


THRESHOLDS_FILE = "thresholds.json"
"""Beside the learned watermark's weights: each watermarker's thresholds at FPR 1e-2 and 1e-3 (val)."""


def load_thresholds() -> dict[str, Any]:
    """The calibrated thresholds ``{name: {"0.01": t, "0.001": t}, "calibration": {...}}`` (val, 2 s)."""
    import json

    from avikit.models.packaged import WEIGHTS_DIR

    path = WEIGHTS_DIR / "watermark" / THRESHOLDS_FILE
    thresholds: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return thresholds


def calibrate_thresholds(
    watermarkers: Mapping[str, AudioWatermarker], num_null: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Thresholds at FPR 1e-2 and 1e-3 of each watermarker from its scores on ``num_null`` clean val windows.

    The content of :data:`THRESHOLDS_FILE` (choices are made on val, never on test).
    """
    windows, _ = load_windows("val", num_null, seed)
    out: dict[str, Any] = {}
    for name, marker in watermarkers.items():
        null = np.array([marker.detect(w).score for w in windows], dtype=np.float64)
        out[name] = {f"{f:g}": compute_detection_threshold(null, f) for f in FPR_LEVELS}
    out["calibration"] = {
        "split": "val",
        "num_null": num_null,
        "window_seconds": WINDOW_SECONDS,
        "seed": seed,
    }
    return out


def _segments(
    probability: NDArray[np.float32], sample_rate: int, gap: float = 0.1, shortest: float = 0.05
) -> list[tuple[float, float]]:
    """Runs of samples with probability > 0.5 in seconds ``(start, end)``.

    Runs less than ``gap`` s apart are joined, runs shorter than ``shortest`` s dropped.

    Example:
        >>> _segments(np.r_[np.ones(1000), np.zeros(500), np.ones(1000), np.zeros(9000), np.ones(100)], 10000)
        [(0.0, 0.25)]
    """
    flagged = np.r_[False, probability > 0.5, False].astype(np.int8)
    edges = np.flatnonzero(np.diff(flagged))
    runs: list[list[int]] = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if runs and start - runs[-1][1] < gap * sample_rate:
            runs[-1][1] = int(stop)
        else:
            runs.append([int(start), int(stop)])
    return [(a / sample_rate, b / sample_rate) for a, b in runs if b - a >= shortest * sample_rate]


def detect_audio(audio: NDArray[np.floating], names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Run watermark detectors on mono 16 kHz ``audio [N]``; one report per watermarker.

    A report has the score, the decision at FPR 1e-2 and 1e-3 (thresholds of :func:`load_thresholds`,
    calibrated on 2 s clips), the decoded message (hex), its binomial p-value against the nearest avikit
    generator's message, the generators whose message it is, and, when detected at FPR 1e-2, the
    watermarked spans in seconds.
    """
    from avikit.models.generation.cards import GENERATOR_CARDS
    from avikit.models.watermark import WATERMARKERS, describe_message, load_watermarker, message_for

    thresholds = load_thresholds()
    reports = []
    for name in names or list(WATERMARKERS):
        found = load_watermarker(name).detect(audio)
        first = thresholds[name][f"{FPR_LEVELS[0]:g}"]
        ids = [card.model_id for card in GENERATOR_CARDS.values() if card.watermarked]
        best = max(ids, key=lambda i: int(np.sum(message_for(i) == found.message)))
        correct = int(np.sum(message_for(best) == found.message))
        reports.append({
            "watermarker": name,
            "score": found.score,
            "detected": {f: bool(found.score > t) for f, t in thresholds[name].items()},
            "message": f"{int(''.join(map(str, found.message)), 2):04x}",
            "generators": describe_message(found.message, ids),
            "nearest_generator": {"model": best, "bits_correct": correct,
                                  "p_value": float(compute_binomial_p_value([correct], NUM_BITS)[0])},
            "watermarked_share": float(np.mean(found.probability > 0.5)),
            "segments": _segments(found.probability, SAMPLE_RATE) if found.score > first else [],
        })  # fmt: skip
    return reports


def detect_file(
    path: str | Path, names: Sequence[str] | None = None, npy_sample_rate: int = SAMPLE_RATE
) -> list[dict[str, Any]]:
    """:func:`detect_audio` on a file's audio.

    Any media file is decoded to mono 16 kHz by FFmpeg; a generator's ``.npy`` prediction (mono or
    ``[C, N]`` at ``npy_sample_rate``) is averaged to mono and resampled when not at 16 kHz.
    """
    from scipy import signal

    from avikit.errors import UsageError
    from avikit.media import load

    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{file}: no such file")
    if file.suffix == ".npy":
        array = np.load(file)
        mono = np.asarray(array, np.float64).reshape(-1, np.shape(array)[-1]).mean(0)
        if npy_sample_rate != SAMPLE_RATE:
            log.info("%s: resampling %d Hz to %d Hz", file, npy_sample_rate, SAMPLE_RATE)
            mono = signal.resample_poly(mono, SAMPLE_RATE, npy_sample_rate)
        audio = mono.astype(np.float32)
    else:
        audio = load(file, video=False, sample_rate=SAMPLE_RATE, channels=1).require_waveform()[0]
    return detect_audio(audio, names)
