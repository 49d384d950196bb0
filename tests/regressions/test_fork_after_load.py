"""A load in a process forked after a load in its parent (DataLoader workers) must not hang."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest

from avikit.media import AVClip, load, save


def _child(path: str, queue: mp.Queue) -> None:
    queue.put(load(path, fps=5, size=32).num_frames)


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs the fork start method")
def test_load_in_a_forked_child_after_a_load_in_the_parent(tmp_path: Path) -> None:
    frames = np.random.default_rng(0).integers(0, 255, (50, 96, 128, 3), dtype=np.uint8)
    path = save(AVClip(frames=frames, fps=25), tmp_path / "v.mp4")
    assert load(path, fps=5, size=32).num_frames == 10  # the parent builds and caches its scaler
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(str(path), queue))
    child.start()
    child.join(timeout=60)
    hung = child.is_alive()
    if hung:
        child.kill()
    assert not hung, "the forked child hung in the scaler inherited from its parent"
    assert queue.get(timeout=5) == 10
