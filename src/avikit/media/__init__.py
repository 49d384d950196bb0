"""Media layer: the AVClip, probing, loading and saving real files, resampling, windows and log-Mel.

This layer knows nothing about tasks or models. FFmpeg (through PyAV) does all decoding and encoding.
"""

from avikit.media.clip import AVClip
from avikit.media.timeline import Seconds, index_to_seconds, seconds_to_index, to_fraction, window_indices

__all__ = [
    "AVClip",
    "Seconds",
    "index_to_seconds",
    "seconds_to_index",
    "to_fraction",
    "window_indices",
]
