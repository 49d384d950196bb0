"""The streaming harness: feed chunks to a model, stamp what it emits with the stream clock, time it.

:func:`run_stream` resets the model, feeds it the chunks in order and records, per chunk, the wall time of
``step`` and (optionally) the Python/numpy memory in use (``tracemalloc``); every emitted event gets the
stream clock at the chunk's end as its time. A model that claims an onset later than the clock is caught
(:class:`StreamError`): it can only have seen the future by cheating. :func:`stream_costs` turns a run into
the real-time figures (real-time factor, lag drift, memory growth).

Example:
    >>> import numpy as np
    >>> from fractions import Fraction
    >>> from avikit.media import AVClip
    >>> from avikit.models.streaming.silent import SilentModel
    >>> from avikit.eval.streaming.source import iter_chunks
    >>> clip = AVClip(np.zeros((16, 4, 4, 3), np.uint8), np.zeros((1, 32000), np.float32), 8, 16000)
    >>> run = run_stream(SilentModel(), iter_chunks(clip, Fraction(1, 2)))
    >>> run.events, len(run.chunk_end)
    ([], 4)
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from avikit.errors import AvikitError
from avikit.metrics.streaming import compute_lag, compute_slope, memory_growth, real_time_factor
from avikit.models.streaming.protocol import Chunk, StreamEvent, StreamModel

__all__ = ["StreamError", "StreamRun", "run_stream", "stream_costs"]


class StreamError(AvikitError):
    """A streaming model broke the protocol (e.g. claimed an onset after the stream clock)."""


@dataclass
class StreamRun:
    """What a run produced: stamped events and, per chunk, its end time, processing time and memory."""

    events: list[StreamEvent] = field(default_factory=list)
    chunk_end: list[float] = field(default_factory=list)
    processing: list[float] = field(default_factory=list)
    memory: list[float] = field(default_factory=list)


def run_stream(model: StreamModel, chunks: Iterable[Chunk], measure_memory: bool = False) -> StreamRun:
    """Feed every chunk to ``model``; returns the stamped events and the per-chunk costs."""
    run = StreamRun()
    started = False
    if measure_memory:
        tracemalloc.start()
    try:
        for chunk in chunks:
            if not started:
                model.reset(chunk.fps, chunk.sample_rate)
                started = True
            begin = time.perf_counter()
            out = model.step(chunk)
            run.processing.append(time.perf_counter() - begin)
            clock = float(chunk.end)
            run.chunk_end.append(clock)
            if measure_memory:
                run.memory.append(float(tracemalloc.get_traced_memory()[0]))
            for event in out:
                if event.onset is not None and event.onset > clock + 1e-9:
                    raise StreamError(
                        f"{model.id} reported an onset at {event.onset} s at stream clock {clock} s: "
                        "a model can only report what it has received"
                    )
                run.events.append(replace(event, time=clock))
    finally:
        if measure_memory:
            tracemalloc.stop()
    return run


def stream_costs(run: StreamRun) -> dict[str, Any]:
    """Real-time factor, lag (final, max) and its drift, and memory growth of a run (if measured)."""
    duration = run.chunk_end[-1] if run.chunk_end else 0.0
    lag = compute_lag(run.chunk_end, run.processing)
    out: dict[str, Any] = {
        "stream_seconds": duration,
        "real_time_factor": real_time_factor(run.processing, duration) if duration else float("nan"),
        "lag_final_s": float(lag[-1]) if len(lag) else 0.0,
        "lag_max_s": float(lag.max()) if len(lag) else 0.0,
        "lag_drift_s_per_s": compute_slope(run.chunk_end, lag),
        "processing_p95_ms": float(np.quantile(run.processing, 0.95) * 1000) if run.processing else 0.0,
    }
    if run.memory:
        out["memory"] = memory_growth(run.chunk_end, run.memory)
        out["memory_peak_mb"] = max(run.memory) / 2**20
    return out
