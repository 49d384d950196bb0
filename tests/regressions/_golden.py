"""The metric golden files (``tests/fixtures/golden/metrics``) and their input recipes, for regressions."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "golden"))

import golden_inputs as inputs  # noqa: E402

__all__ = ["inputs", "load_golden"]


def load_golden(name: str) -> dict[str, Any]:
    """Read one golden JSON written by ``tools/golden/make_metrics_golden.py``."""
    return json.loads((ROOT / "tests" / "fixtures" / "golden" / "metrics" / f"{name}.json").read_text())
