"""Measurements of the AV-LLM bench beyond task scores.

Speed and memory, counterfactual consistency, and the generation side of the LLM+Generator and unified
archetypes:

- :func:`measure_speed`: generated tokens per second and resident memory (sampled every 20 ms from
  ``/proc/self/statm``) while a model answers a fixed set of questions;
- :func:`counterfactual_consistency`: each evidence question asked again with the cited evidence removed
  (its span silenced and/or blacked out, by the modality the ground truth cites) and with an equally long
  unrelated span removed; :func:`avikit.metrics.faithfulness.compute_counterfactual_statistics` compares
  the answers;
- :func:`score_tool_calls`: call validity, tool accuracy and loudness-ramp error of LLM+Generator calls;
- :func:`generation_distance`: mel distance of generated sound to a reference.

Example:
    >>> frames, waveform = np.ones((2, 4, 4, 3), np.uint8), np.ones((1, 16), np.float32)
    >>> remove_span(frames, waveform, (0.0, 0.5), "audio", 2, 16)[1].sum()
    np.float32(8.0)
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from avikit.data.tool_requests import ToolRequest
from avikit.metrics.faithfulness import compute_counterfactual_statistics
from avikit.metrics.reconstruction import compute_mel_distance

__all__ = [
    "counterfactual_consistency",
    "generation_distance",
    "measure_speed",
    "remove_span",
    "resident_mb",
    "score_tool_calls",
]


def resident_mb() -> float:
    """Resident memory of this process in MiB (``/proc/self/statm``; ``ru_maxrss`` elsewhere)."""
    try:
        pages = int(open("/proc/self/statm").read().split()[1])  # noqa: SIM115 (one read)
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_speed(run: Callable[[], int]) -> dict[str, float]:
    """Run ``run()`` (returning the tokens it generated): tokens/s, seconds and peak resident MiB."""
    peak = [resident_mb()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], resident_mb())
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    tokens = run()
    seconds = time.perf_counter() - start
    stop.set()
    thread.join()
    return {
        "tokens": float(tokens),
        "seconds": round(seconds, 2),
        "tokens_per_second": round(tokens / max(seconds, 1e-9), 2),
        "peak_resident_mb": round(max(peak[0], resident_mb()), 1),
    }


def remove_span(
    frames: np.ndarray,
    waveform: np.ndarray,
    span: tuple[float, float],
    modality: str,
    fps: int,
    sample_rate: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Copies of cut media with ``span`` (seconds) silenced (audio), blacked out (visual) or both."""
    frames, waveform = frames.copy(), waveform.copy()
    if modality in ("audio", "audio_visual"):
        waveform[:, int(span[0] * sample_rate) : int(np.ceil(span[1] * sample_rate))] = 0
    if modality in ("visual", "audio_visual"):
        frames[int(span[0] * fps) : int(np.ceil(span[1] * fps))] = 0
    return frames, waveform


def _unrelated(span: tuple[float, float], duration: float) -> tuple[float, float]:
    """An equally long span away from ``span``: after it when it fits, else before it (clipped)."""
    length = span[1] - span[0]
    start = span[1] if span[1] + length <= duration else max(0.0, span[0] - length)
    return start, min(duration, start + length)


def counterfactual_consistency(
    answer: Callable[[np.ndarray, np.ndarray, str], str],
    questions: Sequence[tuple[np.ndarray, np.ndarray, str, tuple[float, float], str]],
    fps: int,
    sample_rate: int,
    duration: float,
) -> dict[str, Any]:
    """Sensitivity to removing the cited evidence and invariance to removing unrelated content.

    Args:
        answer: ``answer(frames, waveform, question) -> text`` of the model under test.
        questions: ``(frames, waveform, question, evidence span, evidence modality)``; questions whose
            evidence covers the whole clip (nothing unrelated to remove) are skipped.
        fps: frame rate of ``frames``.
        sample_rate: sample rate of ``waveform``.
        duration: clip length in seconds.

    Returns:
        per-question ``sensitive``, ``invariant``, ``consistent`` lists and their means, and the count.
    """
    original, removed, unrelated = [], [], []
    for frames, waveform, question, span, modality in questions:
        if span[1] - span[0] >= duration - 1e-6 or span[1] <= span[0]:
            continue
        word = answer(frames, waveform, question).split(".")[0]
        original.append(word)
        removed.append(
            answer(*remove_span(frames, waveform, span, modality, fps, sample_rate), question).split(".")[0]
        )
        other = _unrelated(span, duration)
        unrelated.append(
            answer(*remove_span(frames, waveform, other, modality, fps, sample_rate), question).split(".")[0]
        )
    if not original:
        return {"count": 0}
    stats = compute_counterfactual_statistics(original, removed, unrelated)
    return {
        "count": len(original),
        **{k: v.tolist() for k, v in stats.items()},
        **{f"{k}_rate": float(100 * v.mean()) for k, v in stats.items()},
    }


def score_tool_calls(
    requests: Sequence[ToolRequest], calls: Sequence[dict[str, Any] | None], errors: Sequence[list[str]]
) -> dict[str, float]:
    """Percent of parsed calls, schema-valid calls, right tools, and the mean absolute gain error (dB)."""
    valid = [call is not None and not err for call, err in zip(calls, errors, strict=True)]
    right = [v and call["tool"] == r.call["tool"] for v, call, r in zip(valid, calls, requests, strict=True)]  # type: ignore[index]
    gains = [
        np.abs(np.subtract(call.get("gain_db", [0, 0]), r.call["gain_db"])).mean()  # type: ignore[union-attr]
        for ok, call, r in zip(right, calls, requests, strict=True)
        if ok and "gain_db" in r.call
    ]
    return {
        "parsed": float(100 * np.mean([c is not None for c in calls])),
        "valid": float(100 * np.mean(valid)),
        "tool_accuracy": float(100 * np.mean(right)),
        "gain_error_db": float(np.mean(gains)) if gains else float("nan"),
        "count": float(len(requests)),
    }


def generation_distance(reference: np.ndarray, generated: np.ndarray | None, sample_rate: int) -> float:
    """DAC mel distance of generated mono sound to the reference (silence when nothing was generated)."""
    estimate = (
        np.zeros_like(reference)
        if generated is None
        else np.pad(generated[: len(reference)], (0, max(0, len(reference) - len(generated))))
    )
    return float(compute_mel_distance(reference.astype(np.float64), estimate.astype(np.float64), sample_rate))
