"""Agent tasks: versioned specs, qualifying episodes, and checkers that accept the truth and reject the rest."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.data.synth import generate, sample_scene
from avikit.data.synth.audio import render_audio
from avikit.data.synth.scene import with_objects
from avikit.errors import UnknownNameError
from avikit.media import AVClip
from avikit.tasks.agent import AGENT_TASKS, get_agent_task, load_episode_clip, with_budget


def test_specs_are_versioned_and_hashed() -> None:
    for task in AGENT_TASKS.values():
        assert (
            task.spec.pillar == "interaction"
            and task.spec.version == 1
            and len(task.spec.protocol_hash) == 16
        )
    changed = with_budget(get_agent_task("agent-loudest"), 4)
    assert changed.spec.protocol_hash != get_agent_task("agent-loudest").spec.protocol_hash
    with pytest.raises(UnknownNameError, match="agent-when-sounds"):
        get_agent_task("agent-fly")


def test_episodes_are_deterministic_and_qualify() -> None:
    task = get_agent_task("agent-loudest")
    episodes = task.episodes(3)
    assert episodes == task.episodes(3)
    for ep in episodes:
        scene = sample_scene("test", ep.clip["index"], 0)
        seen = sorted((o for o in scene.objects if o.on_screen and o.sounding), key=lambda o: -o.gain_db)
        assert seen[0].cls == ep.truth["label"] and seen[0].gain_db - seen[1].gain_db >= 3


def test_when_sounds_checks_within_one_second() -> None:
    task = get_agent_task("agent-when-sounds")
    ep = task.episodes(1)[0]
    onset = ep.truth["onset"]
    assert task.check(ep, {"seconds": onset + 0.9})["success"] == 1.0
    assert task.check(ep, {"seconds": onset + 1.1})["success"] == 0.0
    assert task.check(ep, None)["success"] == 0.0


def test_remove_offscreen_accepts_the_clean_mix_and_rejects_the_input() -> None:
    task = get_agent_task("agent-remove-offscreen")
    ep = task.episodes(1)[0]
    clip = load_episode_clip(ep)
    scene = sample_scene("test", ep.clip["index"], 0)
    clean = render_audio(with_objects(scene, tuple(o for o in scene.objects if o.on_screen)))
    clips = {"input": clip, "clean": clip.with_waveform(clean)}
    good = task.check(ep, {"clip": "clean"}, clips.__getitem__)
    bad = task.check(ep, {"clip": "input"}, clips.__getitem__)
    assert good["success"] == 1.0 and good["on_screen_gain"] == pytest.approx(1.0, abs=1e-6)
    assert bad["success"] == 0.0 and bad["off_screen_gain"] == pytest.approx(1.0, abs=1e-6)


def test_sound_silent_accepts_the_true_sound_and_rejects_it_shifted_by_a_second() -> None:
    task = get_agent_task("agent-sound-silent")
    ep = task.episodes(1)[0]
    silent = load_episode_clip(ep)
    assert silent.waveform is None
    _, true_clip = generate("test", ep.clip["index"], 0)
    late = np.roll(true_clip.waveform, 16000, axis=1)
    clips = {"true": true_clip, "late": true_clip.with_waveform(late), "input": silent}
    assert task.check(ep, {"clip": "true"}, clips.__getitem__)["success"] == 1.0
    assert task.check(ep, {"clip": "late"}, clips.__getitem__)["success"] == 0.0
    assert task.check(ep, {"clip": "input"}, clips.__getitem__)["success"] == 0.0


def test_speech_sync_uses_calling_sources_and_both_answers_occur() -> None:
    task = get_agent_task("agent-speech-sync")
    episodes = task.episodes(12)
    assert {ep.truth["in_sync"] for ep in episodes} == {True, False}
    for ep in episodes[:3]:
        clip = load_episode_clip(ep)
        assert isinstance(clip, AVClip) and ep.clip["conditions"] == (
            {} if ep.truth["in_sync"] else {"av_offset_ms": ep.truth["offset_ms"]}
        )
        scene = sample_scene("test", ep.clip["index"], 0, task.config)
        assert {o.cls for o in scene.objects} <= {"baby", "dog", "cat", "horse"}
