"""Issue 14: ``fps`` above the source's rate built every frame many times (fps=10000: 4.9 GB of frames).

Frames are chosen from the source's, so a rate above it only repeats them; it is now refused with a
:class:`UsageError` that names the argument and the source's rate, before anything is decoded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avikit.errors import UsageError
from avikit.media import AVClip, MediaReader, load, save


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = np.zeros((75, 32, 48, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(75, dtype=np.uint8)[:, None, None] * 3
    return save(AVClip(frames=frames, fps=25), tmp_path_factory.mktemp("fps") / "clip.mp4")


@pytest.mark.parametrize("fps", [10000, 30, 25.1])
def test_a_rate_above_the_source_is_refused(mp4: Path, fps: float) -> None:
    with pytest.raises(
        UsageError, match=rf"fps={fps:g} for .*clip\.mp4, whose video has 25 fps.*pass fps <= 25"
    ):
        load(mp4, fps=fps)
    with MediaReader(mp4) as reader, pytest.raises(UsageError, match="whose video has 25 fps"):
        reader.load(start=1, duration=1, fps=fps)


@pytest.mark.parametrize(("fps", "count"), [(25, 75), (10, 30), (1, 3)])
def test_rates_up_to_the_source_load(mp4: Path, fps: float, count: int) -> None:
    assert load(mp4, fps=fps).num_frames == count
