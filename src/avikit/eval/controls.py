"""Modality controls: the same inputs with one modality taken away, to show what a model uses.

``audio_muted`` zeroes the waveform, ``video_blanked`` makes every frame black, ``audio_swapped`` gives each
sample the audio of the next sample in dataset order (the last takes the first's), so a model that ignores a
modality scores the same with and without it.

Example:
    >>> frames, waveform = np.ones((2, 4, 4, 3), np.uint8), np.ones((1, 8), np.float32)
    >>> f, w = apply_control("audio_muted", frames, waveform)
    >>> int(f.sum()), float(w.sum())
    (96, 0.0)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from avikit.errors import UsageError

__all__ = ["CONTROLS", "apply_control", "swap_partner"]

CONTROLS: dict[str, str] = {
    "audio_muted": "the waveform is all zeros (a video-only view)",
    "video_blanked": "every frame is black (an audio-only view)",
    "audio_swapped": "the audio comes from the next sample in dataset order",
}
"""Control name -> what it does."""


def swap_partner(index: int, count: int) -> int:
    """The sample whose audio sample ``index`` of ``count`` receives under ``audio_swapped``.

    Example:
        >>> [swap_partner(i, 3) for i in range(3)]
        [1, 2, 0]
    """
    if count < 2:
        raise UsageError("audio_swapped needs at least two samples to swap audio between")
    return (index + 1) % count


def apply_control(
    name: str,
    frames: NDArray[np.uint8],
    waveform: NDArray[np.float32],
    donor_waveform: NDArray[np.float32] | None = None,
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """Apply one control to cut media and return new arrays (the inputs are not changed).

    Args:
        name: one of :data:`CONTROLS`.
        frames: ``[T, H, W, 3]``.
        waveform: ``[C, N]``.
        donor_waveform: for ``audio_swapped``, the other sample's audio (cut or zero-padded to ``N``).

    Raises:
        ValueError: for an unknown control, or ``audio_swapped`` without a donor.
    """
    if name == "audio_muted":
        return frames, np.zeros_like(waveform)
    if name == "video_blanked":
        return np.zeros_like(frames), waveform
    if name == "audio_swapped":
        if donor_waveform is None:
            raise UsageError("audio_swapped needs the donor sample's waveform")
        out = np.zeros_like(waveform)
        length = min(waveform.shape[1], donor_waveform.shape[1])
        channels = min(waveform.shape[0], donor_waveform.shape[0])
        out[:channels, :length] = donor_waveform[:channels, :length]
        return frames, out
    raise UsageError(f"unknown control {name!r}; valid controls are: {', '.join(CONTROLS)}")
