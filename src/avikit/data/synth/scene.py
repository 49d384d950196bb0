"""Scenes: what an AVSynth clip contains, sampled from ``(split, index, seed)`` by random access.

A scene is a small record (objects, their classes, tracks and sound events on the frame grid). Every
random choice comes from a numpy ``Generator`` seeded by a hash of ``(version, seed, split, index)``, so
sample ``i`` is the same whatever else is made and in whatever order; there is no global state.

Example:
    >>> scene = sample_scene("test", 3, seed=0)
    >>> scene == sample_scene("test", 3, seed=0)
    True
    >>> scene.num_frames, scene.num_samples
    (80, 160000)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields, replace
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from avikit.data.synth.classes import OPEN_VOCAB_CLASSES, SEEN_CLASSES, get_class
from avikit.errors import DataError
from avikit.media.timeline import samples_for_frames, to_fraction

__all__ = [
    "SPLITS",
    "VERSION",
    "Scene",
    "SceneObject",
    "SynthConfig",
    "activation",
    "camera_offsets",
    "derive_rng",
    "sample_scene",
    "split_classes",
    "syllables",
    "track",
    "with_objects",
]

VERSION = 1
"""Generator version: it goes up on any change that alters a generated sample."""
SPLITS = ("train", "val", "test", "open_test", "long")


@dataclass(frozen=True)
class SynthConfig:
    """The knobs of the AVSynth world. Every field has a default chosen for speed on one CPU core.

    Attributes:
        duration: clip length in seconds (``long`` split: ``long_duration``).
        fps: video frame rate (integer, so whole seconds fall on frames).
        size: frame height and width in pixels.
        sample_rate: audio sample rate in Hz.
        max_objects: most visible objects in one scene (1 or more).
        p_silent: probability that a visible object never sounds (visual-only events).
        p_offscreen: probability that the scene has an off-screen sound (audio-only events).
        p_moving: probability that a visible object moves.
        noise_db: background noise level in dB relative to full scale.
        camera_motion: amplitude of camera shake in pixels (0: a still camera).
        long_duration: clip length of the ``long`` split in seconds.
        classes: the classes to draw from, overriding the split's class set (``None``: the split's).
    """

    duration: Fraction = Fraction(10)
    fps: int = 8
    size: int = 128
    sample_rate: int = 16000
    max_objects: int = 3
    p_silent: float = 0.25
    p_offscreen: float = 0.3
    p_moving: float = 0.5
    noise_db: float = -40.0
    camera_motion: float = 0.0
    long_duration: Fraction = Fraction(120)
    classes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration", to_fraction(self.duration))
        object.__setattr__(self, "long_duration", to_fraction(self.long_duration))
        checks = {
            "duration": self.duration >= 1 and self.duration * self.fps == int(self.duration * self.fps),
            "long_duration": self.long_duration >= 1,
            "fps": isinstance(self.fps, int) and 1 <= self.fps <= 60,
            "size": isinstance(self.size, int) and 32 <= self.size <= 1024,
            "sample_rate": isinstance(self.sample_rate, int) and 4000 <= self.sample_rate <= 96000,
            "max_objects": isinstance(self.max_objects, int) and 1 <= self.max_objects <= 8,
            "p_silent": 0 <= self.p_silent <= 1,
            "p_offscreen": 0 <= self.p_offscreen <= 1,
            "p_moving": 0 <= self.p_moving <= 1,
            "noise_db": -120 <= self.noise_db <= 0,
            "camera_motion": 0 <= self.camera_motion <= self.size / 4,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise DataError(
                f"invalid SynthConfig field(s) {bad}: need duration >= 1 s on the frame grid, "
                "1 <= fps <= 60, "
                f"32 <= size <= 1024, 4000 <= sample_rate <= 96000, 1 <= max_objects <= 8, probabilities in "
                f"[0, 1], -120 <= noise_db <= 0, 0 <= camera_motion <= size/4"
            )
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(get_class(c).name for c in self.classes))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form (fractions as strings such as ``"10"``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = (
                str(value)
                if isinstance(value, Fraction)
                else list(value)
                if f.name == "classes" and value
                else value
            )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SynthConfig:
        """Build from :meth:`to_dict` output; unknown fields are errors listing the valid ones."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise DataError(
                f"unknown SynthConfig field(s) {sorted(unknown)}; valid fields are {sorted(names)}"
            )
        values = dict(data)
        for key in ("duration", "long_duration"):
            if isinstance(values.get(key), str):
                values[key] = Fraction(values[key])
        if values.get("classes") is not None:
            values["classes"] = tuple(values["classes"])
        return cls(**values)


