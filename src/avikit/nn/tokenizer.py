"""The ``Tokenizer`` protocol: a signal to discrete codes and back, with its rates.

In the spirit of audiocraft's ``CompressionModel``: any audio codec or frame tokenizer that has these few
methods and properties can be measured by the same study and used by the same token-based generators.

Example:
    >>> from avikit.nn.codec import build_audio_codec
    >>> isinstance(build_audio_codec(), Tokenizer)
    True
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

__all__ = ["Tokenizer", "bitrate"]


@runtime_checkable
class Tokenizer(Protocol):
    """Encodes a signal into codes ``[B, Q, T']`` and decodes codes back to the signal.

    Audio tokenizers take and return ``[B, C, N]`` waveforms; frame tokenizers take and return
    ``[B, T, C, H, W]`` videos in ``[0, 1]`` and flatten each frame's grid into ``T'`` (``T' = T * h * w``).
    """

    @property
    def sample_rate(self) -> int:
        """Sample rate of the signal in Hz (audio) or frames per second (video)."""

    @property
    def frame_rate(self) -> float:
        """Code steps per second of signal (all ``Q`` codebooks together count as one step)."""

    @property
    def num_codebooks(self) -> int:
        """Codebooks ``Q`` per step."""

    @property
    def cardinality(self) -> int:
        """Entries per codebook."""

    def encode(self, signal: torch.Tensor) -> torch.Tensor:
        """Signal to integer codes ``[B, Q, T']``."""

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Integer codes ``[B, Q, T']`` to the signal."""


def bitrate(tokenizer: Tokenizer, num_codebooks: int | None = None) -> float:
    """Bits per second: ``frame_rate * Q * log2(cardinality)``.

    Args:
        tokenizer: any :class:`Tokenizer`.
        num_codebooks: codebooks actually used (default: all).
    """
    used = tokenizer.num_codebooks if num_codebooks is None else num_codebooks
    return float(tokenizer.frame_rate * used * torch.log2(torch.tensor(float(tokenizer.cardinality))).item())
