"""First-principles audio for AVSynth: each class's sound is synthesized from its acoustic attributes.

Sound kinds: harmonic stacks with class-specific spectral tilt (``hum``), inharmonic partials
(``ring``), amplitude-modulated rich stacks (``buzz``), frequency modulation (``warble``), repeated
upward sweeps (``chirp``), resonant click trains (``tick``), band-limited noise (``hiss``) and
formant-shaped vowels (``ah``, ``ee``). Each object varies its class's pitch and timbre. The mix is
stereo: level and delay between the channels follow the source's horizontal position.

Example:
    >>> from avikit.data.synth.scene import sample_scene
    >>> wave = render_audio(sample_scene("test", 0))
    >>> wave.shape, wave.dtype
    ((2, 160000), dtype('float32'))
"""

from __future__ import annotations

import numpy as np

from avikit.data.synth.classes import get_class
from avikit.data.synth.scene import Scene, SceneObject, derive_rng, syllables, track

__all__ = ["class_band", "class_sound", "dominant_band", "render_audio", "render_source", "stereo_gains"]

_TABLE_SIZE = 2048
_FORMANTS = {"ah": (750.0, 1200.0, 2600.0), "ee": (300.0, 2300.0, 3000.0)}
_RING_RATIOS = np.array([1.0, 2.76, 5.40])
_MAX_ITD_S = 0.0006
_RAMP_S = 0.005


def _partials(sound: str, f0: float, timbre: float, nyquist: float) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(frequencies, amplitudes)`` of a sound's partials (harmonic kinds only)."""
    if sound == "ring":
        return f0 * _RING_RATIOS, np.array([1.0, 0.6, 0.35]) * (1 - 0.3 * timbre)
    count = {"hum": 6, "buzz": 14, "warble": 3, "chirp": 2, "tick": 1, "ah": 40, "ee": 40}[sound]
    k = np.arange(1, count + 1, dtype=np.float64)
    freqs = k * f0
    if sound in _FORMANTS:
        amps = sum(1.0 / (1.0 + ((freqs - f) / 110.0) ** 2) / (i + 1) for i, f in enumerate(_FORMANTS[sound]))
    else:
        amps = 1.0 / k ** (
            {"hum": 1.3, "buzz": 0.6, "warble": 1.8, "chirp": 1.5, "tick": 1.0}[sound] + timbre
        )
    keep = freqs < 0.9 * nyquist
    return freqs[keep], np.asarray(amps)[keep]


def _object_f0(obj: SceneObject) -> float:
    c = get_class(obj.cls)
    factor = {"tick": 3.0, "hiss": 4.0}.get(c.sound, 1.0)
    return c.f0 * factor * obj.pitch


def dominant_band(obj: SceneObject, sample_rate: int) -> tuple[float, float]:
    """Return the frequency band in Hz ``(low, high)`` that holds the strongest part of an object's sound.

    Example:
        >>> from avikit.data.synth.scene import sample_scene
        >>> lo, hi = dominant_band(sample_scene("test", 0).objects[0], 16000)
        >>> 0 < lo < hi < 8000
        True
    """
    c = get_class(obj.cls)
    f0 = _object_f0(obj)
    if c.sound == "hiss":
        return 0.75 * f0, 1.25 * f0
    freqs, amps = _partials(c.sound, f0, obj.timbre, sample_rate / 2)
    f = float(freqs[int(np.argmax(amps))])
    width = {"chirp": (0.95, 2.1), "warble": (0.88, 1.12)}.get(c.sound, (0.92, 1.08))
    return f * width[0], f * width[1]


