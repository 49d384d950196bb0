"""Binaural sound at the agent's ears: level and delay from its pose, occlusion by walls, batched.

A sound reaches the agent along the room's shortest path (a first-order stand-in for diffraction around
walls, the idea behind SoundSpaces' propagated impulse responses at the scale of a grid):

- level: ``-20 log10(1 + d)`` dB for a geodesic distance of ``d`` cells, and ``OCCLUSION_DB`` less when the
  straight line to the source crosses a wall;
- direction of arrival: straight at the source when it is in line of sight, else along the way out of the
  agent's cell that leads closer to it (the mean of the neighbouring cells that are nearer);
- ears: equal-power panning on the sine of the azimuth (interaural level difference), the far ear delayed by
  up to ``MAX_ITD_S`` (interaural time difference), and a head shadow that makes sounds from behind up to
  3 dB quieter than from the front (front and back differ, as with real ears).

Example:
    >>> left, right, delay = ear_gains(np.array([np.pi / 2]), np.array([1.0]), 16000)
    >>> bool(right[0] > left[0]), int(delay[0])
    (True, 10)
"""

from __future__ import annotations

import numpy as np

from avikit.envs.world import HEADINGS, line_of_sight

__all__ = ["MAX_ITD_S", "NOISE_DB", "OCCLUSION_DB", "arrival", "binaural", "ear_gains"]

OCCLUSION_DB = 6.0
"""Extra attenuation of a source whose straight line to the agent crosses a wall."""
MAX_ITD_S = 0.0006
"""Largest interaural time difference (a source at 90 degrees)."""
NOISE_DB = -60.0
"""Level of the microphone noise (dB re full scale RMS)."""


def arrival(
    walls: np.ndarray, dist: np.ndarray, pos: np.ndarray, heading: np.ndarray, source: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geodesic distance ``[B]``, level in dB ``[B]`` and azimuth ``[B]`` (radians, + right) of each source.

    Args:
        walls: ``bool [B, G, G]``.
        dist: ``int [B, G, G]`` geodesic distances from each source.
        pos: ``int [B, 2]`` agent cells.
        heading: ``int [B]`` headings.
        source: ``int [B, 2]`` source cells.
    """
    b = np.arange(len(pos))
    here = dist[b, pos[:, 1], pos[:, 0]].astype(np.float64)
    sight = line_of_sight(walls, pos, source)
    level = -20 * np.log10(1 + here) - np.where(sight, 0.0, OCCLUSION_DB)
    way = np.zeros((len(pos), 2))
    for step in HEADINGS:
        n = pos + step
        nearer = dist[b, n[:, 1], n[:, 0]]
        closer = (nearer >= 0) & (nearer < here)
        way += closer[:, None] * step
    direction = np.where(sight[:, None], (source - pos).astype(np.float64), way)
    forward = HEADINGS[heading].astype(np.float64)
    right = np.stack([-forward[:, 1], forward[:, 0]], axis=1)
    azimuth = np.arctan2((direction * right).sum(1), (direction * forward).sum(1))
    return here, level, azimuth


def ear_gains(
    azimuth: np.ndarray, gain: np.ndarray, sample_rate: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left and right gains ``[B]`` and the far ear's delay in samples ``int [B]`` for given azimuths."""
    lateral = np.sin(azimuth)
    angle = (lateral + 1) * np.pi / 4
    shadow = 10 ** (-3 * (1 - np.cos(azimuth)) / 2 / 20)
    left = gain * shadow * np.cos(angle)
    right = gain * shadow * np.sin(angle)
    delay = np.rint(np.abs(lateral) * MAX_ITD_S * sample_rate).astype(np.int64)
    return left, right, delay


def binaural(
    dry: np.ndarray,
    level_db: np.ndarray,
    azimuth: np.ndarray,
    active: np.ndarray,
    noise: np.ndarray,
    sample_rate: int,
) -> np.ndarray:
    """Place dry sounds at the ears: ``float32 [B, 2, N]``.

    Args:
        dry: ``float32 [B, N + D]`` the sources' dry sound, ``D`` samples of history first (for the delay).
        level_db: ``[B]`` levels from :func:`arrival`.
        azimuth: ``[B]`` azimuths from :func:`arrival`.
        active: ``bool [B]`` whether each source sounds at this step.
        noise: ``float32 [B, 2, N]`` unit-variance microphone noise.
        sample_rate: the audio rate in Hz.
    """
    total = dry.shape[1]
    length = noise.shape[-1]
    history = total - length
    gain = np.where(active, 10 ** (level_db / 20), 0.0)
    left, right, delay = ear_gains(azimuth, gain, sample_rate)
    if int(delay.max(initial=0)) > history:
        raise ValueError(f"dry sound has {history} samples of history, the delay needs {int(delay.max())}")
    index = history + np.arange(length)[None, :]
    late = np.take_along_axis(dry, index - delay[:, None], axis=1)
    now = dry[:, history:]
    source_right = azimuth > 0
    left_sig = np.where(source_right[:, None], late, now) * left[:, None]
    right_sig = np.where(source_right[:, None], now, late) * right[:, None]
    out = np.stack([left_sig, right_sig], axis=1) + noise * 10 ** (NOISE_DB / 20)
    return out.astype(np.float32)
