"""The world of the embodied tasks: a procedural grid room with AVSynth objects, sampled by random access.

A room is a ``G x G`` grid of cells (``True`` = wall) with a wall all around and a few wall blocks inside;
only the largest connected free region is kept, so every free cell reaches every other. Objects stand on
free cells (they do not block); the agent starts on another free cell with one of four headings
(0 east, 1 north, 2 west, 3 south). Every random choice comes from a generator seeded by
``(seed, task, split, index)`` (the AVSynth convention), so episode ``i`` is the same whatever else is made.

Geodesic distances (4-connected moves between free cells) come from a breadth-first search, exact on the
grid; :func:`line_of_sight` says whether the straight segment between two cell centres crosses a wall.

Example:
    >>> ep = sample_episode("audiogoal", "test", 0)
    >>> ep == sample_episode("audiogoal", "test", 0)
    True
    >>> grid = ep.walls
    >>> bool(grid[0].all() and grid[:, 0].all()), ep.objects[0].sounding
    (True, True)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from avikit.data.synth.classes import CLASSES, SEEN_CLASSES
from avikit.data.synth.scene import derive_rng

__all__ = [
    "HEADINGS",
    "NAV_SPLITS",
    "Episode",
    "NavObject",
    "RoomConfig",
    "geodesic_distances",
    "line_of_sight",
    "sample_episode",
]

NAV_SPLITS = ("train", "val", "test")
HEADINGS = np.array([[1, 0], [0, -1], [-1, 0], [0, 1]], dtype=np.int64)
"""Unit steps ``(dx, dy)`` of the four headings (0 east, 1 north, 2 west, 3 south); ``y`` grows southwards."""


@dataclass(frozen=True)
class RoomConfig:
    """The knobs of the room world.

    Attributes:
        size: grid side in cells, outer walls included.
        cell_m: cell side in metres (distances are reported in metres).
        wall_density: probability that an inner cell is a wall block.
        num_objects: objects in the room (the goal and silent distractors).
    """

    size: int = 11
    cell_m: float = 0.5
    wall_density: float = 0.12
    num_objects: int = 3

    def __post_init__(self) -> None:
        if not (5 <= self.size <= 64 and 0 <= self.wall_density < 0.4 and 1 <= self.num_objects <= 6):
            raise ValueError(
                f"invalid RoomConfig {self}: need 5 <= size <= 64, 0 <= wall_density < 0.4, "
                "1 <= num_objects <= 6"
            )


@dataclass(frozen=True)
class NavObject:
    """One object of the room: its cell, AVSynth class and whether it sounds."""

    x: int
    y: int
    cls: str
    sounding: bool


@dataclass(frozen=True, eq=False)
class Episode:
    """One episode: the room, the objects (the goal first), the agent's start pose and the source's walk.

    Attributes:
        task: the embodied task name.
        split, index, seed: identity (random access).
        walls: ``bool [G, G]``, ``True`` on walls, indexed ``[y, x]``.
        objects: the goal (index 0) and the distractors.
        start: ``(x, y, heading)`` of the agent.
        walk: for a moving source, its cell at every step ``int64 [S + 1, 2]`` (``(x, y)``); else one row.
    """

    task: str
    split: str
    index: int
    seed: int
    walls: np.ndarray
    objects: tuple[NavObject, ...]
    start: tuple[int, int, int]
    walk: np.ndarray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Episode):
            return NotImplemented
        return (
            (self.task, self.split, self.index, self.seed, self.objects, self.start)
            == (other.task, other.split, other.index, other.seed, other.objects, other.start)
            and np.array_equal(self.walls, other.walls)
            and np.array_equal(self.walk, other.walk)
        )

    __hash__ = None  # type: ignore[assignment]


def geodesic_distances(walls: np.ndarray, x: int, y: int) -> np.ndarray:
    """Moves from cell ``(x, y)`` to every cell (4-connected, through free cells); ``-1`` where unreachable.

    Example:
        >>> walls = np.ones((3, 5), bool); walls[1, 1:4] = False
        >>> geodesic_distances(walls, 1, 1)[1].tolist()
        [-1, 0, 1, 2, -1]
    """
    dist = np.full(walls.shape, -1, dtype=np.int64)
    if walls[y, x]:
        return dist
    dist[y, x] = 0
    queue = deque([(x, y)])
    height, width = walls.shape
    while queue:
        cx, cy = queue.popleft()
        for dx, dy in HEADINGS.tolist():
            nx, ny = cx + dx, cy + dy
            if 0 <= nx < width and 0 <= ny < height and not walls[ny, nx] and dist[ny, nx] < 0:
                dist[ny, nx] = dist[cy, cx] + 1
                queue.append((nx, ny))
    return dist


def line_of_sight(walls: np.ndarray, a: np.ndarray, b: np.ndarray, samples: int = 24) -> np.ndarray:
    """Whether the segments between cell centres ``a [B, 2]`` and ``b [B, 2]`` cross no wall, ``bool [B]``.

    ``walls`` is one grid ``[G, G]`` or one per segment ``[B, G, G]``; the segment is sampled at ``samples``
    points (enough for rooms up to 2 x ``samples`` cells across).
    """
    a = np.asarray(a, np.float64) + 0.5
    b = np.asarray(b, np.float64) + 0.5
    t = np.linspace(0.0, 1.0, samples)[None, :, None]
    points = np.floor(a[:, None] + (b - a)[:, None] * t).astype(np.int64)  # [B, P, 2]
    grids = walls if walls.ndim == 3 else np.broadcast_to(walls, (len(a), *walls.shape))
    rows = np.arange(len(a))[:, None]
    return np.asarray(~grids[rows, points[..., 1], points[..., 0]].any(axis=1))


def _room(rng: np.random.Generator, cfg: RoomConfig) -> np.ndarray:
    walls = np.zeros((cfg.size, cfg.size), dtype=bool)
    walls[[0, -1], :] = walls[:, [0, -1]] = True
    inner = rng.random((cfg.size - 2, cfg.size - 2)) < cfg.wall_density
    walls[1:-1, 1:-1] = inner
    best = np.zeros_like(walls)
    seen = walls.copy()
    while not seen.all():
        y, x = (int(v) for v in np.argwhere(~seen)[0])
        reach = geodesic_distances(walls, x, y) >= 0
        seen |= reach
        if reach.sum() > best.sum():
            best = reach
    return np.logical_not(best)


def _walk(rng: np.random.Generator, walls: np.ndarray, x: int, y: int, steps: int, every: int) -> np.ndarray:
    """A source's random walk: one move to a free neighbour every ``every`` steps (it may stay put)."""
    out = np.empty((steps + 1, 2), dtype=np.int64)
    out[0] = (x, y)
    for k in range(1, steps + 1):
        if k % every == 0:
            options = [(x + dx, y + dy) for dx, dy in HEADINGS.tolist() if not walls[y + dy, x + dx]]
            x, y = options[int(rng.integers(len(options)))]
        out[k] = (x, y)
    return out


