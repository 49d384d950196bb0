from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from avikit.data.synth import (
    CLASS_NAMES,
    CLASSES,
    OPEN_VOCAB_CLASSES,
    SEEN_CLASSES,
    SPLITS,
    SynthConfig,
    generate,
    get_class,
    sample_scene,
    split_classes,
)


def _digest(sample, clip) -> str:
    h = hashlib.sha256(clip.frames.tobytes())
    h.update(clip.waveform.tobytes())
    h.update(sample.to_json().encode())
    return h.hexdigest()


def test_enough_distinct_classes_with_captions():
    assert len(CLASS_NAMES) >= 24
    looks = {(c.colour, c.shape) for c in CLASSES.values()}
    sounds = {(c.sound, c.pitch) for c in CLASSES.values()}
    captions = {c.caption for c in CLASSES.values()}
    assert len(looks) == len(sounds) == len(captions) == len(CLASSES)
    assert all(name.isalpha() and name.islower() for name in CLASS_NAMES)


def test_open_vocabulary_classes_are_new_combinations_of_seen_attributes():
    assert not set(OPEN_VOCAB_CLASSES) & set(SEEN_CLASSES)
    for name in OPEN_VOCAB_CLASSES:
        for attribute, value in CLASSES[name].attributes.items():
            assert any(CLASSES[s].attributes[attribute] == value for s in SEEN_CLASSES), (name, attribute)


def test_splits_use_their_classes():
    for index in range(30):
        for split in ("train", "val", "test"):
            assert {o.cls for o in sample_scene(split, index).objects} <= set(SEEN_CLASSES)
        assert {o.cls for o in sample_scene("open_test", index).objects} <= set(OPEN_VOCAB_CLASSES)


def test_random_access_is_bit_identical_and_order_free():
    first = _digest(*generate("test", 5, seed=3))
    for index in (9, 0, 2):
        generate("test", index, seed=3)
    assert _digest(*generate("test", 5, seed=3)) == first
    assert _digest(*generate("test", 6, seed=3)) != first
    assert _digest(*generate("test", 5, seed=4)) != first
    assert _digest(*generate("val", 5, seed=3)) != first


def test_clip_shapes_and_ranges():
    sample, clip = generate("train", 1)
    assert clip.frames.shape == (80, 128, 128, 3)
    assert clip.waveform.shape == (2, 160000)
    assert np.abs(clip.waveform).max() <= 1.0
    assert clip.duration == 10.0
    json.dumps(sample.to_dict())


def test_long_split_lasts_minutes():
    config = SynthConfig(long_duration=60)
    sample, clip = generate("long", 0, config=config)
    assert clip.duration == 60.0
    assert len(sample.target("avel")) == 60


def test_world_knobs_show_up():
    scenes = [
        sample_scene("test", i, config=SynthConfig(p_offscreen=1.0, p_silent=1.0, max_objects=3))
        for i in range(20)
    ]
    assert all(any(not o.on_screen for o in s.objects) for s in scenes)
    assert all(not o.sounding for s in scenes for o in s.objects[1:] if o.on_screen)
    assert max(sum(o.on_screen for o in s.objects) for s in scenes) == 3
    still = generate("test", 0, config=SynthConfig(max_objects=1))[1].frames
    shaken = generate("test", 0, config=SynthConfig(max_objects=1, camera_motion=4))[1].frames
    assert not np.array_equal(still, shaken)


def test_bad_options_list_valid_choices():
    with pytest.raises(ValueError, match="valid splits are train, val, test, open_test, long"):
        sample_scene("dev", 0)
    with pytest.raises(ValueError, match="valid classes are bell"):
        get_class("unicorn")
    with pytest.raises(ValueError, match="valid classes are"):
        SynthConfig(classes=("bell", "unicorn"))
    with pytest.raises(ValueError, match="invalid SynthConfig field"):
        SynthConfig(fps=0)
    with pytest.raises(ValueError, match="index must be"):
        sample_scene("test", -1)
    assert split_classes("test", SynthConfig(classes=("dog",))) == ("dog",)
    assert set(SPLITS) == {"train", "val", "test", "open_test", "long"}


def test_config_round_trip():
    config = SynthConfig(duration=5, classes=("dog", "bell"))
    assert SynthConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="valid fields are"):
        SynthConfig.from_dict({"colour": 1})
