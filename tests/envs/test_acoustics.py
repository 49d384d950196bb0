"""Binaural sound: level law, interaural level and time differences, occlusion, all against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.envs.acoustics import MAX_ITD_S, OCCLUSION_DB, arrival, binaural, ear_gains
from avikit.envs.world import geodesic_distances


def open_room(size: int = 9) -> np.ndarray:
    walls = np.zeros((size, size), bool)
    walls[[0, -1], :] = walls[:, [0, -1]] = True
    return walls


def test_level_falls_as_inverse_distance_and_walls_cost_the_occlusion() -> None:
    walls = open_room()
    source = np.array([[4, 1]])
    dist = geodesic_distances(walls, 4, 1)[None]
    for y in (2, 4, 6):
        d, level, azimuth = arrival(walls[None], dist, np.array([[4, y]]), np.array([1]), source)
        assert d[0] == y - 1 and level[0] == pytest.approx(-20 * np.log10(1 + (y - 1)))
        assert azimuth[0] == pytest.approx(0.0)  # heading north, source straight ahead
    blocked = walls.copy()
    blocked[3, 2:7] = True
    dist = geodesic_distances(blocked, 4, 1)[None]
    d, level, _ = arrival(blocked[None], dist, np.array([[4, 5]]), np.array([1]), source)
    assert level[0] == pytest.approx(-20 * np.log10(1 + d[0]) - OCCLUSION_DB)


def test_a_source_to_the_right_is_louder_and_earlier_in_the_right_ear() -> None:
    rate = 16000
    left, right, delay = ear_gains(np.array([np.pi / 2, -np.pi / 2, 0.0, np.pi]), np.ones(4), rate)
    assert right[0] > 10 * left[0] and left[1] > 10 * right[1]
    assert left[2] == pytest.approx(right[2]) and left[3] == pytest.approx(right[3])
    assert left[3] == pytest.approx(left[2] * 10 ** (-3 / 20))  # from behind: 3 dB quieter than the front
    assert delay.tolist() == [round(MAX_ITD_S * rate), round(MAX_ITD_S * rate), 0, 0]
    dry = np.random.default_rng(0).standard_normal((1, 1016)).astype(np.float32)
    out = binaural(
        dry, np.zeros(1), np.array([np.pi / 2]), np.ones(1, bool), np.zeros((1, 2, 1000), np.float32), rate
    )
    lag = int(np.argmax(np.correlate(out[0, 0], out[0, 1], "full"))) - 999
    assert lag == round(MAX_ITD_S * rate)  # the left (far) ear hears it later


def test_a_silent_step_is_only_noise() -> None:
    out = binaural(
        np.ones((1, 1016), np.float32),
        np.zeros(1),
        np.zeros(1),
        np.zeros(1, bool),
        np.ones((1, 2, 1000), np.float32),
        16000,
    )
    np.testing.assert_allclose(out, 1e-3, rtol=1e-6)  # unit noise at -60 dB
