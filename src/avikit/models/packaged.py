"""Where the weights shipped with the package live: one sub-folder per model under ``avikit/models/weights``.

Example:
    >>> (WEIGHTS_DIR / "avel" / "config.json").is_file()
    True
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["WEIGHTS_DIR"]

WEIGHTS_DIR = Path(__file__).parent / "weights"
"""Folder of the weights shipped with the package (one sub-folder per model)."""
