from __future__ import annotations

import pytest

from avikit.data.synth import prepare_avsynth


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory):
    """A small AVSynth set on disk, made once per session."""
    root = tmp_path_factory.mktemp("avsynth")
    prepare_avsynth(root, {"train": 3, "val": 2, "test": 6, "open_test": 2}, seed=0)
    return root
