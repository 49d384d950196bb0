"""Streaming tasks on AVSynth's ``long`` split: online events, sync monitoring, timed questions.

Each stream is one ``long`` clip (120 s by default) fed in chunks of ``chunk_seconds``. Every task is a
versioned :class:`~avikit.tasks.TaskSpec` (pillar ``interaction``) and builds, per stream, a reference
(:class:`StreamRef`: which clip, and for sync monitoring when the audio starts to drift and by how much)
and its exact truth:

- ``stream-events``: the audio event onsets (class, seconds); an onset counts when reported within 2 s;
- ``stream-sync``: from a time ``t_d`` in 30-90 s the audio lags or leads the video by 0.6-1 s; an alert
  counts when it comes within 15 s after ``t_d``, alerts before it are false alarms;
- ``stream-questions``: every 10 s a question: "what is sounding now?" (classes heard just before the
  question, scored by Jaccard) or "tell me when the <class> sounds" (scored on when the answer comes:
  within 2 s after the class's next onset).

Example:
    >>> task = get_stream_task("stream-sync")
    >>> ref = task.streams(1)[0]
    >>> 30 <= ref.drift_time <= 90 and abs(ref.drift_ms) >= 600
    True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from avikit._registry import lookup
from avikit.data.synth import build_targets, sample_scene
from avikit.tasks.base import Protocol, TaskSpec

__all__ = ["STREAM_TASKS", "StreamRef", "StreamTask", "get_stream_task", "stream_onsets", "stream_questions"]


@dataclass(frozen=True)
class StreamRef:
    """One stream: the ``long`` clip and, for sync monitoring, the drift (time in s, offset in ms)."""

    split: str
    index: int
    seed: int
    drift_time: float | None = None
    drift_ms: float = 0.0

    @property
    def id(self) -> str:
        """``long_000003``."""
        return f"{self.split}_{self.index:06d}"


def _hash(*keys: object) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, keys)).encode()).digest()[:8], "little")


def stream_onsets(ref: StreamRef) -> list[tuple[str, float]]:
    """The audio event onsets of a stream (class, seconds), events of one class that overlap merged."""
    rows = sorted(
        build_targets(sample_scene(ref.split, ref.index, ref.seed))["events"]["audio"],
        key=lambda e: (e["label"], e["onset"]),
    )
    out: list[tuple[str, float]] = []
    reach: dict[str, float] = {}
    for e in rows:
        if e["onset"] > reach.get(e["label"], -1.0):
            out.append((e["label"], float(e["onset"])))
        reach[e["label"]] = max(reach.get(e["label"], -1.0), float(e["offset"]))
    return sorted(out, key=lambda x: (x[1], x[0]))


def stream_questions(ref: StreamRef, every: float = 10.0) -> list[dict[str, Any]]:
    """Timed questions and their truth: ``now`` (classes heard at ``t - 0.25`` s), ``notify`` (next onset)."""
    targets = build_targets(sample_scene(ref.split, ref.index, ref.seed))
    events, duration = targets["events"]["audio"], float(targets["duration"])
    onsets = stream_onsets(ref)
    out = []
    for k, t in enumerate(float(x) for x in range(int(every), int(duration - every) + 1, int(every))):
        upcoming = [(c, o) for c, o in onsets if o > t + 1.0]
        if k % 2 == 1 and upcoming:
            label, onset = upcoming[0]
            out.append(
                {
                    "id": f"q{k}",
                    "time": t,
                    "kind": "notify",
                    "label": label,
                    "onset": onset,
                    "text": f"Tell me when the {label} sounds.",
                }
            )
        else:
            now = sorted({e["label"] for e in events if e["onset"] <= t - 0.25 < e["offset"]})
            out.append(
                {"id": f"q{k}", "time": t, "kind": "now", "truth": now, "text": "What is sounding now?"}
            )
    return out


@dataclass(frozen=True)
class StreamTask:
    """A streaming task: its spec, the chunking, the scoring window and how streams are drawn."""

    spec: TaskSpec
    chunk_seconds: Fraction
    window: float
    drifts: bool = False

    def streams(self, count: int, seed: int = 0) -> list[StreamRef]:
        """Streams ``0 .. count - 1`` of the ``long`` split (drifts drawn from a hash of the index)."""
        refs = []
        for index in range(count):
            if self.drifts:
                h = _hash("stream-sync", seed, index)
                refs.append(
                    StreamRef("long", index, seed, float(30 + h % 61), (600.0, -800.0, 1000.0)[h // 61 % 3])
                )
            else:
                refs.append(StreamRef("long", index, seed))
        return refs


def _spec(
    name: str, description: str, metrics: tuple[str, ...], primary: str, params: dict[str, Any]
) -> TaskSpec:
    return TaskSpec(
        name=name,
        pillar="interaction",
        family="streaming",
        version=1,
        benchmark="AVSynth streams (StreamingBench / OVO-Bench timing)",
        description=description,
        inputs=("audio", "video", "text"),
        protocol=Protocol(split="long", params={"chunk_seconds": "1/2", **params}),
        target_schema={"truth": "onsets, drift time or question answers, exact"},
        prediction_schema=(),
        metrics=metrics,
        primary_metric=primary,
        unit="fraction",
        lower_is_better=tuple(
            m
            for m in metrics
            if "latency" in m
            or m
            in (
                "false_alarms_per_minute",
                "premature_rate",
                "real_time_factor",
                "detection_delay",
                "time_to_first_response",
            )
        ),
        metric_units={
            m: "s" for m in metrics if "latency" in m or m in ("detection_delay", "time_to_first_response")
        }
        | ({"false_alarms_per_minute": "per minute"} if "false_alarms_per_minute" in metrics else {})
        | ({"real_time_factor": "ratio"} if "real_time_factor" in metrics else {}),
    )


STREAM_TASKS: dict[str, StreamTask] = {
    "stream-events": StreamTask(
        _spec(
            "stream-events",
            "Report each sound event's onset (class, seconds) as early as possible.",
            (
                "recall",
                "precision",
                "median_latency",
                "p95_latency",
                "premature_rate",
                "time_to_first_response",
                "real_time_factor",
            ),
            "recall",
            {"window_seconds": 2.0},
        ),
        Fraction(1, 2),
        2.0,
    ),
    "stream-sync": StreamTask(
        _spec(
            "stream-sync",
            "Alert when the audio drifts out of sync with the video (0.6-1 s from 30-90 s).",
            ("detection_rate", "detection_delay", "false_alarms_per_minute", "real_time_factor"),
            "detection_rate",
            {"window_seconds": 15.0, "drift_ms": [600, -800, 1000], "drift_start_s": [30, 90]},
        ),
        Fraction(1, 2),
        15.0,
        drifts=True,
    ),
    "stream-questions": StreamTask(
        _spec(
            "stream-questions",
            "Answer questions asked along the stream from what came before them only.",
            ("now_jaccard", "notify_timely", "notify_premature", "notify_latency", "real_time_factor"),
            "now_jaccard",
            {"every_seconds": 10.0, "window_seconds": 2.0},
        ),
        Fraction(1, 2),
        2.0,
    ),
}
"""Streaming task name -> task."""


def get_stream_task(name: str) -> StreamTask:
    """Return a streaming task by name.

    Raises:
        UnknownNameError: for an unknown name; the message lists the known ones.
    """
    return lookup(STREAM_TASKS, name, "streaming task")
