"""Audio watermarks of generated media: a learned embedder/detector pair and a spread-spectrum baseline.

Every avikit generator that makes sound embeds a watermark in it unless told not to
(:func:`set_watermarking`); the message is :func:`~avikit.models.watermark.base.message_for` of the
generator's id. ``avikit detect FILE`` finds it.

Example:
    >>> sorted(WATERMARKERS)
    ['learned', 'spread-spectrum']
"""

from __future__ import annotations

from typing import Any

from avikit._registry import lookup
from avikit.models.watermark.base import (
    NUM_BITS,
    AudioWatermarker,
    Detection,
    describe_message,
    message_for,
    message_to_int,
)

__all__ = [
    "DEFAULT_WATERMARKER",
    "NUM_BITS",
    "WATERMARKERS",
    "AudioWatermarker",
    "Detection",
    "describe_message",
    "load_watermarker",
    "message_for",
    "message_to_int",
    "set_watermarking",
    "watermark_output",
    "watermarked_hash",
]

WATERMARKERS: dict[str, str] = {
    "learned": "avikit.models.watermark.learned:from_pretrained",
    "spread-spectrum": "avikit.models.watermark.spread_spectrum:SpreadSpectrumWatermarker",
}
"""Watermarker name -> ``module:factory`` (imported when loaded)."""

DEFAULT_WATERMARKER = "spread-spectrum"
"""The watermark generators embed (chosen on val: docs/safety.md)."""


def load_watermarker(name: str = DEFAULT_WATERMARKER) -> AudioWatermarker:
    """The watermarker of :data:`WATERMARKERS` called ``name`` (the learned one loads packaged weights)."""
    import importlib

    module, _, factory = lookup(WATERMARKERS, name, "watermarker").partition(":")
    marker: AudioWatermarker = getattr(importlib.import_module(module), factory)()
    return marker


def watermarked_hash(weights_hash: str, watermarker: AudioWatermarker | None) -> str:
    """A generator's weights hash with its watermark's: outputs with and without one never share a cache.

    Example:
        >>> watermarked_hash("abc", None)
        'abc'
    """
    if watermarker is None:
        return weights_hash
    return f"{weights_hash}+wm-{watermarker.name}-{watermarker.weights_hash[:8]}"


def watermark_output(marker: AudioWatermarker, audio: Any, model_id: str) -> Any:
    """A generator's mono float32 audio ``[N]`` with its message embedded, clipped to [-1, 1] like a file.

    Example:
        >>> from avikit.models.watermark.spread_spectrum import SpreadSpectrumWatermarker
        >>> import numpy as np
        >>> out = watermark_output(SpreadSpectrumWatermarker(), np.ones(4096, np.float32), "avikit/v2a")
        >>> float(out.max()) <= 1.0
        True
    """
    import numpy as np

    return np.clip(marker.embed(audio, message_for(model_id)), -1.0, 1.0).astype(np.float32)


def set_watermarking(model: Any, on: bool, name: str = DEFAULT_WATERMARKER) -> bool:
    """Turn a generator's watermark on (watermarker ``name``) or off; ``False`` for a model without one.

    A generator that makes audio has a ``watermarker`` attribute (``None`` when off).
    """
    if not hasattr(model, "watermarker"):
        return False
    model.watermarker = load_watermarker(name) if on else None
    return True
