"""Streaming measures: timely detection, latency, premature answers, real-time factor, lag drift, memory.

Definitions (StreamingBench, OVO-Bench's forward-active probing, and the PhoStream premature-answer class):

- an emission of class ``c`` at stream time ``t`` is *timely* for a true onset ``o`` of ``c`` when
  ``o <= t <= o + window``; emissions are matched in time order to the earliest unmatched timely onset;
  its *latency* is ``t - o``. An unmatched emission with an onset of ``c`` in ``(t, t + window]`` is
  *premature* (it answered before the cue), any other unmatched one a false positive. Recall is matched
  onsets over onsets, precision matched emissions over emissions.
- real-time factor: processing seconds over stream seconds (below 1 keeps up).
- lag: when chunk ``k`` (available at media time ``a_k``) is done if processing starts once both it and the
  previous chunk are there: ``f_k = max(a_k, f_{k-1}) + p_k``, lag ``f_k - a_k``; the drift is the
  least-squares slope of lag against media time (seconds per second; 0 for a system that keeps up).
- memory growth: least-squares slope of memory in use against stream time (bytes per stream second), and
  whether the second half grows faster than ``2x`` the first half plus 1 kB/s (super-linear growth).

Example:
    >>> stats = match_emissions([("dog", 2.0), ("bell", 5.0)], [("dog", 2.5), ("bell", 4.0)], window=2.0)
    >>> stats["latencies"].tolist(), stats["premature"], stats["false_positives"]
    ([0.5, nan], 1, 0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "compute_lag",
    "compute_slope",
    "jaccard",
    "latency_quantiles",
    "match_emissions",
    "memory_growth",
    "real_time_factor",
]


def match_emissions(
    onsets: Sequence[tuple[str, float]], emissions: Sequence[tuple[str, float]], window: float
) -> dict[str, object]:
    """Match emissions ``(class, time)`` to true onsets ``(class, onset)`` (see the module docstring).

    Returns:
        ``latencies`` ``float [len(onsets)]`` (NaN where missed), ``matched``, ``emitted``, ``premature``,
        ``false_positives``, ``recall`` and ``precision`` (NaN without onsets or emissions).
    """
    latencies = np.full(len(onsets), np.nan)
    matched = premature = false = 0
    for label, time in sorted(emissions, key=lambda e: e[1]):
        candidates = [
            k
            for k, (c, o) in enumerate(onsets)
            if c == label and o <= time <= o + window and math.isnan(latencies[k])
        ]
        if candidates:
            k = min(candidates, key=lambda j: onsets[j][1])
            latencies[k] = time - onsets[k][1]
            matched += 1
        elif any(c == label and time < o <= time + window for c, o in onsets):
            premature += 1
        else:
            false += 1
    found = int(np.sum(~np.isnan(latencies)))
    return {
        "latencies": latencies,
        "matched": matched,
        "emitted": len(emissions),
        "premature": premature,
        "false_positives": false,
        "recall": found / len(onsets) if onsets else float("nan"),
        "precision": matched / len(emissions) if emissions else float("nan"),
    }


def latency_quantiles(latencies: np.ndarray) -> dict[str, float]:
    """Median and 95th percentile of the finite latencies (NaN if none)."""
    finite = np.asarray(latencies, np.float64)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return {"median": float("nan"), "p95": float("nan")}
    return {"median": float(np.median(finite)), "p95": float(np.quantile(finite, 0.95))}


def real_time_factor(processing_seconds: Sequence[float], stream_seconds: float) -> float:
    """Processing time over stream time."""
    if stream_seconds <= 0:
        raise ValueError(f"stream_seconds must be positive, got {stream_seconds}")
    return float(np.sum(processing_seconds)) / stream_seconds


def compute_lag(available: Sequence[float], processing: Sequence[float]) -> np.ndarray:
    """Lag of every chunk ``f_k - a_k`` with ``f_k = max(a_k, f_{k-1}) + p_k`` (seconds)."""
    lag = np.empty(len(available))
    finish = -np.inf
    for k, (a, p) in enumerate(zip(available, processing, strict=True)):
        finish = max(a, finish) + p
        lag[k] = finish - a
    return lag


def compute_slope(times: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray) -> float:
    """Least-squares slope of ``values`` against ``times`` (0 for fewer than two points)."""
    t, v = np.asarray(times, np.float64), np.asarray(values, np.float64)
    if len(t) < 2 or np.ptp(t) == 0:
        return 0.0
    return float(np.polyfit(t, v, 1)[0])


def memory_growth(times: Sequence[float], used_bytes: Sequence[float]) -> dict[str, float | bool]:
    """Bytes per stream second over the whole stream and each half, and the super-linear flag."""
    t, v = np.asarray(times, np.float64), np.asarray(used_bytes, np.float64)
    half = len(t) // 2
    first, second = compute_slope(t[:half], v[:half]), compute_slope(t[half:], v[half:])
    return {
        "bytes_per_second": compute_slope(t, v),
        "first_half": first,
        "second_half": second,
        "superlinear": bool(second > 2 * max(first, 0.0) + 1000.0),
    }


def jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    """Jaccard index of two label sets (1 when both are empty)."""
    sa, sb = set(a), set(b)
    return 1.0 if not sa and not sb else len(sa & sb) / len(sa | sb)
