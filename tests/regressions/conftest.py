from __future__ import annotations

import pytest

from avikit.data.synth import prepare_avsynth


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory):
    """A small AVSynth set on disk; 11 train ids, which collide when cut to LLP's 11 characters."""
    root = tmp_path_factory.mktemp("avsynth")
    prepare_avsynth(root, {"train": 11, "val": 2, "test": 4, "open_test": 1}, seed=0)
    return root
