"""Small protocols that encoders satisfy, so a model can take any encoder of the right kind.

Example:
    >>> from avikit.nn.audio_encoder import AudioEncoder
    >>> from avikit.nn.visual_encoder import VisualEncoder
    >>> isinstance(AudioEncoder(dim=32, heads=2), SpectrogramEncoder)
    True
    >>> isinstance(VisualEncoder(image_size=32, dim=32, heads=2), FrameEncoder)
    True
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

__all__ = ["FrameEncoder", "SpectrogramEncoder"]


@runtime_checkable
class SpectrogramEncoder(Protocol):
    """Encodes a log-Mel ``[B, M, T]`` into tokens ``[B, S, dim]`` at ``token_rate`` tokens per second."""

    dim: int
    n_mels: int

    @property
    def token_rate(self) -> float:
        """Tokens per second of audio."""
        ...

    def __call__(self, mel: torch.Tensor) -> torch.Tensor:
        """Return tokens ``[B, S, dim]``."""
        ...


@runtime_checkable
class FrameEncoder(Protocol):
    """Encodes frames ``[B, T, C, H, W]`` into per-frame patch tokens ``[B, T, P, dim]`` on a ``grid``."""

    dim: int
    image_size: int

    @property
    def grid(self) -> tuple[int, int]:
        """Patch grid ``(rows, cols)`` of one frame."""
        ...

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Return tokens ``[B, T, P, dim]``."""
        ...
