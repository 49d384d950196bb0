"""Media tools: probe, cut, mix, resample, shift audio, mute, band-stop, levels, save, class facts.

Every tool reads clips from the workspace (or a file) and writes new clips to it; none mutates a clip.
Times in arguments and results are seconds from the clip's start; positions inside are exact sample and
frame indices (``round(seconds * rate)``).

Example:
    >>> import numpy as np
    >>> from avikit.eval.agent.toolbox import ToolBox
    >>> from avikit.media import AVClip
    >>> box = ToolBox(media_tools())
    >>> tone = np.sin(np.arange(16000) / 16000 * 2 * np.pi * 440).astype(np.float32)[None]
    >>> box.workspace.put(AVClip(waveform=tone, sample_rate=16000), "input")
    'input'
    >>> box.call("shift_audio", {"clip": "input", "offset_ms": 250})["result"]
    {'clip': 'clip_1', 'offset_samples': 4000}
    >>> round(box.call("audio_level", {"clip": "clip_1", "start": 0, "end": 0.25})["result"]["level_db"])
    -120
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import butter, resample_poly, sosfiltfilt

from avikit.data.synth.audio import class_band
from avikit.data.synth.classes import CLASS_NAMES, get_class
from avikit.eval.agent.toolbox import CLIP, SECONDS, Tool, ToolError, Workspace
from avikit.media import AVClip, save

__all__ = ["media_tools"]


def _obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _audio(clip: AVClip, ref: str) -> np.ndarray:
    if clip.waveform is None:
        raise ToolError(f"clip {ref!r} has no audio; make some first (generate_audio) or pick another clip")
    return clip.waveform


def _span(clip: AVClip, start: float, end: float | None) -> tuple[int, int]:
    rate = clip.sample_rate or 1
    stop = clip.num_samples if end is None else min(round(end * rate), clip.num_samples)
    first = round(start * rate)
    if first >= stop:
        raise ToolError(f"empty span [{start}, {end}) s: start must be before end and inside the clip")
    return first, stop


def _probe(ws: Workspace, clip: str) -> dict[str, Any]:
    c = ws.get(clip)
    return {
        "duration": float(c.duration),
        "has_video": c.frames is not None,
        "has_audio": c.waveform is not None,
        "fps": None if c.fps is None else float(c.fps),
        "num_frames": c.num_frames if c.frames is not None else 0,
        "size": None if c.frames is None else [c.height, c.width],
        "sample_rate": c.sample_rate,
        "channels": c.num_channels if c.waveform is not None else 0,
    }


def _cut(ws: Workspace, clip: str, start: float, duration: float) -> dict[str, Any]:
    c = ws.get(clip)
    part = c.trim(start, duration)
    return {"clip": ws.put(part), "start": start, "duration": float(part.duration)}


def _mix(ws: Workspace, clip: str, other: str, gain_db: float = 0.0) -> dict[str, Any]:
    a, b = ws.get(clip), ws.get(other)
    wa, wb = _audio(a, clip), _audio(b, other)
    if a.sample_rate != b.sample_rate:
        raise ToolError(
            f"{clip!r} is at {a.sample_rate} Hz, {other!r} at {b.sample_rate} Hz: resample one first"
        )
    out = wa.copy()
    n = min(wa.shape[1], wb.shape[1])
    out[:, :n] += wb[: out.shape[0], :n] * np.float32(10 ** (gain_db / 20))
    return {"clip": ws.put(a.with_waveform(np.clip(out, -1, 1))), "mixed_seconds": n / (a.sample_rate or 1)}


def _resample(ws: Workspace, clip: str, sample_rate: int) -> dict[str, Any]:
    c = ws.get(clip)
    wave = _audio(c, clip)
    old = c.sample_rate or sample_rate
    g = np.gcd(old, sample_rate)
    out = resample_poly(wave, sample_rate // g, old // g, axis=1).astype(np.float32)
    return {"clip": ws.put(c.with_waveform(out, sample_rate=sample_rate)), "sample_rate": sample_rate}


def _shift_audio(ws: Workspace, clip: str, offset_ms: float) -> dict[str, Any]:
    c = ws.get(clip)
    wave = _audio(c, clip)
    k = round(offset_ms * (c.sample_rate or 0) / 1000)
    out = np.zeros_like(wave)
    if k >= 0:
        out[:, k:] = wave[:, : wave.shape[1] - k] if k < wave.shape[1] else 0
    else:
        out[:, : wave.shape[1] + k] = wave[:, -k:]
    return {"clip": ws.put(c.with_waveform(out)), "offset_samples": k}


def _mute(ws: Workspace, clip: str, start: float, end: float) -> dict[str, Any]:
    c = ws.get(clip)
    out = _audio(c, clip).copy()
    a, b = _span(c, start, end)
    out[:, a:b] = 0.0
    return {
        "clip": ws.put(c.with_waveform(out)),
        "muted": [a / (c.sample_rate or 1), b / (c.sample_rate or 1)],
    }


def _band_stop(
    ws: Workspace, clip: str, low_hz: float, high_hz: float, start: float = 0.0, end: float | None = None
) -> dict[str, Any]:
    c = ws.get(clip)
    wave = _audio(c, clip)
    nyquist = (c.sample_rate or 2) / 2
    if not 0 < low_hz < high_hz < nyquist:
        raise ToolError(f"need 0 < low_hz < high_hz < {nyquist:g} Hz (Nyquist), got {low_hz}, {high_hz}")
    a, b = _span(c, start, end)
    sos = butter(4, [low_hz, high_hz], btype="bandstop", fs=2 * nyquist, output="sos")
    out = wave.copy()
    out[:, a:b] = sosfiltfilt(sos, wave[:, a:b], axis=1) if b - a > 60 else wave[:, a:b]
    return {"clip": ws.put(c.with_waveform(out.astype(np.float32))), "band": [low_hz, high_hz]}


def _audio_level(ws: Workspace, clip: str, start: float = 0.0, end: float | None = None) -> dict[str, Any]:
    c = ws.get(clip)
    a, b = _span(c, start, end)
    part = _audio(c, clip)[:, a:b].astype(np.float64)
    rms = np.sqrt(np.mean(part**2, axis=1))
    db = 20 * np.log10(np.maximum(rms, 1e-6))
    return {
        "level_db": float(20 * np.log10(max(float(np.sqrt(np.mean(part**2))), 1e-6))),
        "channels_db": [round(float(v), 3) for v in db],
        "start": a / (c.sample_rate or 1),
        "end": b / (c.sample_rate or 1),
    }


def _band_levels(
    ws: Workspace, clip: str, low_hz: float, high_hz: float, hop_s: float = 0.125
) -> dict[str, Any]:
    c = ws.get(clip)
    wave = _audio(c, clip).mean(axis=0).astype(np.float64)
    rate = c.sample_rate or 16000
    hop = max(16, round(hop_s * rate))
    count = len(wave) // hop
    frames = wave[: count * hop].reshape(count, hop) * np.hanning(hop)
    freqs = np.fft.rfftfreq(hop, 1 / rate)
    band = (freqs >= low_hz) & (freqs <= high_hz)
    if not band.any():
        raise ToolError(f"no frequency bin in [{low_hz}, {high_hz}] Hz at hop {hop_s} s: widen the band")
    power = (np.abs(np.fft.rfft(frames, axis=1))[:, band] ** 2).sum(1) / hop**2
    levels = 10 * np.log10(power + 1e-12)
    return {
        "hop_s": hop / rate,
        "times": [round(k * hop / rate, 4) for k in range(count)],
        "level_db": [round(float(v), 2) for v in levels],
    }


def _save(ws: Workspace, clip: str, path: str) -> dict[str, Any]:
    out = save(ws.get(clip), Path(path))
    return {"path": str(out)}


def _class_info(ws: Workspace, label: str) -> dict[str, Any]:
    c = get_class(label)
    low, high = class_band(label)
    return {
        "label": c.name,
        "caption": c.caption,
        "attributes": c.attributes,
        "band_hz": [round(low, 1), round(high, 1)],
    }


def media_tools() -> list[Tool]:
    """The media tools, in a fixed order."""
    clip_only = _obj({"clip": CLIP}, ["clip"])
    span = {"start": SECONDS, "end": SECONDS}
    read = {"readOnlyHint": True}
    return [
        Tool("probe", "Duration, rates, size and streams of a clip.", clip_only, _probe, read),
        Tool(
            "cut",
            "Cut [start, start + duration) seconds out of a clip into a new clip.",
            _obj(
                {"clip": CLIP, "start": SECONDS, "duration": {"type": "number", "exclusiveMinimum": 0}},
                ["clip", "start", "duration"],
            ),
            _cut,
        ),
        Tool(
            "mix",
            "Add another clip's audio (gain in dB) to a clip's audio; the video is the first clip's.",
            _obj({"clip": CLIP, "other": CLIP, "gain_db": {"type": "number"}}, ["clip", "other"]),
            _mix,
        ),
        Tool(
            "resample",
            "Resample a clip's audio to another sample rate.",
            _obj(
                {"clip": CLIP, "sample_rate": {"type": "integer", "minimum": 4000, "maximum": 192000}},
                ["clip", "sample_rate"],
            ),
            _resample,
        ),
        Tool(
            "shift_audio",
            "Shift a clip's audio later (+) or earlier (-) by offset_ms against its video.",
            _obj(
                {"clip": CLIP, "offset_ms": {"type": "number", "minimum": -10000, "maximum": 10000}},
                ["clip", "offset_ms"],
            ),
            _shift_audio,
        ),
        Tool(
            "mute",
            "Silence a clip's audio over [start, end) seconds.",
            _obj({"clip": CLIP, **span}, ["clip", "start", "end"]),
            _mute,
        ),
        Tool(
            "band_stop",
            "Remove a frequency band [low_hz, high_hz] from a clip's audio over [start, end) s.",
            _obj(
                {
                    "clip": CLIP,
                    "low_hz": {"type": "number", "exclusiveMinimum": 0},
                    "high_hz": {"type": "number", "exclusiveMinimum": 0},
                    **span,
                },
                ["clip", "low_hz", "high_hz"],
            ),
            _band_stop,
        ),
        Tool(
            "band_levels",
            "Level in dB of a clip's audio inside a frequency band, every hop_s seconds (start times given).",
            _obj(
                {
                    "clip": CLIP,
                    "low_hz": {"type": "number", "exclusiveMinimum": 0},
                    "high_hz": {"type": "number", "exclusiveMinimum": 0},
                    "hop_s": {"type": "number", "minimum": 0.01, "maximum": 2},
                },
                ["clip", "low_hz", "high_hz"],
            ),
            _band_levels,
            read,
        ),
        Tool(
            "audio_level",
            "RMS level in dB of a clip's audio over [start, end) seconds (whole clip by default).",
            _obj({"clip": CLIP, **span}, ["clip"]),
            _audio_level,
            read,
        ),
        Tool(
            "save",
            "Write a clip to a media file (.mp4 with H.264/AAC, or .wav for audio only).",
            _obj({"clip": CLIP, "path": {"type": "string"}}, ["clip", "path"]),
            _save,
        ),
        Tool(
            "class_info",
            "Facts about an AVSynth sound class: caption, attributes, frequency band.",
            _obj({"label": {"type": "string", "enum": list(CLASS_NAMES)}}, ["label"]),
            _class_info,
            read,
        ),
    ]
