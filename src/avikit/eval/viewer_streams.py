"""What the per-sample viewer draws for a streaming run: truth, predictions and when each was emitted.

A run of :func:`avikit.eval.streaming.benchmark.run_stream_benchmark` (``results.json`` and
``traces.jsonl``) becomes one viewer cell per model; each stream is a sample with its clip (regenerated from
the run's seed, drift included) and lanes on the clip's time axis (segments ``[start s, end s, label]``,
with a fourth element, the status, on emissions and latencies):

- ``truth``: the true events (``stream-events``: each class's sound, overlapping events merged, as the
  scorer's onsets), the alert window after the drift (``stream-sync``) or the true answers
  (``stream-questions``: at the question's time for ``now``, at the class's onset for ``notify``);
- ``pred``: where the model claims an event began (a zero-length mark);
- ``emit``: when each output was emitted (the stream clock), marked ``matched``, ``premature``, ``false``,
  ``late`` or ``partial`` by the task's own rule (:func:`avikit.metrics.streaming.match_emissions`);
- ``latency``: from the reference time (true onset, drift start, question) to the emission that answered
  it, or the scoring window marked ``missed``: delay is the length of the bar.

Example:
    >>> emitted = [{"kind": "onset", "label": "dog", "onset": 1.0, "time": 1.5}]
    >>> lanes = event_lanes([[1.0, 3.0, "dog"]], emitted, window=2.0)
    >>> lanes["lanes"][2]["segments"], lanes["lanes"][3]["segments"]
    ([[1.5, 1.5, 'dog', 'matched']], [[1.0, 1.5, 'dog +0.50 s', 'matched']])
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.synth import build_targets, sample_scene
from avikit.errors import DataError
from avikit.eval.streaming.source import stream_clip
from avikit.media import AVClip
from avikit.metrics.streaming import jaccard
from avikit.tasks.streaming import StreamRef, get_stream_task, stream_questions

__all__ = ["event_lanes", "question_lanes", "stream_cells", "stream_truth", "sync_lanes"]

_PER_STREAM = {"detection_rate": "detected"}
"""A task's primary metric -> its per-stream value in ``traces.jsonl`` where the names differ."""


def stream_truth(ref: StreamRef) -> list[list[Any]]:
    """The stream's audio events ``[onset, offset, label]``, overlapping events of one class merged.

    The onsets are the scorer's (:func:`avikit.tasks.streaming.stream_onsets`).
    """
    rows = sorted(
        build_targets(sample_scene(ref.split, ref.index, ref.seed))["events"]["audio"],
        key=lambda e: (e["label"], e["onset"]),
    )
    spans: list[list[Any]] = []
    last: dict[str, list[Any]] = {}
    for e in rows:
        onset, offset, label = float(e["onset"]), float(e["offset"]), str(e["label"])
        if label in last and onset <= last[label][1]:
            last[label][1] = max(last[label][1], offset)
        else:
            last[label] = [onset, offset, label]
            spans.append(last[label])
    return sorted(spans, key=lambda s: (s[0], s[2]))


def _lanes(
    truth: list, claimed: list | None, emitted: list, latency: list, truth_name: str
) -> list[dict[str, Any]]:
    """The four lanes; ``claimed`` is None where the task's outputs claim no onset (alerts, answers)."""
    lanes = [{"name": truth_name, "kind": "truth", "segments": truth}]
    if claimed is not None:
        lanes.append({"name": "claimed onsets", "kind": "pred", "segments": claimed})
    lanes.append({"name": "emitted", "kind": "emit", "segments": emitted})
    lanes.append({"name": "latency", "kind": "latency", "segments": latency})
    return lanes


def _r(value: float) -> float:
    return round(float(value), 3)


