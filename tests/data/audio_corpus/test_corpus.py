"""The three-domain corpus: determinism, levels, and mixtures that are exactly their components' sum."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.data.audio_corpus.corpus import MIX_LEVELS, CorpusConfig, make_clip
from avikit.data.synth.audio import render_audio
from avikit.data.synth.scene import SynthConfig, sample_scene
from avikit.errors import UsageError

CONFIG = CorpusConfig(seconds=3)


def _rms_db(x):
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.mark.parametrize("domain", ["speech", "music", "effects"])
def test_clips_are_deterministic_and_levelled(domain):
    targets, waveform = make_clip(domain, "val", 2, seed=5, config=CONFIG)
    again = make_clip(domain, "val", 2, seed=5, config=CONFIG)
    assert targets == again[0] and np.array_equal(waveform, again[1])
    assert waveform.shape == (3 * 16000,) and targets["domain"] == domain
    peak = np.abs(waveform).max()
    # the level is -20 dBFS RMS unless the 0.99 peak limit lowered it (float32 rounding: 0.01 dB)
    assert _rms_db(waveform) == pytest.approx(-20.0, abs=0.01) or peak == pytest.approx(0.99, abs=1e-6)
    other = make_clip(domain, "val", 3, seed=5, config=CONFIG)[1]
    assert not np.array_equal(waveform, other)


def test_effects_are_the_avsynth_scene_sound():
    targets, waveform = make_clip("effects", "test", 4, seed=0, config=CONFIG)
    scene = sample_scene("test", 4, 0, SynthConfig(duration=3, sample_rate=16000))
    reference = render_audio(scene).mean(0)
    gain = np.dot(waveform, reference) / np.dot(reference, reference)
    np.testing.assert_allclose(waveform, gain * reference, atol=2e-6)  # float32 rounding of the scaling
    assert targets["labels"] == sorted({e["label"] for e in targets["events"]})


def test_speech_targets_place_the_sentence():
    targets, waveform = make_clip("speech", "train", 0, seed=1, config=CONFIG)
    start, end = (round(targets[k] * 16000) for k in ("speech_start", "speech_end"))
    assert 0 <= start <= 0.3 * 16000 and end <= 3 * 16000
    assert np.all(waveform[:start] == 0) and np.all(waveform[end:] == 0)
    assert targets["transcript"].endswith(".") and "+" in targets["voice"]


def test_mixture_is_the_levelled_sum_of_its_components():
    targets, mixture = make_clip("mixture", "test", 1, seed=0, config=CONFIG)
    assert targets["levels_db"] == MIX_LEVELS[1]
    assert set(targets["components"]) == {"speech", "music", "effects"}
    # rebuild from the effects scene alone: the AVSynth part of the mixture is an independent reference
    effects = targets["components"]["effects"]["avsynth"]
    scene = sample_scene("test", effects["index"], 0, SynthConfig(duration=3, sample_rate=16000))
    reference = render_audio(scene).mean(0)
    projection = np.dot(mixture, reference) / np.dot(reference, reference)
    assert projection > 0  # the effects component is in the mix with a positive gain
    speech_onset = int(targets["components"]["speech"]["speech_start"] * 16000)
    assert speech_onset >= 0


def test_bad_arguments_are_usage_errors():
    with pytest.raises(UsageError, match="domain"):
        make_clip("noise", "test", 0)
    with pytest.raises(UsageError, match="seconds"):
        CorpusConfig(seconds=2)
