"""Conditions: composable, parameterized corruptions applied on top of a clean AVSynth clip.

Each condition has a name, a unit and a valid range; several compose and are always applied in one
fixed order. They leave the labels of the clean scene as they are (robustness is measured against the
clean truth), except ``av_offset_ms``, which moves the audio stream: the audio events move with it and
the applied offset is itself a target.

Example:
    >>> parse_conditions(["noise_snr=10", "av_offset_ms=-120"])
    {'noise_snr': 10.0, 'av_offset_ms': -120.0}
    >>> parse_conditions(["fog=1"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    avikit.errors.DataError: unknown condition 'fog'; valid conditions are: noise_snr, occlusion, ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from avikit.errors import DataError

__all__ = [
    "CONDITIONS",
    "ConditionSpec",
    "apply_conditions",
    "check_conditions",
    "offset_samples",
    "parse_conditions",
]


@dataclass(frozen=True)
class ConditionSpec:
    """A condition's name, meaning, unit and valid range (inclusive)."""

    name: str
    help: str
    unit: str
    low: float
    high: float


CONDITIONS: dict[str, ConditionSpec] = {
    spec.name: spec
    for spec in (
        ConditionSpec("noise_snr", "additive white noise at this signal-to-noise ratio", "dB", -20, 60),
        ConditionSpec("occlusion", "a grey box hides this fraction of the frame", "fraction", 0, 0.9),
        ConditionSpec(
            "av_offset_ms", "audio shifted later (+) or earlier (-) than the video", "ms", -5000, 5000
        ),
        ConditionSpec(
            "dropped_frames", "this fraction of frames repeats the previous frame", "fraction", 0, 0.9
        ),
        ConditionSpec("blur", "box blur of this radius", "px", 0, 16),
        ConditionSpec(
            "visual_noise", "Gaussian pixel noise of this standard deviation", "grey levels", 0, 128
        ),
        ConditionSpec("reverb", "reverberation with this decay time (RT60)", "s", 0, 3),
        ConditionSpec(
            "audio_dropout", "this fraction of 100 ms audio chunks is silenced", "fraction", 0, 0.9
        ),
    )
}
_ORDER = tuple(CONDITIONS)


def check_conditions(conditions: Mapping[str, float]) -> dict[str, float]:
    """Check names and ranges and return the conditions as ``{name: float}`` in canonical order.

    Raises:
        ValueError: for an unknown name or a value out of range; the message lists the valid choices.
    """
    for name, value in conditions.items():
        if name not in CONDITIONS:
            raise DataError(f"unknown condition {name!r}; valid conditions are: {', '.join(_ORDER)}")
        spec = CONDITIONS[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not spec.low <= value <= spec.high
        ):
            raise DataError(
                f"condition {name}={value!r} is out of range; {name} ({spec.help}) takes a number of "
                f"{spec.unit} in [{spec.low}, {spec.high}]"
            )
    return {name: float(conditions[name]) for name in sorted(conditions, key=_ORDER.index)}


