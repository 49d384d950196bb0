"""Ground truth of every task, derived from one AVSynth scene.

Times are exact on the sample and frame grids and written as seconds only in the JSON targets:
events (audio, visual, audio-visual; LLP/AVVP and UnAV-100 conventions), per-second AVEL labels (AVE
convention: one class or ``background`` per 1 s segment), per-second multi-labels per modality, object
tracks (sound source localization), the applied audio-video offset, a caption and retrieval keys.
Per-frame masks (AVSBench conventions) are arrays and are made on demand from the id map.

Example:
    >>> from avikit.data.synth.scene import sample_scene
    >>> t = build_targets(sample_scene("test", 0))
    >>> len(t["avel"]), sorted(t["events"])
    (10, ['audio', 'audio_visual', 'visual'])
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from avikit.data.synth.classes import SOUNDS, get_class
from avikit.data.synth.scene import Scene, SceneObject, camera_offsets, track
from avikit.data.synth.video import object_radii

__all__ = [
    "BACKGROUND",
    "avel_labels",
    "build_targets",
    "localization_maps",
    "segment_labels_of",
    "segment_mask_maps",
    "sounding_frames",
]

BACKGROUND = "background"


def _sec(value: Fraction) -> float | int:
    return int(value) if value.denominator == 1 else float(value)


def _audio_spans(obj: SceneObject, scene: Scene, shift: int) -> list[tuple[Fraction, Fraction]]:
    """Return the object's audio events in exact seconds after an audio shift of ``shift`` samples."""
    rate, end = scene.config.sample_rate, scene.duration
    spans = []
    for first, stop in obj.events:
        a = Fraction(scene.frame_to_sample(first) + shift, rate)
        b = Fraction(scene.frame_to_sample(stop) + shift, rate)
        a, b = max(a, Fraction(0)), min(b, end)
        if b > a:
            spans.append((a, b))
    return spans


def _events(scene: Scene, shift: int) -> dict[str, list[dict[str, Any]]]:
    fps = scene.config.fps
    out: dict[str, list[dict[str, Any]]] = {"audio": [], "visual": [], "audio_visual": []}
    for obj in scene.objects:
        audio = _audio_spans(obj, scene, shift)
        for a, b in audio:
            out["audio"].append({"label": obj.cls, "onset": _sec(a), "offset": _sec(b), "object": obj.id})
        if not obj.on_screen or obj.visible[1] <= obj.visible[0]:
            continue
        va, vb = Fraction(obj.visible[0], fps), Fraction(obj.visible[1], fps)
        out["visual"].append({"label": obj.cls, "onset": _sec(va), "offset": _sec(vb), "object": obj.id})
        for a, b in audio:
            lo, hi = max(a, va), min(b, vb)
            if hi > lo:
                out["audio_visual"].append(
                    {"label": obj.cls, "onset": _sec(lo), "offset": _sec(hi), "object": obj.id}
                )
    for rows in out.values():
        rows.sort(key=lambda e: (e["onset"], e["offset"], e["label"]))
    return out


def _coverage(events: list[dict[str, Any]], seconds: int) -> dict[str, np.ndarray]:
    """Return, per label, the covered time in each 1 s segment (overlapping events of a label merged)."""
    per_label: dict[str, list[tuple[Fraction, Fraction]]] = {}
    for e in events:
        per_label.setdefault(e["label"], []).append((Fraction(e["onset"]), Fraction(e["offset"])))
    out = {}
    for label, spans in per_label.items():
        cover = np.zeros(seconds)
        for k in range(seconds):
            edges = sorted((max(a, Fraction(k)), min(b, Fraction(k + 1))) for a, b in spans)
            total, reach = Fraction(0), Fraction(k)
            for a, b in edges:
                a = max(a, reach)
                if b > a:
                    total, reach = total + b - a, b
            cover[k] = float(total)
        out[label] = cover
    return out


def segment_labels_of(events: list[dict[str, Any]], seconds: int) -> list[list[str]]:
    """Return the classes of each 1 s segment: those whose events cover at least 0.5 s of it (LLP)."""
    cover = _coverage(events, seconds)
    return [sorted(c for c, v in cover.items() if v[k] >= 0.5) for k in range(seconds)]


def avel_labels(events: list[dict[str, Any]], seconds: int) -> list[str]:
    """Return one label per 1 s segment (AVE): the class covering most of it if >= 0.5 s, else background.

    Ties go to the class listed first in :data:`~avikit.data.synth.classes.CLASS_NAMES`.
    """
    cover = _coverage(events, seconds)
    labels = []
    for k in range(seconds):
        best = max(cover, key=lambda c: (cover[c][k], -get_class(c).index), default=None)
        labels.append(best if best is not None and cover[best][k] >= 0.5 else BACKGROUND)
    return labels