def _wavetable(amps: np.ndarray) -> np.ndarray:
    spectrum = np.zeros(_TABLE_SIZE // 2 + 1, dtype=np.complex128)
    spectrum[1 : len(amps) + 1] = -1j * amps
    table = np.fft.irfft(spectrum, n=_TABLE_SIZE)
    return (table / (np.sqrt(np.mean(table**2)) + 1e-12)).astype(np.float32)


def _from_phase(table: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    index = (cycles * _TABLE_SIZE).astype(np.int64) & (_TABLE_SIZE - 1)
    return table[index]


def _synth(obj: SceneObject, t: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Synthesize an object's dry sound at times ``t`` (seconds), unit RMS, ``float32``."""
    sound = get_class(obj.cls).sound
    f0 = _object_f0(obj)
    if sound == "hiss":
        width = 0.25 * f0
        n_low = int(len(t) * 2 * width / rate) + 4
        envelope = np.interp(np.linspace(0, n_low - 1, len(t)), np.arange(n_low), rng.standard_normal(n_low))
        sig = envelope * np.cos(2 * np.pi * f0 * t) * np.sqrt(2)
        return sig.astype(np.float32)
    freqs, amps = _partials(sound, f0, obj.timbre, rate / 2)
    if sound == "ring":
        sig = sum(a * np.sin(2 * np.pi * f * t) for f, a in zip(freqs, amps, strict=True))
        return (sig / np.sqrt(np.sum(amps**2) / 2)).astype(np.float32)
    table = _wavetable(amps)
    if sound == "warble":
        fm = 5.0 + 3.0 * obj.timbre
        return _from_phase(table, f0 * t - f0 * 0.06 / (2 * np.pi * fm) * np.cos(2 * np.pi * fm * t))
    if sound == "chirp":
        period = 0.15
        tau = np.mod(t, period)
        return _from_phase(table, f0 * (tau + tau**2 / (2 * period)))
    if sound == "tick":
        rate_hz = 6.0 + 10.0 * obj.timbre
        tau = np.mod(t, 1.0 / rate_hz)
        return _from_phase(table, f0 * t) * np.exp(-tau / 0.01).astype(np.float32) * 3.0
    sig = _from_phase(table, f0 * t + 0.002 * f0 * np.sin(2 * np.pi * 5.0 * t))
    if sound == "buzz":
        sig = sig * (1.0 + 0.6 * np.sin(2 * np.pi * (20 + 20 * obj.timbre) * t)).astype(np.float32)
    return sig


def _gate(spans: np.ndarray, lo: int, hi: int, rate: int) -> np.ndarray:
    """Return the on/off envelope of samples ``[lo, hi)`` with short linear ramps at every burst edge."""
    gate = np.zeros(hi - lo, dtype=np.float32)
    ramp_len = max(1, int(_RAMP_S * rate))
    ramp = np.linspace(0, 1, ramp_len, endpoint=False, dtype=np.float32)
    for a, b in spans:
        if b <= lo or a >= hi:
            continue
        a, b = a - lo, b - lo
        gate[a:b] = 1.0
        r = min(ramp_len, (b - a) // 2)
        gate[a : a + r] = ramp[:r]
        gate[b - r : b] = ramp[:r][::-1]
    return gate


def render_source(obj: SceneObject, scene: Scene) -> np.ndarray:
    """Return an object's dry mono sound over the whole clip, ``float32 [N]``, with its loudness applied."""
    rate = scene.config.sample_rate
    out = np.zeros(scene.num_samples, dtype=np.float32)
    spans = syllables(obj, scene)
    gain = np.float32(10 ** (obj.gain_db / 20))
    rng = derive_rng(obj.seed, "noise")
    for first, stop in obj.events:
        lo, hi = scene.frame_to_sample(first), scene.frame_to_sample(stop)
        t = np.arange(lo, hi, dtype=np.float64) / rate
        out[lo:hi] = _synth(obj, t, rate, rng) * _gate(spans, lo, hi, rate) * gain
    return out


def stereo_gains(obj: SceneObject, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Return the per-frame left and right gains of an object (equal-power panning on its x position)."""
    x, _ = track(obj, scene)
    pan = np.clip(2 * x / scene.config.size - 1, -1, 1)
    angle = (pan + 1) * np.pi / 4
    return np.cos(angle), np.sin(angle)


def _place(obj: SceneObject, scene: Scene, mono: np.ndarray, out: np.ndarray) -> None:
    left, right = stereo_gains(obj, scene)
    counts = np.diff(scene.frame_edges())
    gl = np.repeat(left.astype(np.float32), counts)
    gr = np.repeat(right.astype(np.float32), counts)
    x, _ = track(obj, scene)
    active = [k for a, b in obj.events for k in range(a, b)]
    pan = float(np.clip(2 * np.mean(x[active]) / scene.config.size - 1, -1, 1)) if active else 0.0
    delay = round(abs(pan) * _MAX_ITD_S * scene.config.sample_rate)
    far = 0 if pan > 0 else 1
    shifted = np.concatenate([np.zeros(delay, np.float32), mono[: len(mono) - delay]]) if delay else mono
    out[0] += gl * (shifted if far == 0 else mono)
    out[1] += gr * (shifted if far == 1 else mono)


def render_audio(scene: Scene) -> np.ndarray:
    """Render the scene's stereo mix, ``float32 [2, N]`` in ``[-1, 1]``: all sources plus background noise."""
    n = scene.num_samples
    rng = derive_rng(scene.noise_seed, "background")
    level = np.float32(10 ** (scene.config.noise_db / 20))
    out = rng.standard_normal((2, n), dtype=np.float32) * level
    for obj in scene.objects:
        if obj.sounding:
            _place(obj, scene, render_source(obj, scene), out)
    peak = float(np.max(np.abs(out)))
    if peak > 0.99:
        out *= np.float32(0.99 / peak)
    return out


def class_sound(
    cls: str,
    num_samples: int,
    sample_rate: int = 16000,
    seed: int = 0,
    pitch: float = 1.0,
    timbre: float = 0.5,
) -> np.ndarray:
    """Return a class's continuous dry sound (no bursts, no gain), scaled to unit RMS, ``float32 [N]``.

    The same synthesis as a scene object's events (:func:`render_source`), for worlds that place AVSynth
    sounds themselves (e.g. :mod:`avikit.envs`).

    Args:
        cls: an AVSynth class name.
        num_samples: length in samples.
        sample_rate: sample rate in Hz.
        seed: seed of the noise of noisy kinds (``hiss``).
        pitch: pitch factor around the class pitch.
        timbre: timbre parameter in ``[0, 1]``.

    Example:
        >>> sound = class_sound("bell", 1600)
        >>> sound.shape, sound.dtype, round(float((sound**2).mean()), 1)
        ((1600,), dtype('float32'), 1.0)
    """
    name = get_class(cls).name
    obj = SceneObject(0, name, True, 0.0, 0.0, 0.0, 0.0, 1.0, (0, 0), (), pitch, timbre, 0.0, seed)
    t = np.arange(num_samples, dtype=np.float64) / sample_rate
    sound = np.asarray(_synth(obj, t, sample_rate, derive_rng(seed, "class_sound", name)), dtype=np.float64)
    return (sound / (np.sqrt(np.mean(sound**2)) + 1e-12)).astype(np.float32)


def class_band(cls: str, sample_rate: int = 16000) -> tuple[float, float]:
    """A band in Hz holding the strongest partial of every object of a class, whatever its pitch and timbre.

    The union of :func:`dominant_band` over the extreme pitch factors (0.85, 1.18) and timbres (0, 1) of
    the class, widened by 5% on each side.

    Example:
        >>> lo, hi = class_band("bell")
        >>> 500 < lo < 720 < hi < 1000
        True
    """
    name = get_class(cls).name
    bands = [
        dominant_band(
            SceneObject(0, name, True, 0.0, 0.0, 0.0, 0.0, 1.0, (0, 0), (), p, t, 0.0, 0), sample_rate
        )
        for p in (0.85, 1.18)
        for t in (0.0, 1.0)
    ]
    return min(b[0] for b in bands) * 0.95, max(b[1] for b in bands) * 1.05