def event_lanes(spans: Sequence[Sequence[Any]], events: Sequence[Mapping[str, Any]], window: float) -> dict:
    """``stream-events``: true spans ``[onset, offset, label]`` against the emitted onsets.

    An emission matches the earliest unmatched true onset of its class at most ``window`` s before it;
    otherwise it is premature (the class starts within ``window`` s after it) or false.
    """
    onsets = [(str(s[2]), float(s[0])) for s in spans]
    emitted = sorted(
        (
            (str(e.get("label") or ""), float(e["time"]), e.get("onset"))
            for e in events
            if e["kind"] == "onset"
        ),
        key=lambda e: e[1],
    )
    answered: dict[int, float] = {}
    marks, counts = [], {"matched": 0, "premature": 0, "false": 0}
    for label, time, _ in emitted:
        free = [
            k
            for k, (c, o) in enumerate(onsets)
            if c == label and o <= time <= o + window and k not in answered
        ]
        if free:
            answered[min(free, key=lambda k: onsets[k][1])] = time
            status = "matched"
        else:
            status = (
                "premature" if any(c == label and time < o <= time + window for c, o in onsets) else "false"
            )
        counts[status] += 1
        marks.append([_r(time), _r(time), label, status])
    latency = [
        [_r(o), _r(answered[k]), f"{c} +{answered[k] - o:.2f} s", "matched"]
        if k in answered
        else [_r(o), _r(o + window), f"{c} missed", "missed"]
        for k, (c, o) in enumerate(onsets)
    ]
    claimed = [[_r(o), _r(o), label] for label, _, o in emitted if o is not None]
    delays = [answered[k] - onsets[k][1] for k in answered]
    median = f" (median latency {float(np.median(delays)):.2f} s)" if delays else ""
    note = (
        f"{len(answered)} of {len(onsets)} onsets reported within {window:g} s{median}; "
        f"{counts['premature']} premature, {counts['false']} false of {len(emitted)} emitted"
    )
    truth = [[_r(s[0]), _r(s[1]), str(s[2])] for s in spans]
    return {"lanes": _lanes(truth, claimed, marks, latency, "true events"), "notes": [note]}


def sync_lanes(
    drift_time: float, drift_ms: float, events: Sequence[Mapping[str, Any]], window: float
) -> dict:
    """``stream-sync``: the alert window after the drift against the emitted alerts.

    An alert within ``window`` s after the drift is a hit (the first gives the delay), one before it a false
    alarm, one after the window late.
    """
    alerts = sorted(float(e["time"]) for e in events if e["kind"] == "alert")

    def status(t: float) -> str:
        return "matched" if drift_time <= t <= drift_time + window else "false" if t < drift_time else "late"

    marks = [[_r(t), _r(t), "alert", status(t)] for t in alerts]
    hits = [t for t in alerts if status(t) == "matched"]
    latency = (
        [[_r(drift_time), _r(hits[0]), f"delay +{hits[0] - drift_time:.2f} s", "matched"]]
        if hits
        else [[_r(drift_time), _r(drift_time + window), "missed", "missed"]]
    )
    truth = [[_r(drift_time), _r(drift_time + window), f"audio {drift_ms:+.0f} ms from here"]]
    false = sum(t < drift_time for t in alerts)
    note = (
        f"{len(alerts)} alerts: {len(hits)} within {window:g} s of the drift, {false} false alarms before it"
    )
    return {"lanes": _lanes(truth, None, marks, latency, "drift (alert window)"), "notes": [note]}


def _answer_text(answer: Any) -> str:
    return ", ".join(map(str, answer)) or "nothing" if isinstance(answer, list) else str(answer)


