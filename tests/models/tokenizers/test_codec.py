"""The packaged codec: 10 s round trip at the task's rate, the Model protocol on a real task, fidelity of the
shipped weights against the noise floor, clear errors, and a save/load round trip of the trainer."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import torch

from avikit.data.synth import SynthConfig, generate
from avikit.metrics.reconstruction import compute_mel_distance, compute_si_sdr
from avikit.models.protocol import Model
from avikit.models.registry import get_model
from avikit.models.tokenizers.codec import CodecConfig, evaluate_codec, from_pretrained
from avikit.nn.tokenizer import bitrate
from avikit.tasks.generation import CodecReconstructionTask, V2ATask
from avikit.train.codec import CodecTrainConfig, train_codec
from tests.model_fixtures import items_of


@pytest.fixture(scope="module")
def model():
    return from_pretrained("codec")


@pytest.fixture(scope="module")
def clip():
    return generate("test", 0, seed=0, config=SynthConfig())  # 10 s at 16 kHz, as the bench's clips


def _item(task, sample, clip, folder=None):
    return items_of(task, [(sample, clip)], folder)[0]


def test_ten_second_round_trip_has_the_codec_rates(model):
    codec = model.codec
    assert (codec.sample_rate, codec.frame_rate, codec.num_codebooks, codec.cardinality) == (
        16000,
        250.0,
        8,
        256,
    )
    assert model.bitrate == bitrate(codec) == 250 * 8 * 8
    waveform = torch.zeros(1, 2, 160000)
    with torch.no_grad():
        codes = codec.encode(waveform.mean(1, keepdim=True))
    assert codes.shape == (1, 8, 2500) and int(codes.max()) < 256
    assert model.reconstruct(waveform).shape == (1, 1, 160000)
    assert model.reconstruct(torch.zeros(1, 1, 16001)).shape == (1, 1, 16001)  # not a multiple of the hop


def test_predict_writes_full_length_audio_that_beats_the_noise_floor(model, clip, tmp_path):
    task = CodecReconstructionTask()
    sample, av_clip = clip[:2]
    assert isinstance(model, Model) and model.tasks == ("codec-reconstruction",)
    item = _item(task, sample, av_clip, tmp_path)
    (prediction,) = model.predict(task, [item])
    assert prediction["id"] == item.id and prediction["audio"] == str(tmp_path / f"{item.id}_audio.npy")
    audio = np.load(prediction["audio"])
    reference = av_clip.require_waveform().mean(0)
    assert audio.shape == (1, len(reference)) == (1, 160000) and audio.dtype == np.float32
    rms = np.sqrt(np.mean(reference**2))
    noise = np.random.default_rng(0).normal(size=reference.shape) * rms
    assert compute_mel_distance(reference, audio[0], 16000) < 0.5 * compute_mel_distance(
        reference, noise, 16000
    )
    assert compute_si_sdr(reference, audio[0]) > 0.0  # phase-coherent: noise is about -50 dB
    scores = task.evaluate([{**prediction, "id": sample.id}], [task.build_target(sample)]).scores
    assert scores["mel_distance"] == pytest.approx(float(compute_mel_distance(reference, audio[0], 16000)))
    summary = evaluate_codec(model, num_clips=1)  # the same clip (test 0) through the evaluation helper
    assert summary["mel_distance"] == pytest.approx(scores["mel_distance"], rel=1e-5)
    assert summary["si_sdr"] == pytest.approx(scores["si_sdr"], rel=1e-4) and summary["bitrate"] == 16000


def test_clear_errors_for_missing_output_folder_and_other_tasks(model, clip):
    sample, av_clip = clip[:2]
    task = CodecReconstructionTask()
    with pytest.raises(ValueError, match="output_dir"):
        model.predict(task, [_item(task, sample, av_clip)])
    with pytest.raises(ValueError, match="codec-reconstruction"):
        model.predict(V2ATask(), [])
    with pytest.raises(ValueError, match="num_codebooks"):
        from_pretrained("codec", num_codebooks=9)


def test_registry_name_and_fewer_codebooks_lower_the_bitrate():
    assert get_model("codec").id == "avikit/codec"
    assert from_pretrained("codec", num_codebooks=2).bitrate == 250 * 2 * 8


def test_trainer_saves_weights_that_load_back(tmp_path):
    cfg = CodecTrainConfig(
        model=CodecConfig(strides=(4, 4), base=4, latent_dim=8, num_codebooks=2, codebook_size=16),
        num_clips=2,
        clip_seconds=1,
        steps=3,
        batch_size=2,
        crop_samples=1600,
    )
    folder = train_codec(cfg, tmp_path / "codec")
    loaded = from_pretrained(str(folder))
    meta = json.loads((folder / "config.json").read_text())
    assert loaded.weights_hash == meta["weights"]["sha256"] and meta["kind"] == "avikit.codec"
    assert loaded.codec.frame_rate == 1000.0 and json.loads((folder / "train_log.json").read_text())["loss"]
    synth = SynthConfig(duration=Fraction(1))
    waveform = torch.from_numpy(generate("train", 0, seed=0, config=synth)[1].require_waveform())[None]
    assert loaded.reconstruct(waveform).shape == (1, 1, 16000)
