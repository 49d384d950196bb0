"""Issue 14: a truncated mp4 was reported whole by ``probe`` (and ``avikit info``).

An mp4 writes its index (durations, frame counts) before the data, so a file cut short still declares its
full length. ``probe`` now cross-checks the declared end against the last packet and raises.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avikit.errors import CorruptMediaError
from avikit.media import AVClip, load, probe, save


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of H.264 + AAC, index first (the default of ``save``)."""
    frames = np.zeros((75, 32, 48, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(75, dtype=np.uint8)[:, None, None] * 3
    waveform = (0.1 * np.random.default_rng(0).standard_normal((1, 48000))).astype(np.float32)
    clip = AVClip(frames=frames, waveform=waveform, fps=25, sample_rate=16000)
    return save(clip, tmp_path_factory.mktemp("trunc") / "whole.mp4")


def test_probe_of_the_whole_file_reports_its_length(whole: Path) -> None:
    info = probe(whole)
    assert info.duration == 3.0 and info.video is not None and info.video.num_frames == 75


def test_probe_refuses_a_cut_file_and_says_where_the_data_ends(whole: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])
    with pytest.raises(
        CorruptMediaError, match=r"cut\.mp4: the (video|audio) stream's packets end at"
    ) as err:
        probe(cut)
    message = str(err.value)
    assert "declares 3.000 s" in message and "truncated" in message
    end = float(message.split("packets end at ")[1].split(" s")[0])
    assert 0.5 < end < 2.5
    # what is there still loads, and loading past it still fails
    assert load(cut, start=0, duration=0.4).num_frames == 10
    with pytest.raises(CorruptMediaError, match="truncated"):
        load(cut)


def test_a_cut_inside_the_last_packets_is_caught_too(whole: Path, tmp_path: Path) -> None:
    cut = tmp_path / "tail.mp4"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.9)])
    with pytest.raises(CorruptMediaError, match="truncated"):
        probe(cut)
