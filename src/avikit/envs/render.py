"""The egocentric RGB view of the room: a ray-cast first-person image, batched over environments.

Each of the ``W`` image columns casts one ray through a camera plane (``fov`` wide) from the agent's cell
centre; the first wall along it sets the column's wall height (inverse to the perpendicular depth, so there is
no fish-eye). Objects are billboards in their class colour, as wide and tall as their AVSynth size at their
depth, drawn where they are nearer than the wall of the column; an object on the agent's own cell colours the
bottom of the view. Ceiling and floor are flat greys.

Example:
    >>> walls = np.ones((5, 5), bool); walls[1:4, 1:4] = False
    >>> image = render_views(walls[None], np.array([[1, 2]]), np.array([0]), np.zeros((1, 0, 2), np.int64),
    ...                      np.zeros((1, 0, 3), np.uint8), np.zeros((1, 0)))
    >>> image.shape, image.dtype
    ((1, 24, 32, 3), dtype('uint8'))
"""

from __future__ import annotations

import numpy as np

from avikit.envs.world import HEADINGS

__all__ = ["VIEW_HEIGHT", "VIEW_WIDTH", "render_views", "wall_depths"]

VIEW_HEIGHT = 24
VIEW_WIDTH = 32
_TAN_HALF_FOV = 1.0  # a 90 degree field of view
_STEP = 0.05
_MAX_DEPTH = 24.0
_CEILING = np.array([40, 40, 48], dtype=np.uint8)
_FLOOR = np.array([90, 84, 78], dtype=np.uint8)


def _camera(heading: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    forward = HEADINGS[heading].astype(np.float64)  # [B, 2]
    right = np.stack([-forward[:, 1], forward[:, 0]], axis=1)
    return forward, right


def wall_depths(
    walls: np.ndarray, pos: np.ndarray, heading: np.ndarray, width: int = VIEW_WIDTH
) -> tuple[np.ndarray, np.ndarray]:
    """Perpendicular depth (cells) of the first wall in every column ``[B, W]`` and its cell ``[B, W, 2]``."""
    forward, right = _camera(heading)
    u = (2 * (np.arange(width) + 0.5) / width - 1) * _TAN_HALF_FOV  # [W]
    rays = forward[:, None, :] + u[None, :, None] * right[:, None, :]  # [B, W, 2]
    t = np.arange(1, int(_MAX_DEPTH / _STEP) + 1) * _STEP  # [T]
    origin = pos.astype(np.float64) + 0.5
    points = origin[:, None, None, :] + rays[:, :, None, :] * t[None, None, :, None]  # [B, W, T, 2]
    size = walls.shape[-1]
    cells = np.clip(np.floor(points).astype(np.int64), 0, size - 1)
    batch = np.arange(len(pos))[:, None, None]
    hit = walls[batch, cells[..., 1], cells[..., 0]]  # [B, W, T]
    first = np.argmax(hit, axis=2)  # [B, W]; every room is closed, so a ray always hits
    depth = t[first]
    hit_cell = np.take_along_axis(cells, first[:, :, None, None], axis=2)[:, :, 0, :]
    return depth, hit_cell


def render_views(
    walls: np.ndarray,
    pos: np.ndarray,
    heading: np.ndarray,
    objects: np.ndarray,
    colours: np.ndarray,
    sizes: np.ndarray,
    height: int = VIEW_HEIGHT,
    width: int = VIEW_WIDTH,
) -> np.ndarray:
    """Render the views of ``B`` agents, ``uint8 [B, H, W, 3]``.

    Args:
        walls: ``bool [B, G, G]`` wall grids indexed ``[y, x]``.
        pos: ``int [B, 2]`` agent cells ``(x, y)``.
        heading: ``int [B]`` headings (0 east, 1 north, 2 west, 3 south).
        objects: ``int [B, K, 2]`` object cells.
        colours: ``uint8 [B, K, 3]`` object colours.
        sizes: ``float [B, K]`` object half-widths in cells (0: not drawn).
        height: image height in pixels.
        width: image width in pixels.
    """
    count = len(pos)
    depth, hit_cell = wall_depths(walls, pos, heading, width)
    rows = np.arange(height)[None, :, None] + 0.5  # [1, H, 1]
    half = np.minimum(height / (2 * depth), height / 2)[:, None, :]  # [B, 1, W]
    is_wall = np.abs(rows - height / 2) <= half  # [B, H, W]
    shade = 200.0 / (1.0 + 0.25 * depth) * np.where(hit_cell.sum(-1) % 2 == 0, 1.0, 0.8)  # [B, W]
    sky = np.where((np.arange(height) + 0.5 < height / 2)[:, None], _CEILING, _FLOOR)  # [H, 3]
    image = np.broadcast_to(sky[None, :, None, :], (count, height, width, 3)).copy()
    wall_rgb = np.broadcast_to(shade[:, None, :, None], (count, height, width, 3))
    image = np.where(is_wall[..., None], wall_rgb.astype(np.uint8), image)
    _draw_objects(image, depth, pos, heading, objects, colours, sizes)
    return image


def _draw_objects(
    image: np.ndarray,
    depth: np.ndarray,
    pos: np.ndarray,
    heading: np.ndarray,
    objects: np.ndarray,
    colours: np.ndarray,
    sizes: np.ndarray,
) -> None:
    count, height, width, _ = image.shape
    if objects.shape[1] == 0:
        return
    forward, right = _camera(heading)
    rel = (objects - pos[:, None, :]).astype(np.float64)  # [B, K, 2]
    z = np.einsum("bkc,bc->bk", rel, forward)
    x = np.einsum("bkc,bc->bk", rel, right)
    columns = np.arange(width)[None, :] + 0.5
    rows = np.arange(height)[None, :] + 0.5
    for k in np.argsort(-z, axis=1).T:  # far to near, per environment
        b = np.arange(count)
        zk, xk, sk = z[b, k], x[b, k], sizes[b, k]
        ahead = zk > 0.3
        zs = np.where(ahead, zk, 1.0)
        centre = width / 2 * (1 + xk / (zs * _TAN_HALF_FOV))
        half_w = sk / zs * width / (2 * _TAN_HALF_FOV)
        cols = (np.abs(columns - centre[:, None]) <= half_w[:, None]) & (zk[:, None] < depth) & ahead[:, None]
        top = height / 2 - 0.2 * height / zs
        bottom = height / 2 + 0.5 * height / zs
        rws = (rows >= top[:, None]) & (rows <= bottom[:, None])
        mask = rws[:, :, None] & cols[:, None, :] & (sk > 0)[:, None, None]
        here = (np.abs(rel[b, k]).sum(-1) == 0) & (sk > 0)
        mask |= here[:, None, None] & (rows >= 0.75 * height)[:, :, None]
        image[mask] = np.broadcast_to(colours[b, k][:, None, None, :], image.shape)[mask]
