"""The streaming harness: chunks cannot look ahead, questions arrive on time, a cheat is caught, costs."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from avikit.data.synth import generate
from avikit.eval.streaming.benchmark import run_stream_benchmark, score_stream
from avikit.eval.streaming.harness import StreamError, StreamRun, run_stream, stream_costs
from avikit.eval.streaming.source import iter_chunks, stream_clip
from avikit.models.streaming import Question, StreamEvent
from avikit.tasks.streaming import get_stream_task


class Recorder:
    """Records what it can reach of the stream and tries to read past the clock."""

    id, weights_hash = "recorder", "none"

    def reset(self, fps, sample_rate):
        self.seen, self.bases, self.clock = [], [], []

    def step(self, chunk):
        self.seen.append((chunk.first_sample, chunk.first_sample + chunk.audio.shape[1]))
        last_frame_time = Fraction(chunk.first_frame + len(chunk.frames) - 1, chunk.fps)
        assert (
            len(chunk.frames) == 0 or last_frame_time < chunk.end
        )  # every frame given is shown before the clock
        self.bases.append(chunk.audio.base is None or chunk.audio.base.size == chunk.audio.size)
        self.clock.append(float(chunk.end))
        with pytest.raises(ValueError, match="read-only"):
            chunk.audio[0, 0] = 1.0
        return []


class Prophet(Recorder):
    """A cheating model: it claims an onset after the stream clock."""

    def step(self, chunk):
        return [StreamEvent("onset", "dog", float(chunk.end) + 0.5)]


def test_no_model_sees_a_sample_later_than_the_stream_clock() -> None:
    _, clip = generate("test", 0)
    model = Recorder()
    questions = [Question("q", 3.3, "now", "What is sounding now?")]
    run_stream(model, iter_chunks(clip, Fraction(1, 2), questions))
    assert all(b == round(c * 16000) for (_, b), c in zip(model.seen, model.clock, strict=True))
    assert [a for a, _ in model.seen[1:]] == [b for _, b in model.seen[:-1]]  # contiguous, in order
    assert all(model.bases)  # copies: no view into the rest of the stream
    assert 3.3 in [round(c, 6) for c in model.clock]  # the chunk carrying the question ends at it


def test_a_claim_from_the_future_is_caught() -> None:
    _, clip = generate("test", 0)
    with pytest.raises(StreamError, match="stream clock"):
        run_stream(Prophet(), iter_chunks(clip, Fraction(1, 2)))


def test_sync_drift_is_applied_from_its_time_on() -> None:
    ref = get_stream_task("stream-sync").streams(1)[0]
    drifted, (_, clean) = stream_clip(ref), generate("long", 0, 0)
    start, shift = round(ref.drift_time * 16000), round(ref.drift_ms * 16)
    np.testing.assert_array_equal(drifted.waveform[:, :start], clean.waveform[:, :start])
    np.testing.assert_array_equal(
        drifted.waveform[:, start + 20000 : start + 40000],
        clean.waveform[:, start + 20000 - shift : start + 40000 - shift],
    )


def test_costs_and_scores_of_a_run() -> None:
    run = StreamRun([], [0.5 * k for k in range(1, 241)], [0.01] * 240, [1e6] * 240)
    costs = stream_costs(run)
    assert costs["real_time_factor"] == pytest.approx(0.02) and costs["lag_drift_s_per_s"] == pytest.approx(
        0.0
    )
    assert not costs["memory"]["superlinear"]
    task = get_stream_task("stream-sync")
    ref = task.streams(1)[0]
    alerts = StreamRun(
        [StreamEvent("alert", time=10.0), StreamEvent("alert", time=ref.drift_time + 4)], [120.0], [1.0]
    )
    scored = score_stream(task, ref, alerts)
    assert scored["detected"] == 1.0 and scored["delay"] == pytest.approx(4.0)
    assert scored["false_alarms_per_minute"] == pytest.approx(60 / ref.drift_time)


def test_the_benchmark_writes_its_files_and_scores_the_silent_baseline(tmp_path) -> None:
    result = run_stream_benchmark("stream-questions", ["bands"], tmp_path, n=1)
    rows = {r["system"]: r for r in result["rows"]}
    assert set(rows) == {"bands", "silent"} and rows["silent"]["scores"]["notify_timely"] == 0.0
    assert (tmp_path / "leaderboard.md").is_file() and (tmp_path / "traces.jsonl").read_text().count(
        "\n"
    ) == 2
