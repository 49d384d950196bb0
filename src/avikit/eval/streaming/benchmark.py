"""The streaming benchmark: models on a streaming task's streams, scored with exact truth, costs measured.

:func:`score_stream` turns one run into per-stream values (matched onsets, latencies, alerts, answers) with
:mod:`avikit.metrics.streaming`; :func:`run_stream_benchmark` runs every model on ``n`` streams, adds the
trivial baseline (``silent``) and, for event detection, the offline reference (the same AVVP model on
whole 10 s windows, reporting at the true time of what it finds: what streaming could at best recover),
and writes ``results.json``, ``traces.jsonl`` and ``leaderboard.md``. :func:`measure_long_stream` feeds a
model a 10-minute stream (five ``long`` clips in a row) to measure real-time factor, lag drift and memory.

Example:
    >>> from avikit.tasks.streaming import get_stream_task
    >>> from avikit.eval.streaming.harness import StreamRun
    >>> from avikit.models.streaming import StreamEvent
    >>> task = get_stream_task("stream-events")
    >>> ref = task.streams(1)[0]
    >>> label, onset = stream_onsets(ref)[0]
    >>> run = StreamRun([StreamEvent("onset", label, onset, time=onset + 0.5)], [120.0], [1.0])
    >>> score_stream(task, ref, run)["latencies"][0]
    0.5
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.manifest import atomic_writer
from avikit.data.synth import generate
from avikit.eval.interaction_table import format_table, score_row, write_json
from avikit.eval.streaming.harness import StreamRun, run_stream, stream_costs
from avikit.eval.streaming.source import concatenate_clips, iter_chunks, stream_clip
from avikit.metrics.streaming import jaccard, latency_quantiles, match_emissions
from avikit.models.clip_items import clip_item
from avikit.models.registry import get_model
from avikit.models.streaming import Question, StreamEvent, get_stream_model
from avikit.tasks import get_task
from avikit.tasks.streaming import StreamRef, StreamTask, get_stream_task, stream_onsets, stream_questions

__all__ = ["measure_long_stream", "offline_run", "run_stream_benchmark", "score_stream", "stream_file"]


def _questions(task: StreamTask, ref: StreamRef) -> list[dict[str, Any]]:
    return stream_questions(ref) if task.spec.name == "stream-questions" else []


def score_stream(task: StreamTask, ref: StreamRef, run: StreamRun) -> dict[str, Any]:
    """Per-stream values of ``task`` from one run."""
    name, duration = task.spec.name, run.chunk_end[-1]
    rtf = float(np.sum(run.processing)) / duration
    if name == "stream-events":
        onsets = stream_onsets(ref)
        emitted = [(e.label or "", float(e.time or 0.0)) for e in run.events if e.kind == "onset"]
        m = match_emissions(onsets, emitted, task.window)
        latencies = np.asarray(m["latencies"], np.float64)
        first = float(latencies[0]) if len(onsets) else float("nan")
        return {
            **m,
            "latencies": latencies.tolist(),
            "time_to_first_response": first,
            "real_time_factor": rtf,
        }
    if name == "stream-sync":
        alerts = [float(e.time or 0.0) for e in run.events if e.kind == "alert"]
        t_d = float(ref.drift_time or 0.0)
        hits = [t - t_d for t in alerts if t_d <= t <= t_d + task.window]
        before = [t for t in alerts if t < t_d]
        return {
            "detected": float(bool(hits)),
            "delay": min(hits) if hits else float("nan"),
            "false_alarms_per_minute": 60 * len(before) / t_d,
            "real_time_factor": rtf,
        }
    answers = {e.question: e for e in run.events if e.kind == "answer"}
    now, timely, premature, latency = [], [], [], []
    for q in _questions(task, ref):
        got = answers.get(q["id"])
        if q["kind"] == "now":
            now.append(jaccard(got.answer if got else [], q["truth"]))
            continue
        t = None if got is None else float(got.time or 0.0)
        timely.append(float(t is not None and q["onset"] <= t <= q["onset"] + task.window))
        premature.append(float(t is not None and t < q["onset"]))
        latency.append(t - q["onset"] if t is not None and timely[-1] else float("nan"))
    return {
        "now_jaccard": now,
        "notify_timely": timely,
        "notify_premature": premature,
        "notify_latency": latency,
        "real_time_factor": rtf,
    }


def offline_run(ref: StreamRef, window_seconds: int = 10) -> StreamRun:
    """The offline AVVP model on consecutive whole windows; each new class is reported at its true second."""
    clip = stream_clip(ref)
    model, task = get_model("avvp"), get_task("avvp")
    events: list[StreamEvent] = []
    heard: set[str] = set()
    for start in range(0, int(clip.duration) - window_seconds + 1, window_seconds):
        part = clip.trim(start, window_seconds)
        for k, labels in enumerate(model.predict(task, [clip_item(part, "offline", task)])[0]["audio"]):
            events += [
                StreamEvent("onset", c, start + k, time=start + k) for c in sorted(set(labels) - heard)
            ]
            heard = set(labels)
    return StreamRun(events, [float(clip.duration)], [0.0])


def _values(task: StreamTask, scored: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Per-unit arrays for the leaderboard (streams; latencies pooled over events)."""
    name = task.spec.name
    col = lambda key: np.array([s[key] for s in scored], np.float64)  # noqa: E731
    if name == "stream-events":
        latencies = np.concatenate([np.asarray(s["latencies"], np.float64) for s in scored])
        q = latency_quantiles(latencies)
        return {
            "recall": col("recall"),
            "precision": col("precision"),
            "median_latency": np.array([q["median"]]),
            "p95_latency": np.array([q["p95"]]),
            "premature_rate": np.array([s["premature"] / max(s["emitted"], 1) for s in scored]),
            "time_to_first_response": col("time_to_first_response"),
            "real_time_factor": col("real_time_factor"),
        }
    if name == "stream-sync":
        return {
            "detection_rate": col("detected"),
            "detection_delay": col("delay"),
            "false_alarms_per_minute": col("false_alarms_per_minute"),
            "real_time_factor": col("real_time_factor"),
        }
    pooled = {
        k: np.concatenate([np.asarray(s[k], np.float64) for s in scored])
        for k in ("now_jaccard", "notify_timely", "notify_premature", "notify_latency")
    }
    return {**pooled, "real_time_factor": col("real_time_factor")}


