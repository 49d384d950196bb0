"""What every audio watermarker offers: embed a 16-bit message, detect it per sample, decode it.

A watermarker works on mono float audio at its own ``sample_rate``. :meth:`AudioWatermarker.embed` returns
the watermarked audio (same length); :meth:`AudioWatermarker.detect` returns a :class:`Detection`: a clip
score (higher = more likely watermarked; thresholds are set on clean audio), the per-sample probability
that a sample carries the watermark, and the decoded message bits.

Generators embed :func:`message_for` of their model id, so a detected message names the model family
(:func:`describe_message`).

Example:
    >>> bits = message_for("avikit/v2a")
    >>> bits.shape, bits.dtype, message_to_int(bits) == message_to_int(message_for("avikit/v2a"))
    ((16,), dtype('uint8'), True)
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "NUM_BITS",
    "AudioWatermarker",
    "Detection",
    "describe_message",
    "message_for",
    "message_to_int",
]

NUM_BITS = 16
"""Message length of every avikit watermark."""


@dataclass(frozen=True)
class Detection:
    """What a detector found in one clip.

    Attributes:
        score: clip-level detection score (comparable only within one watermarker).
        probability: ``float32 [N]`` per-sample probability that the sample is watermarked.
        bits: ``float32 [NUM_BITS]`` probability of each message bit being 1.
    """

    score: float
    probability: NDArray[np.float32]
    bits: NDArray[np.float32]

    @property
    def message(self) -> NDArray[np.uint8]:
        """The decoded bits, 0 or 1."""
        return (self.bits >= 0.5).astype(np.uint8)


@runtime_checkable
class AudioWatermarker(Protocol):
    """An embedder and its detector.

    Attributes:
        name: the method's name (``"learned"``, ``"spread-spectrum"``).
        weights_hash: a hash of its weights or key (part of a generator's weights hash when it is on).
        sample_rate: the rate it embeds and detects at.
    """

    name: str
    weights_hash: str
    sample_rate: int

    def embed(self, audio: NDArray[np.floating], message: NDArray[np.integer]) -> NDArray[np.float32]:
        """Watermarked ``float32 [N]`` for mono ``audio [N]`` and ``message [NUM_BITS]`` of 0/1."""
        ...

    def detect(self, audio: NDArray[np.floating]) -> Detection:
        """Detect and decode the watermark in mono ``audio [N]``."""
        ...


def message_for(model_id: str) -> NDArray[np.uint8]:
    """The 16-bit message a generator embeds: the low 16 bits of the CRC-32 of its id, most significant first.

    Example:
        >>> message_for("avikit/joint-generation").tolist()[:4]
        [1, 1, 0, 1]
    """
    value = zlib.crc32(model_id.encode()) & 0xFFFF
    return np.array([(value >> (NUM_BITS - 1 - i)) & 1 for i in range(NUM_BITS)], dtype=np.uint8)


def message_to_int(bits: Iterable[int]) -> int:
    """Bits (most significant first) as an integer.

    Example:
        >>> message_to_int([1, 0, 1])
        5
    """
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def describe_message(bits: Iterable[int], model_ids: Iterable[str]) -> list[str]:
    """The model ids among ``model_ids`` whose message equals ``bits`` (16 bits: a collision is possible)."""
    value = message_to_int(bits)
    return [m for m in model_ids if message_to_int(message_for(m)) == value]
