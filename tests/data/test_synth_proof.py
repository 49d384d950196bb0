"""Proof that the AVSynth ground truth is right, measured on the media, not on generator variables."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.data.synth import SynthConfig, generate, sample_scene, segment_mask_maps
from avikit.data.synth.audio import dominant_band
from avikit.data.synth.video import sprite

SINGLE = SynthConfig(max_objects=1, p_offscreen=0.0, p_silent=0.0, p_moving=0.0, noise_db=-60.0)


def _frame_blocks(waveform: np.ndarray, num_frames: int) -> np.ndarray:
    mono = waveform.sum(axis=0, dtype=np.float64)
    return mono[: len(mono) // num_frames * num_frames].reshape(num_frames, -1)


def _event_frames(events: list[dict], num_frames: int, fps: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames wholly inside an event, and frames at least one frame away from every event."""
    start, end = np.arange(num_frames) / fps, (np.arange(num_frames) + 1) / fps
    inside = np.zeros(num_frames, bool)
    near = np.zeros(num_frames, bool)
    for e in events:
        inside |= (start >= e["onset"]) & (end <= e["offset"])
        near |= (end + 1 / fps > e["onset"]) & (start - 1 / fps < e["offset"])
    return inside, ~near


@pytest.mark.parametrize("index", range(12))
def test_band_energy_rises_inside_labelled_audio_events(index):
    sample, clip = generate("test", index, config=SINGLE)
    t = sample.target("events")
    obj = sample_scene("test", index, config=SINGLE).objects[0]
    lo, hi = dominant_band(obj, clip.sample_rate)
    blocks = _frame_blocks(clip.waveform, clip.num_frames)
    freqs = np.fft.rfftfreq(blocks.shape[1], 1 / clip.sample_rate)
    power = np.abs(np.fft.rfft(blocks, axis=1)) ** 2
    band = power[:, (freqs >= lo) & (freqs <= hi)].sum(axis=1)
    inside, outside = _event_frames(t["audio"], clip.num_frames, 8)
    assert inside.any()
    if outside.any():
        assert band[inside].mean() > 100 * band[outside].mean()  # >= 20 dB


def test_object_pixels_change_inside_labelled_visual_events():
    config = SynthConfig(max_objects=1, p_offscreen=0.0, p_moving=0.0)
    checked = 0
    for index in range(40):
        sample, clip = generate("val", index, config=config)
        (event,) = sample.target("events")["visual"]
        inside, outside = _event_frames([event], clip.num_frames, 8)
        if not outside.any():
            continue
        obj = sample.target("objects")[0]
        x, y = round(obj["track"]["x"][0] * 128), round(obj["track"]["y"][0] * 128)
        h = round(obj["track"]["r"][0] * 128 * 0.7)
        patch = clip.frames[:, y - h : y + h + 1, x - h : x + h + 1].astype(np.float64)
        reference = np.median(patch[outside], axis=0)
        change = np.abs(patch - reference).mean(axis=(1, 2, 3))
        assert change[outside].max() == 0
        assert change[inside].min() > 15
        checked += 1
    assert checked >= 5


def _offset_estimate(frames: np.ndarray, waveform: np.ndarray, max_lag: int) -> int:
    """Lag (in frames) that best aligns visual activity (pixels away from the median frame) with audio level."""
    median = np.median(frames, axis=0)
    visual = (np.abs(frames - median).max(axis=-1) > 8).sum(axis=(1, 2)).astype(np.float64)
    audio = np.sqrt((_frame_blocks(waveform, len(frames)) ** 2).mean(axis=1))
    visual, audio = ((v - v.mean()) / (v.std() + 1e-12) for v in (visual, audio))
    n = len(visual)
    lags = list(range(-max_lag, max_lag + 1))
    score = [
        abs(np.mean(visual[max(0, -k) : n - max(0, k)] * audio[max(0, k) : n - max(0, -k)])) for k in lags
    ]
    return lags[int(np.argmax(score))]