@dataclass(frozen=True)
class SceneObject:
    """One sound source of a scene: visible (on screen) or an off-screen sound.

    Positions and radii are in pixels of the frame; times are frame indices on the video grid.

    Attributes:
        id: index of the object in its scene.
        cls: class name.
        on_screen: whether the object is drawn; off-screen objects are only heard.
        x, y: start position of the centre (off-screen: ``x`` is -1 for left or ``size`` for right).
        vx, vy: velocity in pixels per second (objects bounce off the borders).
        radius: base radius in pixels.
        visible: ``(first, stop)`` frames in which the object is drawn (empty for off-screen).
        events: ``((first, stop), ...)`` frames in which the object sounds.
        pitch: pitch factor around the class pitch (within-class variation).
        timbre: timbre parameter in ``[0, 1]`` (spectral tilt, modulation depth).
        gain_db: loudness in dB; it grows with the size.
        seed: seed of the object's own details (syllables, noise).
    """

    id: int
    cls: str
    on_screen: bool
    x: float
    y: float
    vx: float
    vy: float
    radius: float
    visible: tuple[int, int]
    events: tuple[tuple[int, int], ...]
    pitch: float
    timbre: float
    gain_db: float
    seed: int

    @property
    def sounding(self) -> bool:
        """Whether the object makes any sound."""
        return bool(self.events)


@dataclass(frozen=True)
class Scene:
    """A sampled scene: its config, identity and objects."""

    config: SynthConfig
    split: str
    index: int
    seed: int
    duration: Fraction
    objects: tuple[SceneObject, ...]
    background: tuple[tuple[int, int, int], tuple[int, int, int]] = ((0, 0, 0), (0, 0, 0))
    camera_phase: float = 0.0
    noise_seed: int = 0

    @property
    def num_frames(self) -> int:
        """Number of video frames."""
        return int(self.duration * self.config.fps)

    @property
    def num_samples(self) -> int:
        """Number of audio samples per channel."""
        return samples_for_frames(0, self.num_frames, self.config.fps, self.config.sample_rate)[1]

    def frame_to_sample(self, frame: int) -> int:
        """Return the audio sample at which video frame ``frame`` starts (nearest sample, half up)."""
        fps, rate = self.config.fps, self.config.sample_rate
        return (2 * frame * rate + fps) // (2 * fps)

    def frame_edges(self) -> np.ndarray:
        """Return the first sample of every frame and the end, ``int64 [T + 1]``."""
        fps, rate = self.config.fps, self.config.sample_rate
        return (2 * np.arange(self.num_frames + 1, dtype=np.int64) * rate + fps) // (2 * fps)


def derive_rng(seed: int, *keys: object) -> np.random.Generator:
    """Return a numpy Generator seeded by a SHA-256 hash of ``(VERSION, seed, *keys)``.

    Example:
        >>> int(derive_rng(0, "test", 1).integers(1000)) == int(derive_rng(0, "test", 1).integers(1000))
        True
    """
    text = "/".join(["avsynth", str(VERSION), str(seed), *map(str, keys)])
    digest = hashlib.sha256(text.encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "little")))


def split_classes(split: str, config: SynthConfig | None = None) -> tuple[str, ...]:
    """Return the classes that occur in ``split``: the held-out ones for ``open_test``, else the seen ones.

    Raises:
        ValueError: for an unknown split; the message lists the valid ones.
    """
    if split not in SPLITS:
        raise DataError(f"unknown AVSynth split {split!r}; valid splits are {', '.join(SPLITS)}")
    if config is not None and config.classes is not None:
        return config.classes
    return OPEN_VOCAB_CLASSES if split == "open_test" else SEEN_CLASSES


