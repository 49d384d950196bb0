"""The domain judges on real corpus clips: the original audio scores near the top, white noise near the floor."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.data.audio_corpus.corpus import CorpusConfig, make_clip
from avikit.data.sample import MediaRef, Provenance, Sample
from avikit.studies.domain_judging import DomainJudges, summarize_ratio


def _clips(domain, count, english=False):
    samples, audio, index = [], [], 0
    while len(samples) < count:
        targets, waveform = make_clip(domain, "test", index, seed=0, config=CorpusConfig(seconds=4))
        index += 1
        if english and targets["language"] != "en":
            continue
        samples.append(
            Sample(
                f"c{index}",
                "audio-domains",
                "test",
                MediaRef("x.wav", 0, 4),
                Provenance("test", "MIT"),
                targets,
            )
        )
        audio.append(waveform)
    return samples, np.stack(audio)


def test_ratio_summary_resamples_clips():
    result = summarize_ratio(np.array([[1, 10], [3, 10], [0, 5]]))
    assert result["mean"] == pytest.approx(4 / 25) and result["per_clip"] == [0.1, 0.3, 0.0]
    assert result["low"] <= result["mean"] <= result["high"]


def test_domain_judges_score_the_corpus_ground_truth():
    # each neural judge once, on one original clip: the wiring from corpus targets to scores
    judges = DomainJudges(neural=True)
    samples, speech = _clips("speech", 1, english=True)
    noise = np.random.default_rng(0).normal(0, 0.05, speech.shape).astype(np.float32)
    clean = judges.judge_neural("speech", samples, speech)
    assert clean["wer"]["mean"] <= 0.5 and len(clean["wer"]["transcripts"]) == 1  # espeak-ng is intelligible
    assert 1.0 <= clean["dnsmos_ovrl"]["mean"] <= 5.0
    noisy = judges.judge("speech", samples, speech, noise, neural=False)
    assert set(noisy) == {"mel_distance", "si_sdr", "pesq", "stoi"} and noisy["stoi"]["mean"] < 0.6
    samples, music = _clips("music", 1)
    original = judges.judge_neural("music", samples, music)
    # CREPE follows the leading melody over the chords; librosa finds most note onsets of the rendered MIDI
    assert original["pitch_accuracy"]["mean"] > 0.4 and original["onset_f1"]["mean"] > 0.6
    assert set(judges.costs()) >= {"whisper", "dnsmos", "crepe", "onsets", "pesq", "stoi"}