def parse_conditions(items: Iterable[str]) -> dict[str, float]:
    """Parse ``NAME=VALUE`` strings (as given on the command line) into checked conditions."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if name not in CONDITIONS:
            raise DataError(f"unknown condition {name!r}; valid conditions are: {', '.join(_ORDER)}")
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not sep or not np.isfinite(value):
            spec = CONDITIONS[name]
            raise DataError(
                f"condition {item!r} needs a number: write {name}=VALUE with VALUE in "
                f"[{spec.low}, {spec.high}] {spec.unit}"
            )
        out[name] = value
    return check_conditions(out)


def offset_samples(offset_ms: float, sample_rate: int) -> int:
    """Return an offset in ms as a whole number of samples (nearest, half away from zero)."""
    exact = offset_ms * sample_rate / 1000
    return int(np.sign(exact) * np.floor(abs(exact) + 0.5))


def _shift(waveform: np.ndarray, shift: int) -> np.ndarray:
    out = np.zeros_like(waveform)
    n = waveform.shape[1]
    if shift >= 0:
        out[:, shift:] = waveform[:, : max(n - shift, 0)]
    else:
        out[:, : max(n + shift, 0)] = waveform[:, -shift:]
    return out


def _reverb(waveform: np.ndarray, rt60: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    length = max(int(min(rt60, 1.5) * rate), 1)
    t = np.arange(length) / rate
    ir = rng.standard_normal(length) * np.exp(-6.91 * t / max(rt60, 1e-3))
    ir[0] = 1.0
    ir /= np.sqrt(np.sum(ir**2))
    n = waveform.shape[1] + length - 1
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(waveform, size, axis=1) * np.fft.rfft(ir, size)
    return np.fft.irfft(spectrum, size, axis=1)[:, : waveform.shape[1]].astype(np.float32)


def _box_blur(frames: np.ndarray, radius: int) -> np.ndarray:
    out = frames.astype(np.float64)
    for axis in (1, 2):
        pad = [(0, 0)] * 4
        pad[axis] = (radius + 1, radius)
        c = np.cumsum(np.pad(out, pad, mode="edge"), axis=axis)
        hi = np.take(c, np.arange(2 * radius + 1, c.shape[axis]), axis=axis)
        lo = np.take(c, np.arange(0, c.shape[axis] - 2 * radius - 1), axis=axis)
        out = (hi - lo) / (2 * radius + 1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _apply_audio(
    waveform: np.ndarray, cond: dict[str, float], rate: int, rng: np.random.Generator, info: dict[str, Any]
) -> np.ndarray:
    if "av_offset_ms" in cond:
        shift = offset_samples(cond["av_offset_ms"], rate)
        waveform = _shift(waveform, shift)
        info["offset_samples"] = shift
    if cond.get("reverb", 0) > 0:
        waveform = _reverb(waveform, cond["reverb"], rate, rng)
    if "noise_snr" in cond:
        power = float(np.mean(waveform.astype(np.float64) ** 2)) + 1e-12
        sigma = np.sqrt(power / 10 ** (cond["noise_snr"] / 10))
        waveform = waveform + (rng.standard_normal(waveform.shape) * sigma).astype(np.float32)
    if cond.get("audio_dropout", 0) > 0:
        chunk = rate // 10
        chunks = -(-waveform.shape[1] // chunk)
        dropped = np.flatnonzero(rng.random(chunks) < cond["audio_dropout"])
        waveform = waveform.copy()
        for k in dropped:
            waveform[:, k * chunk : (k + 1) * chunk] = 0
        info["dropped_chunks"] = [
            [int(k * chunk), int(min((k + 1) * chunk, waveform.shape[1]))] for k in dropped
        ]
    return np.clip(waveform, -1, 1).astype(np.float32)


def _apply_video(
    frames: np.ndarray, cond: dict[str, float], rng: np.random.Generator, info: dict[str, Any]
) -> np.ndarray:
    if cond.get("occlusion", 0) > 0:
        _, h, w, _ = frames.shape
        side_y, side_x = (
            round(h * np.sqrt(cond["occlusion"])),
            round(w * np.sqrt(cond["occlusion"])),
        )
        y0, x0 = int(rng.integers(0, h - side_y + 1)), int(rng.integers(0, w - side_x + 1))
        frames = frames.copy()
        frames[:, y0 : y0 + side_y, x0 : x0 + side_x] = 128
        info["occluder"] = [x0, y0, side_x, side_y]
    if cond.get("blur", 0) > 0:
        frames = _box_blur(frames, round(cond["blur"]))
    if cond.get("visual_noise", 0) > 0:
        noise = rng.standard_normal(frames.shape, dtype=np.float32) * np.float32(cond["visual_noise"])
        frames = np.clip(frames + noise, 0, 255).astype(np.uint8)
    if cond.get("dropped_frames", 0) > 0:
        drop = np.flatnonzero(rng.random(frames.shape[0]) < cond["dropped_frames"])
        drop = drop[drop > 0]
        source = np.arange(frames.shape[0])
        source[drop] = 0
        source = np.maximum.accumulate(np.where(np.isin(np.arange(len(source)), drop), 0, source))
        frames = frames[source]
        info["dropped_frames"] = drop.tolist()
    return frames


def apply_conditions(
    frames: np.ndarray,
    waveform: np.ndarray,
    conditions: Mapping[str, float],
    sample_rate: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Apply checked conditions to frames ``uint8 [T, H, W, 3]`` and a waveform ``float32 [C, N]``.

    Returns:
        ``(frames, waveform, info)``; ``info`` records what was done (offset in samples, occluder box
        ``[x, y, w, h]``, dropped frames, silenced sample ranges), JSON-able.
    """
    cond = check_conditions(conditions)
    info: dict[str, Any] = {}
    waveform = _apply_audio(waveform, cond, sample_rate, rng, info)
    frames = _apply_video(frames, cond, rng, info)
    return frames, waveform, info
