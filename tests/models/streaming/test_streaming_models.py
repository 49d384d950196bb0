"""Streaming models: chunked equals whole for the causal detector, the ring buffer, questions, the registry."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from avikit.data.synth import generate
from avikit.data.synth.audio import class_sound
from avikit.eval.streaming.harness import run_stream
from avikit.eval.streaming.source import iter_chunks
from avikit.models.streaming import Chunk, Question, get_stream_model
from avikit.models.streaming.bands import BandOnsetModel
from avikit.models.streaming.window import Ring, WindowEventModel


def key(events):
    return [(e.kind, e.label, e.onset, e.question, str(e.answer)) for e in events]


@pytest.mark.parametrize("chunk", [Fraction(1, 3), Fraction(1, 2), Fraction(7, 5)])
def test_the_causal_detector_gives_the_same_events_in_chunks_as_at_once(chunk: Fraction) -> None:
    _, clip = generate("test", 4)
    whole = run_stream(BandOnsetModel(), iter_chunks(clip, Fraction(10)))
    parts = run_stream(BandOnsetModel(), iter_chunks(clip, chunk))
    assert key(parts.events) == key(whole.events) and whole.events


def test_the_detector_names_a_lone_source_at_its_onset() -> None:
    model = BandOnsetModel()
    model.reset(8, 16000)
    audio = np.zeros((1, 48000), np.float32)
    audio[0, 16000:] = 0.3 * class_sound("drum", 32000, seed=5)
    events = model.step(Chunk(np.zeros((24, 8, 8, 3), np.uint8), audio, 8, 16000, 0, 0))
    assert [(e.label, e.onset) for e in events][:1] == [("drum", 1.0)]


def test_the_ring_keeps_the_latest_seconds_in_fixed_memory() -> None:
    ring = Ring(2, 8, 16000, 1, 4)
    for k in range(5):
        ring.push(np.full((8, 4, 4, 3), k, np.uint8), np.full((1, 16000), k, np.float32))
    clip = ring.clip()
    assert clip.frames[:, 0, 0, 0].tolist() == [3] * 8 + [4] * 8 and clip.num_samples == 32000
    assert ring.frames.nbytes == 16 * 4 * 4 * 3


def test_now_and_notify_questions_are_answered_from_the_past() -> None:
    class Fake:
        id, weights_hash, calls = "fake", "none", 0

        def predict(self, task, batch):
            self.calls += 1
            newest = [["dog"]] if self.calls == 2 else [[]]
            return [{"id": "x", "audio": [[]] * 9 + newest, "visual": [[]] * 10}]

    def chunk(k, questions):
        return Chunk(
            np.zeros((8, 32, 32, 3), np.uint8),
            np.zeros((1, 16000), np.float32),
            8,
            16000,
            8 * k,
            16000 * k,
            questions,
        )

    model = WindowEventModel(hop=1.0, model=Fake())
    model.reset(8, 16000)
    notify = Question("q0", 1.0, "notify", "Tell me when the dog sounds.", "dog")
    assert model.step(chunk(0, (notify,))) == []  # nothing yet: the question waits
    events = model.step(chunk(1, (Question("q1", 2.0, "now", "What is sounding now?"),)))
    assert [(e.kind, e.label, e.onset, e.question) for e in events] == [
        ("onset", "dog", 1.0, None),
        ("answer", "dog", 1.0, "q0"),
        ("answer", None, None, "q1"),
    ]
    assert events[-1].answer == ["dog"]


def test_registry_builds_each_model() -> None:
    for name in ("bands", "silent", "window-avvp", "window-sync"):
        assert get_stream_model(name).id
