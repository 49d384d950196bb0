"""The room world: random access, connected rooms, exact geodesics (checked with scipy's graph search)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import lil_matrix
from scipy.sparse.csgraph import shortest_path

from avikit.envs.world import RoomConfig, geodesic_distances, line_of_sight, sample_episode


def scipy_geodesics(walls: np.ndarray, x: int, y: int) -> np.ndarray:
    """A second implementation: Dijkstra on the 4-connected graph of free cells."""
    h, w = walls.shape
    graph = lil_matrix((h * w, h * w))
    for cy in range(h):
        for cx in range(w):
            if walls[cy, cx]:
                continue
            for dx, dy in ((1, 0), (0, 1)):
                nx, ny = cx + dx, cy + dy
                if nx < w and ny < h and not walls[ny, nx]:
                    graph[cy * w + cx, ny * w + nx] = graph[ny * w + nx, cy * w + cx] = 1
    dist = shortest_path(graph.tocsr(), indices=y * w + x, unweighted=True).reshape(h, w)
    return np.where(np.isinf(dist), -1, dist).astype(np.int64)


@pytest.mark.parametrize("index", range(4))
def test_geodesics_equal_a_graph_search_and_every_free_cell_is_reachable(index: int) -> None:
    ep = sample_episode("audiogoal", "test", index)
    goal = ep.objects[0]
    dist = geodesic_distances(ep.walls, goal.x, goal.y)
    np.testing.assert_array_equal(dist, np.where(ep.walls, -1, scipy_geodesics(ep.walls, goal.x, goal.y)))
    assert (dist[~ep.walls] >= 0).all()


def test_episodes_are_random_access_and_differ_by_split_task_and_seed() -> None:
    a = sample_episode("semantic", "val", 3, seed=1)
    assert a == sample_episode("semantic", "val", 3, seed=1)
    assert a != sample_episode("semantic", "test", 3, seed=1)
    assert a != sample_episode("audiogoal", "val", 3, seed=1)
    assert a != sample_episode("semantic", "val", 3, seed=2)


def test_objects_sit_on_distinct_free_cells_with_distinct_colours() -> None:
    from avikit.data.synth.classes import CLASSES

    for index in range(10):
        ep = sample_episode("semantic", "train", index)
        cells = {(o.x, o.y) for o in ep.objects} | {ep.start[:2]}
        assert len(cells) == len(ep.objects) + 1
        assert not any(ep.walls[y, x] for x, y in cells)
        assert len({CLASSES[o.cls].colour for o in ep.objects}) == len(ep.objects)
        assert [o.sounding for o in ep.objects] == [True] + [False] * (len(ep.objects) - 1)


def test_a_moving_source_walks_to_free_neighbours_every_k_steps() -> None:
    ep = sample_episode("follow", "test", 0, max_steps=40, move_every=4)
    steps = np.abs(np.diff(ep.walk, axis=0)).sum(1)
    assert set(np.flatnonzero(steps).tolist()) <= set(range(3, 40, 4))
    assert (steps <= 1).all() and not ep.walls[ep.walk[:, 1], ep.walk[:, 0]].any()


def test_line_of_sight_is_blocked_by_a_wall_between() -> None:
    walls = np.zeros((5, 7), bool)
    walls[:, 3] = True
    walls[0, 3] = False
    a, b = np.array([[1, 2], [1, 0]]), np.array([[5, 2], [5, 0]])
    assert line_of_sight(walls, a, b).tolist() == [False, True]


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown split"):
        sample_episode("audiogoal", "dev", 0)
    with pytest.raises(ValueError, match="invalid RoomConfig"):
        RoomConfig(size=3)
