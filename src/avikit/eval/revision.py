"""The git revision every evaluation record and cached model output carries (its provenance).

Example:
    >>> isinstance(git_revision(), str)
    True
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

__all__ = ["git_revision"]


@functools.cache
def git_revision() -> str:
    """The git commit of the avikit source tree, or ``"unknown"`` outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"
