from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "datasets"


@pytest.fixture
def official(tmp_path):
    """Copy a fixture folder (official layout) to a temporary root, so media can be added; returns a factory."""

    def make(name: str) -> Path:
        root = tmp_path / "root" / name
        shutil.copytree(FIXTURES / name, root)
        return root

    return make


def touch(path: Path) -> Path:
    """Create an (empty) media file: prepare checks presence, not content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def media_file(path: Path, seconds: int = 2) -> Path:
    """Write a small real media file (a wav of silence, or an mp4 with 32 x 32 frames): recipes that read a
    clip's length from its file need one that decodes."""
    import numpy as np

    from avikit.media import AVClip, save

    waveform = np.zeros((1, 16000 * seconds), np.float32)
    if path.suffix == ".wav":
        return save(AVClip(waveform=waveform, sample_rate=16000), path)
    frames = np.zeros((8 * seconds, 32, 32, 3), np.uint8)
    return save(AVClip(frames=frames, waveform=waveform, fps=8, sample_rate=16000), path)


def link_reference(reference_data: Path, folder: str, root: Path) -> Path:
    """Make ``root`` a folder of symlinks to the real reference files (never copied)."""
    root.mkdir(parents=True, exist_ok=True)
    for item in (reference_data / folder).iterdir():
        (root / item.name).symlink_to(item)
    return root
