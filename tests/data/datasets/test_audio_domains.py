"""The audio-domains recipe: a tiny corpus prepared, validated, reused, read back, and its card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avikit.data.audio_corpus.corpus import make_clip
from avikit.data.datasets import get_dataset
from avikit.data.datasets.audio_domains import prepare_audio_domains, read_audio_domains
from avikit.data.governance import check_allowed_use
from avikit.data.manifest import read_manifest
from avikit.data.prepared import validate_prepared
from avikit.errors import MissingDependencyError, UsageError


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("audio_domains")
    prepare_audio_domains(None, out, seconds=3, train=1, val=0, test=2)
    return out


def test_prepare_writes_valid_splits_with_ground_truth(corpus):
    report = validate_prepared(corpus)
    assert report.ok, report.problems
    assert report.samples == {"train": 4, "test": 8} and report.found == report.samples
    samples = {s.id: s for s in read_manifest(corpus / "test.jsonl")}
    assert set(samples) == {
        f"test_{d}_{i:05d}" for d in ("speech", "music", "effects", "mixture") for i in (0, 1)
    }
    assert samples["test_speech_00000"].targets["transcript"]
    assert set(samples["test_music_00001"].targets["notes"]) == {"melody", "chords", "drums"}
    record = json.loads((corpus / "prepared.json").read_text())
    assert record["options"]["tools"]["espeak-ng"].startswith("eSpeak NG")
    assert "FluidR3_GM.sf2" in record["sources"]


def test_wav_files_hold_the_generated_clips(corpus):
    clips = read_audio_domains(corpus, "test", ("music", "speech"))
    assert list(clips) == ["music", "speech"]
    _, waveforms = clips["music"]
    assert waveforms.shape == (2, 48000)
    _, generated = make_clip(
        "music",
        "test",
        1,
        seed=0,
        config=__import__("avikit.data.audio_corpus.corpus", fromlist=["CorpusConfig"]).CorpusConfig(
            seconds=3
        ),
    )
    np.testing.assert_allclose(waveforms[1], generated, atol=2**-15)  # 16-bit WAV: within one step


def test_second_prepare_reuses_clips_and_other_options_regenerate(corpus, tmp_path):
    clip = corpus / "clips" / "test_music_00000.wav"
    before = clip.stat().st_mtime_ns
    prepare_audio_domains(None, corpus, seconds=3, train=1, val=0, test=2)
    assert clip.stat().st_mtime_ns == before
    other = tmp_path / "other"
    prepare_audio_domains(None, other, seed=1, seconds=3, domains="effects", train=0, val=0, test=1)
    assert validate_prepared(other).samples == {"test": 1}


def test_bad_options_and_missing_programs(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match="unknown option"):
        prepare_audio_domains(None, tmp_path, tset=2)
    with pytest.raises(UsageError, match="whole number"):
        prepare_audio_domains(None, tmp_path, test="many")
    with pytest.raises(UsageError, match="unknown domain"):
        prepare_audio_domains(None, tmp_path, domains="speech,noise")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MissingDependencyError, match="apt-get install"):
        prepare_audio_domains(None, tmp_path, test=1)


def test_card_states_every_input_licence():
    card = get_dataset("audio-domains").card()
    assert card["license"] == "MIT"
    collection = card["rai:dataCollection"]
    for name in ("espeak-ng", "FluidR3_GM", "AVSynth", "GPL-3.0-or-later", "CC0-1.0"):
        assert name in collection
    check_allowed_use(card, "commercial")  # MIT allows it; raises otherwise