def _place_word(x: float, size: int) -> str:
    return "on the left" if x < size / 3 else "on the right" if x > 2 * size / 3 else "in the middle"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _tracks(scene: Scene) -> list[dict[str, Any]]:
    size = scene.config.size
    dx, dy = camera_offsets(scene)
    out = []
    for obj, radii in zip(scene.objects, object_radii(scene), strict=True):
        xs, ys = track(obj, scene)
        if obj.on_screen:
            xs, ys = xs - dx, ys - dy
        a, b = obj.visible
        item: dict[str, Any] = {
            "id": obj.id,
            "class": obj.cls,
            "on_screen": obj.on_screen,
            "sounding": obj.sounding,
            "loudness_db": round(obj.gain_db, 3),
            "side": None if obj.on_screen else ("left" if obj.x < 0 else "right"),
            "place": _place_word(float(np.mean(xs[a:b])), size) if obj.on_screen and b > a else None,
        }
        if obj.on_screen:
            item["track"] = {
                "first_frame": a,
                "x": np.round(xs[a:b] / size, 4).tolist(),
                "y": np.round(ys[a:b] / size, 4).tolist(),
                "r": np.round(radii[a:b] / size, 4).tolist(),
            }
        out.append(item)
    return out


def _caption(objects: list[dict[str, Any]], events: dict[str, list[dict[str, Any]]]) -> str:
    first_onset = {e["object"]: e["onset"] for e in reversed(events["audio"])}
    sounding = sorted((o for o in objects if o["id"] in first_onset), key=lambda o: first_onset[o["id"]])
    parts = []
    for o in sounding:
        verb = SOUNDS[get_class(o["class"]).sound]
        where = o["place"] if o["on_screen"] else "off screen"
        parts.append(f"{_article(o['class'])} {o['class']} {verb} {where}")
    text = " while ".join(parts[:2]) + "".join(f", then {p}" for p in parts[2:])
    silent = [o["class"] for o in objects if o["on_screen"] and o["id"] not in first_onset]
    if silent:
        text += ("; " if text else "") + " and ".join(f"a silent {c} is seen" for c in silent)
    return text or "an empty scene"


def build_targets(scene: Scene, shift: int = 0) -> dict[str, Any]:
    """Return the JSON-able targets of every task for ``scene``, its audio shifted by ``shift`` samples."""
    seconds = math.ceil(scene.duration)
    events = _events(scene, shift)
    objects = _tracks(scene)
    caption = _caption(objects, events)
    sounding = sorted({e["label"] for e in events["audio"]})
    return {
        "duration": _sec(scene.duration),
        "events": events,
        "avel": avel_labels(events["audio_visual"], seconds),
        "segment_labels": {m: segment_labels_of(rows, seconds) for m, rows in events.items()},
        "labels": sorted({e["label"] for rows in events.values() for e in rows}),
        "sounding_classes": sounding,
        "objects": objects,
        "offset_ms": 1000 * shift / scene.config.sample_rate,
        "offset_samples": shift,
        "caption": caption,
        "retrieval": {"text": caption, "group": "+".join(sounding) or "silence"},
    }


def sounding_frames(targets: dict[str, Any], num_frames: int, fps: int) -> dict[int, np.ndarray]:
    """Return, per object id, the frames ``bool [T]`` that show it while it sounds (start in an AV event)."""
    starts = np.arange(num_frames) / fps
    out: dict[int, np.ndarray] = {}
    for e in targets["events"]["audio_visual"]:
        hit = (starts >= e["onset"]) & (starts < e["offset"])
        out[e["object"]] = out.get(e["object"], np.zeros(num_frames, bool)) | hit
    return out


def segment_mask_maps(ids: np.ndarray, targets: dict[str, Any], fps: int) -> tuple[np.ndarray, np.ndarray]:
    """Return per-frame masks of the sounding objects from an id map ``uint8 [T, H, W]``.

    Returns:
        ``(binary, semantic)``, both ``uint8 [T, H, W]``: ``binary`` is 1 on sounding objects (AVSBench
        S4/MS3), ``semantic`` is ``class index + 1`` on sounding objects and 0 on background (AVSS).
    """
    num_frames = ids.shape[0]
    lut = np.zeros((num_frames, 256), dtype=np.uint8)
    for oid, frames in sounding_frames(targets, num_frames, fps).items():
        cls = targets["objects"][oid]["class"]
        lut[frames, oid + 1] = get_class(cls).index + 1
    semantic = np.take_along_axis(lut, ids.reshape(num_frames, -1).astype(np.intp), axis=1).reshape(ids.shape)
    return (semantic > 0).astype(np.uint8), semantic


def localization_maps(targets: dict[str, Any], num_frames: int, size: int, fps: int) -> np.ndarray:
    """Return sound source localization maps ``float32 [T, size, size]`` in ``[0, 1]``.

    Each sounding visible object adds a Gaussian blob at its centre with its radius as standard deviation.
    """
    maps = np.zeros((num_frames, size, size), dtype=np.float32)
    grid = np.arange(size, dtype=np.float32) + 0.5
    for oid, frames in sounding_frames(targets, num_frames, fps).items():
        tr = targets["objects"][oid]["track"]
        for k in np.flatnonzero(frames):
            j = k - tr["first_frame"]
            x, y, r = (tr[key][j] * size for key in ("x", "y", "r"))
            gy = np.exp(-((grid - y) ** 2) / (2 * r * r))
            gx = np.exp(-((grid - x) ** 2) / (2 * r * r))
            maps[k] = np.maximum(maps[k], gy[:, None] * gx[None, :])
    return maps
