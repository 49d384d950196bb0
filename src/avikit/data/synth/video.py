"""Numpy rendering of AVSynth scenes: a textured background, shaped sprites, camera shake.

Sprites (a boolean mask and a textured colour patch per class and integer radius) are computed once and
cached; a frame is the background crop plus each visible object pasted through its mask. A sounding
object pulses: its radius grows with the fraction of the frame in which it sounds, so audio and vision
agree in time.

Example:
    >>> from avikit.data.synth.scene import sample_scene
    >>> frames, ids = render_video(sample_scene("test", 0), with_ids=True)
    >>> frames.shape, frames.dtype, ids.shape
    ((80, 128, 128, 3), dtype('uint8'), (80, 128, 128))
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from avikit.data.synth.classes import get_class
from avikit.data.synth.scene import Scene, activation, camera_offsets, track

__all__ = ["PULSE", "object_radii", "render_video", "sprite"]

PULSE = 0.35
"""Relative growth of a sounding object's radius while it sounds."""


@lru_cache(maxsize=4096)
def sprite(cls: str, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the mask ``bool [S, S]`` and colours ``uint8 [S, S, 3]`` of a class drawn at ``radius`` px.

    ``S = 2 * radius + 1``; the centre of the sprite is at ``(radius, radius)``.
    """
    c = get_class(cls)
    r = max(int(radius), 1)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float64)
    d = np.hypot(xx, yy)
    shapes = {
        "disc": d <= r,
        "square": np.maximum(np.abs(xx), np.abs(yy)) <= 0.85 * r,
        "triangle": (yy >= -0.8 * r) & (yy <= 0.8 * r) & (np.abs(xx) <= (yy + 0.8 * r) * 0.62),
        "diamond": np.abs(xx) + np.abs(yy) <= r,
        "ring": (d <= r) & (d >= 0.55 * r),
        "cross": ((np.abs(xx) <= 0.33 * r) & (np.abs(yy) <= r))
        | ((np.abs(yy) <= 0.33 * r) & (np.abs(xx) <= r)),
    }
    mask = shapes[c.shape]
    shade = np.ones_like(d)
    if c.texture == "striped":
        shade = np.where(np.mod(np.floor((xx + yy) / 3), 2) == 0, 1.0, 0.55)
    elif c.texture == "spotted":
        shade = np.where((np.mod(xx, 5) < 2) & (np.mod(yy, 5) < 2), 0.45, 1.0)
    rgb = (np.asarray(c.rgb, dtype=np.float64) * shade[..., None]).astype(np.uint8)
    mask.setflags(write=False)
    rgb.setflags(write=False)
    return mask, rgb


def _background(scene: Scene, margin: int) -> np.ndarray:
    size = scene.config.size + 2 * margin
    dark, light = (np.asarray(c, dtype=np.float32) for c in scene.background)
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    yy, xx = np.mgrid[0:size, 0:size]
    stripes = (np.mod((xx + 2 * yy) // 6, 2) * 12).astype(np.float32)[..., None]
    return np.clip(dark + (light - dark) * ramp + stripes, 0, 255).astype(np.uint8)


def object_radii(scene: Scene) -> list[np.ndarray]:
    """Return each object's drawn radius per frame, ``float64 [T]`` (grows while the object sounds)."""
    return [obj.radius * (1 + PULSE * activation(obj, scene)) for obj in scene.objects]


def _paste(
    frame: np.ndarray, ids: np.ndarray | None, value: int, mask: np.ndarray, rgb: np.ndarray, cy: int, cx: int
) -> None:
    r = mask.shape[0] // 2
    h, w = frame.shape[:2]
    y0, y1, x0, x1 = cy - r, cy + r + 1, cx - r, cx + r + 1
    sy0, sx0 = max(0, -y0), max(0, -x0)
    sy1, sx1 = mask.shape[0] - max(0, y1 - h), mask.shape[1] - max(0, x1 - w)
    if sy1 <= sy0 or sx1 <= sx0:
        return
    m = mask[sy0:sy1, sx0:sx1]
    region = (slice(y0 + sy0, y0 + sy1), slice(x0 + sx0, x0 + sx1))
    frame[region][m] = rgb[sy0:sy1, sx0:sx1][m]
    if ids is not None:
        ids[region][m] = value


def render_video(scene: Scene, with_ids: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Render the scene's frames, ``uint8 [T, H, W, 3]``.

    Args:
        scene: the scene to draw.
        with_ids: also return the id map ``uint8 [T, H, W]``: ``k + 1`` where object ``k`` is the top
            drawn object, 0 on background.

    Returns:
        ``(frames, ids)``; ``ids`` is ``None`` unless ``with_ids``.
    """
    size, count = scene.config.size, scene.num_frames
    dx, dy = camera_offsets(scene)
    margin = int(np.max(np.abs(np.concatenate([dx, dy])), initial=0))
    background = _background(scene, margin)
    frames = np.empty((count, size, size, 3), dtype=np.uint8)
    if margin == 0:
        frames[:] = background
    else:
        for k in range(count):
            frames[k] = background[
                margin + dy[k] : margin + dy[k] + size, margin + dx[k] : margin + dx[k] + size
            ]
    ids = np.zeros((count, size, size), dtype=np.uint8) if with_ids else None
    for obj, radii in zip(scene.objects, object_radii(scene), strict=True):
        if not obj.on_screen:
            continue
        xs, ys = track(obj, scene)
        cx = np.rint(xs - dx).astype(np.int64)
        cy = np.rint(ys - dy).astype(np.int64)
        rr = np.rint(radii).astype(np.int64)
        for k in range(*obj.visible):
            mask, rgb = sprite(obj.cls, int(rr[k]))
            _paste(frames[k], None if ids is None else ids[k], obj.id + 1, mask, rgb, int(cy[k]), int(cx[k]))
    return frames, ids
