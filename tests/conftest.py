"""Shared pytest configuration: markers for slow and GPU tests, and the shared reference-data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.model_fixtures"
]  # the tiny encoder and model checks shared by tests/models and tests/train

ROOT = Path(__file__).resolve().parents[1]
# ../shared/reference-data beside the checkout (a clone, a worktree, CI's clean clone), or the folder named
# by AVIKIT_REFERENCE_DATA
REFERENCE_DATA = Path(os.environ.get("AVIKIT_REFERENCE_DATA") or ROOT.parent / "shared" / "reference-data")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_slow = pytest.mark.skip(reason="slow: pass --runslow to run")
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    has_gpu = False
    if any("gpu" in item.keywords for item in items):
        import torch

        has_gpu = torch.cuda.is_available()
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """The folder of real files in the official formats (LLP, AVE, MUSIC-AVQA annotations, one LLP video).

    Absent, the tests that need it skip with the path in the reason (``-ra`` lists them), except in CI
    (``CI`` set), where they fail: CI always has ``../shared`` beside its clone.
    """
    if not (REFERENCE_DATA / "llp").is_dir():
        message = (
            f"shared reference data not found at {REFERENCE_DATA}; place the checkout beside shared/ or set "
            "AVIKIT_REFERENCE_DATA"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return REFERENCE_DATA