def run_stream_benchmark(
    task_name: str, models: Sequence[str], out: str | Path, n: int = 5, seed: int = 0
) -> dict[str, Any]:
    """Every model (and the silent baseline) on ``n`` streams; writes results, traces and the leaderboard."""
    task = get_stream_task(task_name)
    refs = task.streams(n, seed)
    names = [*models, *(["silent"] if "silent" not in models else [])]
    rows, lines = [], []
    clips = {ref.id: stream_clip(ref) for ref in refs}
    for name in names:
        scored = []
        for ref in refs:
            questions = [
                Question(q["id"], q["time"], q["kind"], q["text"], q.get("label"))
                for q in _questions(task, ref)
            ]
            model = get_stream_model(name)
            run = run_stream(model, iter_chunks(clips[ref.id], task.chunk_seconds, questions))
            scored.append(score_stream(task, ref, run))
            lines.append(
                {
                    "model": name,
                    "stream": ref.id,
                    "events": [e.__dict__ for e in run.events],
                    "costs": stream_costs(run),
                    "scores": scored[-1],
                }
            )
        rows.append(score_row(name, _values(task, scored), seed, {"model_id": model.id}))
    if task_name == "stream-events":
        scored = [score_stream(task, ref, offline_run(ref)) for ref in refs]
        rows.append(
            score_row("avvp offline (reference)", _values(task, scored), seed, {"model_id": "avikit/avvp"})
        )
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_writer(folder / "traces.jsonl") as f:
        f.writelines(json.dumps(line, default=float) + "\n" for line in lines)
    result = {
        "task": task_name,
        "task_version": task.spec.version,
        "protocol_hash": task.spec.protocol_hash,
        "streams": [r.id for r in refs],
        "seed": seed,
        "rows": rows,
    }
    write_json(folder / "results.json", result)
    head = f"# {task_name} v{task.spec.version} ({task.spec.protocol_hash})\n\n"
    (folder / "leaderboard.md").write_text(head + format_table(rows, task.spec.metrics, label="model") + "\n")
    return result


def measure_long_stream(
    model_name: str, minutes: int = 10, seed: int = 0, measure_memory: bool = True
) -> dict[str, Any]:
    """Costs of a model on a ``minutes``-long stream (``long`` clips in a row, 0.5 s chunks)."""
    count = max(1, round(minutes * 60 / 120))
    clip = concatenate_clips([generate("long", i, seed)[1] for i in range(count)])
    from fractions import Fraction

    run = run_stream(
        get_stream_model(model_name), iter_chunks(clip, Fraction(1, 2)), measure_memory=measure_memory
    )
    return {"model": model_name, **stream_costs(run)}


def stream_file(path: str | Path, model_name: str, chunk_seconds: float = 0.5) -> dict[str, Any]:
    """Stream a media file (loaded at 8 fps, 16 kHz, 128 px) through a model; its events and costs."""
    from fractions import Fraction

    from avikit.media import load

    clip = load(path, fps=8, sample_rate=16000, size=128)
    run = run_stream(
        get_stream_model(model_name), iter_chunks(clip, Fraction(chunk_seconds).limit_denominator(1000))
    )
    events = [{k: v for k, v in e.__dict__.items() if v is not None} for e in run.events]
    return {"file": str(path), "model": model_name, "events": events, **stream_costs(run)}