def question_lanes(
    questions: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]], window: float
) -> dict:
    """``stream-questions``: true answers (``now`` at the question, ``notify`` at the onset) against answers.

    A ``now`` answer is ``matched`` (Jaccard 1), ``partial`` (> 0) or ``false``; a ``notify`` answer is
    ``matched`` within ``window`` s after the onset, ``premature`` before it, else ``late``.
    """
    answers = {str(e["question"]): e for e in events if e["kind"] == "answer"}
    truth, marks, latency = [], [], []
    for q in questions:
        got = answers.get(str(q["id"]))
        ref = float(q["time"] if q["kind"] == "now" else q["onset"])
        truth.append(
            [
                _r(ref),
                _r(ref),
                f"{q['id']}: " + (_answer_text(q["truth"]) if q["kind"] == "now" else str(q["label"])),
            ]
        )
        if got is None:
            latency.append([_r(ref), _r(ref + window), f"{q['id']} missed", "missed"])
            continue
        t = float(got["time"])
        if q["kind"] == "now":
            score = jaccard(got.get("answer") or [], q["truth"])
            status = "matched" if score == 1 else "partial" if score > 0 else "false"
        else:
            status = "matched" if ref <= t <= ref + window else "premature" if t < ref else "late"
        said = got.get("answer") if got.get("answer") is not None else got.get("label")
        marks.append([_r(t), _r(t), f"{q['id']}: {_answer_text(said)}", status])
        if t >= ref:
            latency.append([_r(ref), _r(t), f"{q['id']} +{t - ref:.2f} s", status])
    return {"lanes": _lanes(truth, None, sorted(marks), latency, "true answers"), "notes": []}


def _score(value: Any) -> float | None:
    """A per-stream value as one number: lists are averaged (NaN and empty give None)."""
    array = np.asarray(value, np.float64).ravel()
    finite = array[np.isfinite(array)]
    return float(finite.mean()) if finite.size else None


def _stream_sample(task_name: str, ref: StreamRef, line: Mapping[str, Any], window: float) -> dict[str, Any]:
    if task_name == "stream-events":
        details = event_lanes(stream_truth(ref), line["events"], window)
    elif task_name == "stream-sync":
        details = sync_lanes(float(ref.drift_time or 0.0), ref.drift_ms, line["events"], window)
    else:
        details = question_lanes(stream_questions(ref), line["events"], window)
    costs = line.get("costs", {})
    details["notes"].append(
        f"real-time factor {float(costs.get('real_time_factor', math.nan)):.3f}, "
        f"final lag {float(costs.get('lag_final_s', math.nan)):.3f} s"
    )
    scores = {k: _score(v) for k, v in line["scores"].items() if k not in ("latencies",)}
    return {"id": ref.id, "scores": scores, **details}


def stream_cells(folder: Path, clips: dict[str, Callable[[], AVClip]]) -> list[dict[str, Any]]:
    """One viewer cell per model of the streaming run in ``folder``; ``clips`` gets how to make each clip."""
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    task = get_stream_task(results["task"])
    refs = {r.id: r for r in task.streams(len(results["streams"]), int(results["seed"]))}
    if sorted(refs) != sorted(results["streams"]):
        raise DataError(
            f"{folder / 'results.json'}: streams {results['streams']} are not the task's first "
            f"{len(refs)}; was it written by another avikit version? Run `avikit stream run` again"
        )
    metric = task.spec.primary_metric
    lower = metric in task.spec.lower_is_better
    cells: dict[str, dict[str, Any]] = {}
    for text in (folder / "traces.jsonl").read_text(encoding="utf-8").splitlines():
        line = json.loads(text)
        ref = refs[line["stream"]]
        key = f"{folder.name}_{task.spec.name}_{ref.id}"
        clips.setdefault(key, partial(stream_clip, ref))
        sample = {**_stream_sample(task.spec.name, ref, line, task.window), "media": key}
        sample["score"] = sample["scores"].get(_PER_STREAM.get(metric, metric))
        cell = cells.setdefault(
            line["model"],
            {
                "run": folder.name,
                "task": task.spec.name,
                "model": line["model"],
                "condition": "clean",
                "metric": metric,
                "unit": task.spec.metric_units.get(metric, task.spec.unit),
                "lower_is_better": lower,
                "view": "stream",
                "samples": [],
            },
        )
        cell["samples"].append(sample)
    for cell in cells.values():
        cell["samples"].sort(key=lambda s: _worst_first(s["score"], lower))
    return list(cells.values())


def _worst_first(score: float | None, lower: bool) -> tuple[int, float]:
    if score is None:
        return (1, 0.0)
    return (0, -score if lower else score)
