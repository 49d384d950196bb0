"""The streaming viewer's lanes: hand-worked event lists, and agreement with the scorer's own counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from avikit.eval.viewer_streams import event_lanes, question_lanes, stream_truth, sync_lanes
from avikit.metrics.streaming import match_emissions
from avikit.tasks.streaming import get_stream_task, stream_onsets

SPANS = [[1.0, 3.0, "dog"], [5.0, 6.0, "cat"], [7.0, 8.0, "dog"]]
EVENTS = [
    {"kind": "onset", "label": "dog", "onset": 1.0, "time": 1.5},  # dog at 1.0, 0.5 s late: matched
    {"kind": "onset", "label": "bird", "onset": None, "time": 2.0},  # no bird: false
    {"kind": "onset", "label": "dog", "onset": 2.0, "time": 2.5},  # dog at 1.0 taken, 7.0 too far: false
    {"kind": "onset", "label": "cat", "onset": 3.5, "time": 4.0},  # cat starts 1.0 s later: premature
    {"kind": "alert", "label": None, "onset": None, "time": 4.5},  # not an onset: left out
]


def _lane(details: dict, kind: str) -> list:
    return next(lane["segments"] for lane in details["lanes"] if lane["kind"] == kind)


def test_event_lanes_by_hand() -> None:
    details = event_lanes(SPANS, EVENTS, window=2.0)
    assert _lane(details, "truth") == SPANS
    assert _lane(details, "pred") == [[1.0, 1.0, "dog"], [2.0, 2.0, "dog"], [3.5, 3.5, "cat"]]
    assert _lane(details, "emit") == [
        [1.5, 1.5, "dog", "matched"],
        [2.0, 2.0, "bird", "false"],
        [2.5, 2.5, "dog", "false"],
        [4.0, 4.0, "cat", "premature"],
    ]
    assert _lane(details, "latency") == [
        [1.0, 1.5, "dog +0.50 s", "matched"],
        [5.0, 7.0, "cat missed", "missed"],  # the scoring window after the onset
        [7.0, 9.0, "dog missed", "missed"],
    ]
    assert details["notes"][0].startswith("1 of 3 onsets reported within 2 s (median latency 0.50 s)")


def test_event_statuses_agree_with_the_scorer() -> None:
    rng = np.random.default_rng(0)
    labels = ["dog", "cat", "cello"]
    spans = sorted(
        [[float(t), float(t) + 1, str(rng.choice(labels))] for t in rng.uniform(0, 60, 12).round(2)]
    )
    events = [
        {"kind": "onset", "label": str(rng.choice(labels)), "onset": None, "time": float(t)}
        for t in rng.uniform(0, 62, 30).round(2)
    ]
    details = event_lanes(spans, events, 2.0)
    scored = match_emissions([(s[2], s[0]) for s in spans], [(e["label"], e["time"]) for e in events], 2.0)
    statuses = [s[3] for s in _lane(details, "emit")]
    assert statuses.count("matched") == scored["matched"]
    assert statuses.count("premature") == scored["premature"]
    assert statuses.count("false") == scored["false_positives"]
    delays = [s[1] - s[0] for s in _lane(details, "latency") if s[3] == "matched"]
    found = np.asarray(scored["latencies"])
    assert sorted(delays) == pytest.approx(sorted(found[np.isfinite(found)]), abs=2e-3)  # lanes round to ms


def test_sync_lanes_by_hand() -> None:
    alerts = [{"kind": "alert", "time": t} for t in (30.0, 48.0, 50.0, 60.0)]
    details = sync_lanes(40.0, -800.0, alerts, window=15.0)
    assert _lane(details, "truth") == [[40.0, 55.0, "audio -800 ms from here"]]
    assert [s[3] for s in _lane(details, "emit")] == ["false", "matched", "matched", "late"]
    assert _lane(details, "latency") == [[40.0, 48.0, "delay +8.00 s", "matched"]]  # the first hit
    assert _lane(sync_lanes(40.0, 600.0, [], 15.0), "latency") == [[40.0, 55.0, "missed", "missed"]]


def test_question_lanes_by_hand() -> None:
    questions = [
        {"id": "q0", "time": 10.0, "kind": "now", "truth": ["dog", "cat"]},
        {"id": "q1", "time": 20.0, "kind": "notify", "label": "cello", "onset": 26.0},
        {"id": "q2", "time": 30.0, "kind": "notify", "label": "dog", "onset": 40.0},
    ]
    events = [
        {"kind": "answer", "question": "q0", "answer": ["dog"], "time": 10.0},
        {"kind": "answer", "question": "q1", "answer": None, "label": "cello", "time": 27.0},
    ]
    details = question_lanes(questions, events, window=2.0)
    assert _lane(details, "truth") == [
        [10.0, 10.0, "q0: dog, cat"],
        [26.0, 26.0, "q1: cello"],
        [40.0, 40.0, "q2: dog"],
    ]
    assert _lane(details, "emit") == [
        [10.0, 10.0, "q0: dog", "partial"],
        [27.0, 27.0, "q1: cello", "matched"],
    ]
    assert _lane(details, "latency") == [
        [10.0, 10.0, "q0 +0.00 s", "partial"],
        [26.0, 27.0, "q1 +1.00 s", "matched"],
        [40.0, 42.0, "q2 missed", "missed"],
    ]


def test_true_spans_start_at_the_scorers_onsets() -> None:
    ref = get_stream_task("stream-events").streams(1)[0]
    spans = stream_truth(ref)
    assert [(label, start) for start, _, label in spans] == stream_onsets(ref)
    for label in {s[2] for s in spans}:  # one class's spans never overlap: they were merged
        mine = sorted(s for s in spans if s[2] == label)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(mine))