def _well_posed(sample) -> bool:
    """The object is seen for the whole clip and heard for at least 2 s (after the shift)."""
    events = sample.target("events")
    whole = [(e["onset"], e["offset"]) for e in events["visual"]] == [(0, 10)]
    return whole and sum(e["offset"] - e["onset"] for e in events["audio"]) >= 2


@pytest.mark.parametrize("offset_ms", [0, 250, -375, 500, -125, 1000, -1500])
def test_declared_offset_is_recovered_by_cross_correlation(offset_ms):
    checked = 0
    for index in range(40):
        sample, clip = generate("test", index, config=SINGLE, conditions={"av_offset_ms": offset_ms})
        if not _well_posed(sample):
            continue
        assert sample.target("offset_ms") == offset_ms
        lag = _offset_estimate(clip.frames, clip.waveform, max_lag=16)
        assert abs(lag * 125 - offset_ms) <= 125, index  # within one frame at 8 fps
        checked += 1
        if checked == 4:
            return
    pytest.fail("too few well-posed scenes")


def test_stereo_level_follows_labelled_position():
    xs, ilds = [], []
    for index in range(20):
        sample, clip = generate("train", index, config=SINGLE)
        obj = sample.target("objects")[0]
        rate = clip.sample_rate
        parts = [
            clip.waveform[:, round(e["onset"] * rate) : round(e["offset"] * rate)]
            for e in sample.target("events")["audio"]
        ]
        audio = np.concatenate(parts, axis=1).astype(np.float64)
        ilds.append(10 * np.log10((audio[1] ** 2).sum() / (audio[0] ** 2).sum()))
        xs.append(np.mean(obj["track"]["x"]))
    xs, ilds = np.array(xs), np.array(ilds)
    assert np.all(ilds[xs < 0.4] < -1.0) and np.all(ilds[xs > 0.6] > 1.0)
    rank = np.corrcoef(np.argsort(np.argsort(xs)), np.argsort(np.argsort(ilds)))[0, 1]
    assert rank > 0.95


@pytest.mark.parametrize("index", range(8))
def test_mask_pixels_are_where_the_object_is_drawn(index):
    sample, clip, ids = generate("test", index, with_ids=True)
    targets = {k: sample.target(k) for k in ("events", "objects")}
    binary, semantic = segment_mask_maps(ids, targets, 8)
    sounding = {e["object"] for e in targets["events"]["audio_visual"]}
    for k in range(clip.num_frames):
        for oid in sounding:
            obj = targets["objects"][oid]
            where = (ids[k] == oid + 1) & (binary[k] == 1)
            if not where.any():
                continue
            j = k - obj["track"]["first_frame"]
            mask, rgb = sprite(obj["class"], round(obj["track"]["r"][j] * 128))
            colours = {tuple(c) for c in rgb[mask]}
            drawn = {tuple(c) for c in clip.frames[k][where]}
            assert drawn <= colours
            ys, xs = np.nonzero(where)
            assert abs(xs.mean() / 128 - obj["track"]["x"][j]) * 128 < obj["track"]["r"][j] * 128
            assert abs(ys.mean() / 128 - obj["track"]["y"][j]) * 128 < obj["track"]["r"][j] * 128
    not_sounding = ~np.isin(ids, [o + 1 for o in sounding])
    assert not binary[not_sounding].any()
    assert set(np.unique(semantic)) <= {0} | {c + 1 for c in range(40)}


def test_sounding_objects_pulse_in_sync_with_their_sound():
    sample, clip = generate("test", 3, config=SINGLE)
    obj = sample.target("objects")[0]
    radius = np.array(obj["track"]["r"])
    inside, outside = _event_frames(sample.target("events")["audio"], clip.num_frames, 8)
    assert (
        radius[inside].mean() > radius[outside].mean() * 1.1 if outside.any() else radius.max() > radius.min()
    )
