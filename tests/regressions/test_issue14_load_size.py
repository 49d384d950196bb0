"""Issue 14: ``media.load(size=100000)`` blamed the file ("decoding failed ... the file is corrupt").

The output size is checked where it enters: 1 to 8192 pixels a side, a :class:`UsageError` naming the
argument. A window whose frames would not fit in half of the machine's memory is refused the same way.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from avikit.errors import MediaError, UsageError
from avikit.media import AVClip, load, save

load_module = importlib.import_module("avikit.media.load")


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clip = AVClip(frames=np.full((10, 32, 48, 3), 90, np.uint8), fps=25)
    return save(clip, tmp_path_factory.mktemp("size") / "clip.mp4")


@pytest.mark.parametrize("size", [100000, (16, 100000), 0, (-1, 8)])
def test_an_impossible_size_blames_the_argument(mp4: Path, size) -> None:
    with pytest.raises(UsageError, match=r"size=.*1 to 8192 pixels a side") as err:
        load(mp4, size=size)
    assert not isinstance(err.value, MediaError) and "corrupt" not in str(err.value)


def test_sizes_in_range_load(mp4: Path) -> None:
    assert load(mp4, size=(24, 40)).require_frames().shape == (10, 24, 40, 3)


def test_frames_that_would_not_fit_in_memory_are_refused_before_decoding(mp4: Path, monkeypatch) -> None:
    # the machine's memory is an input of the check: set it to 64 MiB, so 10 frames of 2048 x 2048 RGB
    # (120 MiB) are refused and 10 of 1024 x 1024 (30 MiB) load
    monkeypatch.setattr(load_module, "_machine_memory", lambda: 64 * 2**20)
    with pytest.raises(UsageError, match=r"10 frames of 2048x2048 RGB, 0\.1 GiB, more than half"):
        load(mp4, size=2048)
    assert load(mp4, size=1024).require_frames().shape == (10, 1024, 1024, 3)
