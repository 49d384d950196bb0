"""The music judges: CREPE's pitch of a sine and of a fluidsynth note, and onsets of clicks."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.metrics.music import compute_pitch_statistics, compute_raw_pitch_accuracy, melody_frequencies
from avikit.models.embedders.pitch_judges import CrepePitch, detect_onsets


@pytest.fixture(scope="module")
def crepe():
    return CrepePitch("tiny")


def test_crepe_tracks_a_sine_and_a_rendered_note(crepe):
    from avikit.data.audio_corpus.music import Piece, render_midi

    t = np.arange(32000) / 16000
    frequency, periodicity = crepe.track(0.5 * np.sin(2 * np.pi * 330.0 * t)[None])
    assert frequency.shape == (1, 201) and periodicity.shape == (1, 201)
    cents = 1200 * np.log2(np.median(frequency[0, 20:-20]) / 330.0)
    assert abs(cents) < 20  # CREPE's bins are 20 cents apart; Viterbi decoding keeps it within one bin
    track = {
        "role": "melody",
        "program": 71,
        "name": "Clarinet",
        "is_drum": False,
        "notes": [[64, 0.2, 0.9, 100], [67, 1.0, 1.8, 100]],
    }
    notes = Piece(tonic=0, mode="major", tempo=120.0, seconds=2.0, tracks=(track,))
    estimate, _ = crepe.track(render_midi(notes, 16000)[None])
    reference = melody_frequencies(track["notes"], estimate.shape[1], crepe.hop_seconds)
    # attacks and releases fall off the reference's note boundaries; the sustained frames must agree
    assert compute_raw_pitch_accuracy(compute_pitch_statistics(reference[None], estimate)) > 0.8


def test_onsets_of_clicks_are_found_within_20_ms():
    audio = np.zeros(32000, np.float32)
    times = [0.25, 0.8, 1.3, 1.7]
    for start in times:
        index = int(start * 16000)
        audio[index : index + 800] = np.random.default_rng(0).normal(0, 0.3, 800) * np.exp(
            -np.arange(800) / 150
        )
    found = detect_onsets(audio)
    assert len(found) == len(times)
    assert np.max(np.abs(found - times)) < 0.02  # 10 ms hop; a click's flux peaks within two frames
