"""Shared helpers for the metric tests: the golden files and the shared input recipes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "golden" / "metrics"
sys.path.insert(0, str(ROOT / "tools" / "golden"))


@pytest.fixture(scope="session")
def golden() -> Any:
    def load(name: str) -> dict[str, Any]:
        return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))

    return load