def _classes(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` seen classes of pairwise different colours (so that vision can tell them apart)."""
    names = list(rng.permutation(np.asarray(SEEN_CLASSES)))
    picked: list[str] = []
    for name in names:
        if all(CLASSES[name].colour != CLASSES[p].colour for p in picked):
            picked.append(str(name))
        if len(picked) == count:
            break
    return picked


def sample_episode(
    task: str,
    split: str,
    index: int,
    seed: int = 0,
    config: RoomConfig | None = None,
    max_steps: int = 100,
    move_every: int = 0,
) -> Episode:
    """Sample episode ``index`` of ``split`` for ``task`` by random access.

    Args:
        task: the embodied task name (part of the seed).
        split: ``train``, ``val`` or ``test``.
        index: episode index (0 or more).
        seed: the world seed.
        config: the room's knobs.
        max_steps: the step cap (length of the source's walk).
        move_every: a moving source steps every ``move_every`` agent steps (0: it stands still).

    Raises:
        ValueError: for an unknown split or a negative index.
    """
    cfg = config or RoomConfig()
    if split not in NAV_SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits are {', '.join(NAV_SPLITS)}")
    if not isinstance(index, int) or index < 0:
        raise ValueError(f"index must be an integer >= 0, got {index!r}")
    rng = derive_rng(seed, "nav", task, split, index)
    walls = _room(rng, cfg)
    free = np.argwhere(~walls)
    cells = free[rng.choice(len(free), size=cfg.num_objects + 1, replace=False)]
    classes = _classes(rng, cfg.num_objects)
    objects = tuple(
        NavObject(int(c[1]), int(c[0]), name, k == 0)
        for k, (c, name) in enumerate(zip(cells[:-1], classes, strict=True))
    )
    start = (int(cells[-1][1]), int(cells[-1][0]), int(rng.integers(4)))
    goal = objects[0]
    walk = (
        _walk(rng, walls, goal.x, goal.y, max_steps, move_every)
        if move_every
        else np.array([[goal.x, goal.y]], dtype=np.int64)
    )
    return Episode(task, split, index, seed, walls, objects, start, walk)