def _frame_interval(rng: np.random.Generator, num_frames: int, min_len: int, max_len: int) -> tuple[int, int]:
    length = int(rng.integers(min(min_len, num_frames), min(max_len, num_frames) + 1))
    first = int(rng.integers(0, num_frames - length + 1))
    return first, first + length


def _events(rng: np.random.Generator, num_frames: int, fps: int) -> tuple[tuple[int, int], ...]:
    """Sample non-overlapping sound events, each at least 1 s long, with gaps of at least 0.5 s."""
    count = 1 + int(rng.integers(0, max(1, num_frames // (4 * fps)) + 1))
    cuts = np.sort(rng.choice(np.arange(1, num_frames), size=min(2 * count, num_frames - 1), replace=False))
    events = []
    bounds = [0, *cuts.tolist(), num_frames]
    for a, b in zip(bounds[::2], bounds[1::2], strict=False):
        if b - a >= fps and rng.random() < 0.8:
            events.append((a, b))
    if not events:
        events.append(_frame_interval(rng, num_frames, fps, 6 * fps))
    merged: list[tuple[int, int]] = []
    for a, b in events:
        if merged and a - merged[-1][1] < fps // 2:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return tuple(merged)


def _sample_object(
    rng: np.random.Generator,
    oid: int,
    cls: str,
    on_screen: bool,
    sounding: bool,
    num_frames: int,
    cfg: SynthConfig,
) -> SceneObject:
    c = get_class(cls)
    scale = cfg.size / 128
    radius = float(c.base_radius * scale * rng.uniform(0.8, 1.25))
    margin = radius * 1.35 + 1
    if on_screen:
        x, y = (float(v) for v in rng.uniform(margin, cfg.size - margin, size=2))
        moving = rng.random() < cfg.p_moving
        vx, vy = (float(v) for v in (rng.uniform(-12, 12, size=2) * scale if moving else (0.0, 0.0)))
        whole = rng.random() < 0.6
        visible = (0, num_frames) if whole else _frame_interval(rng, num_frames, 2 * cfg.fps, num_frames)
    else:
        x, y, vx, vy, visible = (
            (-1.0 if rng.random() < 0.5 else float(cfg.size)),
            cfg.size / 2,
            0.0,
            0.0,
            (0, 0),
        )
    events = _events(rng, num_frames, cfg.fps) if sounding else ()
    size_db = 20 * np.log10(radius / (c.base_radius * scale))
    return SceneObject(
        id=oid,
        cls=cls,
        on_screen=on_screen,
        x=x,
        y=y,
        vx=vx,
        vy=vy,
        radius=radius,
        visible=visible,
        events=events,
        pitch=float(rng.uniform(0.85, 1.18)),
        timbre=float(rng.uniform(0.0, 1.0)),
        gain_db=float(-12 + size_db + rng.uniform(-4, 4) - (0 if on_screen else 3)),
        seed=int(rng.integers(2**31)),
    )


def sample_scene(split: str, index: int, seed: int = 0, config: SynthConfig | None = None) -> Scene:
    """Sample the scene of clip ``index`` of ``split`` for ``seed``, by random access.

    Args:
        split: one of :data:`SPLITS`.
        index: the clip's index in the split (0 or more).
        seed: the dataset seed.
        config: the world's knobs (default :class:`SynthConfig`).

    Raises:
        ValueError: for an unknown split or a negative index.
    """
    cfg = config or SynthConfig()
    classes = split_classes(split, cfg)
    if not isinstance(index, int) or index < 0:
        raise DataError(f"index must be an integer >= 0, got {index!r}")
    rng = derive_rng(seed, split, index)
    duration = cfg.long_duration if split == "long" else cfg.duration
    num_frames = int(duration * cfg.fps)
    n_visible = int(rng.integers(1, cfg.max_objects + 1))
    offscreen = rng.random() < cfg.p_offscreen
    picks = rng.choice(len(classes), size=n_visible + int(offscreen), replace=len(classes) < n_visible + 1)
    objects = []
    for oid, k in enumerate(picks.tolist()):
        on_screen = oid < n_visible
        sounding = not on_screen or oid == 0 or rng.random() >= cfg.p_silent
        objects.append(_sample_object(rng, oid, classes[k], on_screen, sounding, num_frames, cfg))
    dark = rng.integers(10, 70, size=3)
    light = dark + rng.integers(10, 50, size=3)
    return Scene(
        config=cfg,
        split=split,
        index=index,
        seed=seed,
        duration=duration,
        objects=tuple(objects),
        background=(tuple(int(v) for v in dark), tuple(int(v) for v in light)),  # type: ignore[arg-type]
        camera_phase=float(rng.uniform(0, 2 * np.pi)),
        noise_seed=int(rng.integers(2**31)),
    )


def with_objects(scene: Scene, objects: tuple[SceneObject, ...]) -> Scene:
    """Return a copy of ``scene`` with other objects (for hand-made test scenes)."""
    return replace(scene, objects=objects)


def track(obj: SceneObject, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Return the centre ``(x, y)`` of an object in every frame, ``float64 [T]`` each, in scene pixels.

    Moving objects bounce off the borders (a triangle wave between ``margin`` and ``size - margin``).
    """
    t = np.arange(scene.num_frames) / scene.config.fps
    if not obj.on_screen:
        return np.full_like(t, obj.x), np.full_like(t, obj.y)
    lo = obj.radius * 1.35 + 1
    hi = scene.config.size - lo
    return _bounce(obj.x + obj.vx * t, lo, hi), _bounce(obj.y + obj.vy * t, lo, hi)


def _bounce(p: np.ndarray, lo: float, hi: float) -> np.ndarray:
    span = hi - lo
    q = np.mod(p - lo, 2 * span)
    return lo + np.where(q > span, 2 * span - q, q)


def camera_offsets(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Return the integer camera shift ``(dx, dy)`` of every frame, ``int64 [T]`` each (zeros if still)."""
    amp = scene.config.camera_motion
    t = np.arange(scene.num_frames) / scene.config.fps
    dx = np.rint(amp * np.sin(2 * np.pi * 0.31 * t + scene.camera_phase)).astype(np.int64)
    dy = np.rint(amp * np.sin(2 * np.pi * 0.23 * t + 2 * scene.camera_phase)).astype(np.int64)
    return dx, dy


@lru_cache(maxsize=64)
def syllables(obj: SceneObject, scene: Scene) -> np.ndarray:
    """Return the sample ranges ``[K, 2]`` in which the object actually sounds (bursts inside its events).

    Sound comes in bursts of 0.15-0.45 s with gaps of 0.06-0.25 s, so that audio and the visible pulsing
    of the object share a distinctive rhythm.
    """
    rng = derive_rng(obj.seed, "syllables")
    rate = scene.config.sample_rate
    out = []
    for first, stop in obj.events:
        s, s1 = scene.frame_to_sample(first), scene.frame_to_sample(stop)
        while s < s1:
            on = int(rng.uniform(0.15, 0.45) * rate)
            out.append((s, min(s + on, s1)))
            s += on + int(rng.uniform(0.06, 0.25) * rate)
    spans = np.asarray(out, dtype=np.int64).reshape(-1, 2)
    spans.setflags(write=False)
    return spans


@lru_cache(maxsize=64)
def activation(obj: SceneObject, scene: Scene) -> np.ndarray:
    """Return the fraction of each frame's duration in which the object sounds, ``float64 [T]`` in [0, 1]."""
    n = scene.num_samples
    edges = scene.frame_edges()
    on = np.zeros(n + 1, dtype=np.int64)
    spans = syllables(obj, scene)
    np.add.at(on, spans[:, 0], 1)
    np.add.at(on, spans[:, 1], -1)
    covered = np.concatenate([[0], np.cumsum(np.cumsum(on)[:-1])])
    out = (covered[edges[1:]] - covered[edges[:-1]]) / np.diff(edges)
    out.setflags(write=False)
    return out
