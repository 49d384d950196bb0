"""A minimal stand-in for ``torchaudio``, so that ``torchcrepe`` imports without it.

avikit never installs torchaudio: its wheels pin another torch and break transformers here. torchcrepe 0.0.24
imports torchaudio in one module only, ``torchcrepe/load.py``, whose ``audio(filename)`` calls
``torchaudio.load(filename)`` and expects ``(waveform float32 [C, N], sample_rate)``. This module provides
that one function (decoding with :func:`avikit.media.load`, FFmpeg inside PyAV) and nothing else: any other
attribute raises an AttributeError that names this stub.

:func:`import_torchcrepe` puts the stub in ``sys.modules["torchaudio"]`` only while torchcrepe is imported and
removes it afterwards, so that other libraries still see no torchaudio (``importlib.util.find_spec`` returns
``None``; transformers' ``is_torchaudio_available()`` stays false). torchcrepe's modules keep their reference
to the stub. Where a real torchaudio is installed, it is used and the stub is not.

Example:
    >>> import importlib.util
    >>> crepe = import_torchcrepe()
    >>> crepe.SAMPLE_RATE, importlib.util.find_spec("torchaudio") is None
    (16000, True)
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from typing import Any

import torch

from avikit.errors import MissingDependencyError

__all__ = ["import_torchcrepe", "load"]

STUB_NAME = "avikit.models.embedders.torchaudio_stub"


def load(filepath: str | os.PathLike[str]) -> tuple[torch.Tensor, int]:
    """``torchaudio.load`` as torchcrepe uses it: ``(waveform float32 [C, N], sample_rate)`` of a file."""
    from avikit.media import load as load_media

    clip = load_media(os.fspath(filepath))
    return torch.from_numpy(clip.require_waveform().copy()), int(clip.sample_rate or 0)


def _stub_module() -> types.ModuleType:
    module = types.ModuleType("torchaudio", "avikit's stand-in for torchaudio.load (torchaudio_stub)")
    module.load = load  # type: ignore[attr-defined]

    def missing(name: str) -> Any:
        raise AttributeError(f"torchaudio.{name} is not provided by {STUB_NAME}; only load() is")

    module.__getattr__ = missing  # type: ignore[method-assign]
    return module


def import_torchcrepe() -> types.ModuleType:
    """Import torchcrepe with the stub standing in for torchaudio during the import (see the module doc).

    Raises:
        MissingDependencyError: torchcrepe is not installed (it is installed with ``--no-deps``, see the
            Makefile: its own requirements would pull torchaudio).
    """
    if "torchcrepe" in sys.modules:
        return sys.modules["torchcrepe"]
    if importlib.util.find_spec("torchcrepe") is None:
        raise MissingDependencyError(
            "the pitch judge needs torchcrepe: pip install --no-deps --require-hashes -r "
            "requirements/torchcrepe.lock (never its torchaudio requirement), as `make test` does"
        )
    stubbed = "torchaudio" not in sys.modules and importlib.util.find_spec("torchaudio") is None
    if stubbed:
        sys.modules["torchaudio"] = _stub_module()
    try:
        return importlib.import_module("torchcrepe")
    finally:
        if stubbed:
            del sys.modules["torchaudio"]
