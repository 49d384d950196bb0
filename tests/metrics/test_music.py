"""Music metrics: raw pitch accuracy and onset F1 equal to mir_eval on random cases."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.metrics.music import (
    compute_onset_f1,
    compute_onset_statistics,
    compute_pitch_statistics,
    compute_raw_pitch_accuracy,
    melody_frequencies,
    midi_to_hz,
    note_onsets,
)

mir_eval = pytest.importorskip("mir_eval")


def test_midi_to_hz_is_equal_temperament():
    assert midi_to_hz([69, 81, 60]).tolist() == pytest.approx([440.0, 880.0, 261.6255653])


def test_raw_pitch_accuracy_equals_mir_eval():
    rng = np.random.default_rng(0)
    for _ in range(20):
        reference = np.where(rng.random(300) < 0.7, midi_to_hz(rng.integers(55, 85, 300)), 0.0)
        estimate = np.where(rng.random(300) < 0.8, reference * 2 ** (rng.normal(0, 60, 300) / 1200), 0.0)
        estimate[rng.random(300) < 0.1] = 300.0  # some frames voiced where the reference is not
        stats = compute_pitch_statistics(reference, estimate)
        _, ref_voicing = mir_eval.melody.freq_to_voicing(reference)
        _, est_voicing = mir_eval.melody.freq_to_voicing(estimate)
        expected = mir_eval.melody.raw_pitch_accuracy(
            ref_voicing, mir_eval.melody.hz2cents(reference), est_voicing, mir_eval.melody.hz2cents(estimate)
        )
        assert compute_raw_pitch_accuracy(stats) == pytest.approx(expected, abs=1e-12)


def test_melody_frames_follow_the_notes():
    frames = melody_frequencies([[60, 0.0, 0.1, 90], [72, 0.2, 0.25, 90]], num_frames=30, hop_seconds=0.01)
    assert np.count_nonzero(frames) == 15 and frames[0] == pytest.approx(261.6255653) and frames[10] == 0


def test_onset_f1_equals_mir_eval_and_merges_chords():
    rng = np.random.default_rng(1)
    references, estimates = [], []
    for _ in range(20):
        reference = np.sort(rng.uniform(0, 4, rng.integers(1, 15)))
        estimate = np.sort(
            np.r_[
                reference[rng.random(len(reference)) < 0.7] + rng.normal(0, 0.04, 1)[0],
                rng.uniform(0, 4, rng.integers(0, 4)),
            ]
        )
        references.append(reference)
        estimates.append(estimate)
    f1 = compute_onset_f1(compute_onset_statistics(references, estimates))
    expected = [mir_eval.onset.f_measure(r, e)[0] for r, e in zip(references, estimates, strict=True)]
    np.testing.assert_allclose(f1, expected, atol=1e-12)
    assert note_onsets([[60, 0.0, 1, 1], [64, 0.01, 1, 1], [67, 0.5, 1, 1]]).tolist() == [0.0, 0.5]
