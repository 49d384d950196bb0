from __future__ import annotations

import numpy as np
import pytest

from avikit.data.synth import CONDITIONS, SynthConfig, generate, parse_conditions

CONFIG = SynthConfig(max_objects=2)


def test_each_condition_changes_only_its_stream():
    _, clean = generate("test", 2, config=CONFIG)
    video_only = {"occlusion", "dropped_frames", "blur", "visual_noise"}
    values = {
        "noise_snr": 5,
        "occlusion": 0.25,
        "av_offset_ms": 250,
        "dropped_frames": 0.3,
        "blur": 2,
        "visual_noise": 10,
        "reverb": 0.5,
        "audio_dropout": 0.3,
    }
    assert set(values) == set(CONDITIONS)
    for name, value in values.items():
        _, clip = generate("test", 2, config=CONFIG, conditions={name: value})
        assert np.array_equal(clip.frames, clean.frames) == (name not in video_only), name
        assert np.array_equal(clip.waveform, clean.waveform) == (name in video_only), name
        assert clip.frames.shape == clean.frames.shape and clip.waveform.shape == clean.waveform.shape


def test_noise_snr_is_measured_on_the_media():
    _, clean = generate("test", 4, config=CONFIG)
    _, noisy = generate("test", 4, config=CONFIG, conditions={"noise_snr": 10})
    noise = noisy.waveform.astype(np.float64) - clean.waveform
    snr = 10 * np.log10(np.mean(clean.waveform.astype(np.float64) ** 2) / np.mean(noise**2))
    assert abs(snr - 10) < 0.2


def test_occlusion_hides_the_stated_fraction():
    sample, clip = generate("test", 4, config=CONFIG, conditions={"occlusion": 0.36})
    x, y, w, h = sample.target("conditions")["occluder"]
    assert abs(w * h / 128**2 - 0.36) < 0.02
    assert (clip.frames[:, y : y + h, x : x + w] == 128).all()


def test_offset_shifts_audio_and_its_events_exactly():
    s0, clean = generate("test", 4, config=CONFIG)
    s1, late = generate("test", 4, config=CONFIG, conditions={"av_offset_ms": 125})
    assert np.array_equal(late.waveform[:, 2000:], clean.waveform[:, :-2000])
    assert not late.waveform[:, :2000].any()
    shifted = [min(e["onset"] + 0.125, 10) for e in s0.target("events")["audio"]]
    assert [e["onset"] for e in s1.target("events")["audio"]] == shifted[: len(s1.target("events")["audio"])]
    assert s1.target("offset_samples") == 2000


def test_dropped_frames_repeat_the_previous_frame():
    sample, clip = generate("test", 4, config=CONFIG, conditions={"dropped_frames": 0.4})
    dropped = sample.target("conditions")["dropped_frames"]
    assert dropped
    for k in dropped:
        assert np.array_equal(clip.frames[k], clip.frames[k - 1])


def test_audio_dropout_silences_chunks():
    sample, clip = generate("test", 4, config=CONFIG, conditions={"audio_dropout": 0.5})
    for a, b in sample.target("conditions")["dropped_chunks"]:
        assert not clip.waveform[:, a:b].any()


def test_conditions_compose_deterministically():
    cond = {"noise_snr": 0, "blur": 1, "reverb": 1.0, "visual_noise": 5}
    _, a = generate("test", 1, conditions=cond)
    _, b = generate("test", 1, conditions=dict(reversed(cond.items())))
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.waveform, b.waveform)


def test_bad_conditions_list_choices():
    with pytest.raises(ValueError, match="valid conditions are: noise_snr, occlusion"):
        parse_conditions(["snr=3"])
    with pytest.raises(ValueError, match=r"in \[0, 0.9\]"):
        parse_conditions(["occlusion=2"])
    with pytest.raises(ValueError, match="needs a number"):
        parse_conditions(["blur=strong"])
    with pytest.raises(ValueError, match="valid conditions are"):
        generate("test", 0, conditions={"fog": 1.0})
