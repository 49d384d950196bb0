"""The speech judges: Whisper tiny.en transcribes espeak-ng speech, DNSMOS prefers clean speech to noisy."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.data.audio_corpus.speech import speak
from avikit.errors import UsageError
from avikit.metrics.speech import evaluate_wer
from avikit.models.embedders.speech_judges import Dnsmos, WhisperTranscriber, whisper_model_dir

TEXTS = ("Our neighbor cleans the red car every day.", "The teacher opens the white house in the morning.")


@pytest.fixture(scope="module")
def speech():
    clips = [speak(text, "en-us+m3", 150, 50, 16000) for text in TEXTS]
    length = max(len(c) for c in clips) + 3200
    return np.stack([np.pad(c, (1600, length - len(c) - 1600)) for c in clips]) * 0.5


def test_whisper_transcribes_synthesized_english(speech):
    assert (whisper_model_dir() / "model.bin").is_file()
    judge = WhisperTranscriber()
    texts = judge.transcribe(speech)
    # tiny.en on formant speech: at most two of the eighteen words may differ (int8 kernels vary by CPU)
    assert evaluate_wer(list(TEXTS), texts)["wer"] <= 2 / 18
    noise = np.random.default_rng(0).normal(0, 0.05, speech.shape).astype(np.float32)
    assert evaluate_wer(list(TEXTS), judge.transcribe(noise))["wer"] >= 0.8
    with pytest.raises(UsageError, match="16000 Hz"):
        judge.transcribe(speech, sample_rate=8000)


def test_dnsmos_prefers_clean_speech(speech):
    noisy = speech[:1] + np.random.default_rng(1).normal(0, 0.05, speech[:1].shape)
    scores = Dnsmos().score(np.concatenate([speech[:1], noisy]))
    assert set(scores) == {"sig_mos", "bak_mos", "ovrl_mos", "p808_mos"}
    assert all(1.0 <= v <= 5.0 for v in scores["ovrl_mos"])
    assert scores["bak_mos"][0] > scores["bak_mos"][1] + 0.5  # the background score hears the noise
    assert scores["ovrl_mos"][0] > scores["ovrl_mos"][1]
