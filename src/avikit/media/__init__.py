"""Media layer: the AVClip, probing, loading and saving real files, exact windows and log-Mel.

FFmpeg, through PyAV, does all decoding, encoding and audio resampling. This layer knows nothing
about tasks or models.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from avikit import media
    >>> clip = media.AVClip(
    ...     frames=np.zeros((25, 32, 32, 3), np.uint8),
    ...     waveform=np.zeros((1, 16000), np.float32),
    ...     fps=25,
    ...     sample_rate=16000,
    ... )
    >>> path = media.save(clip, pathlib.Path(tempfile.mkdtemp()) / "clip.mp4")
    >>> info = media.probe(path)
    >>> info.video.num_frames, info.audio.sample_rate
    (25, 16000)
    >>> part = media.load(path, start=0.2, duration=0.4, fps=10, sample_rate=8000)
    >>> part.num_frames, part.num_samples, part.first_frame
    (4, 3200, 2)
"""

from avikit.media.clip import AVClip
from avikit.media.load import MediaReader, load
from avikit.media.mel import log_mel, mel_filterbank
from avikit.media.probe import AudioStreamInfo, MediaInfo, VideoStreamInfo, probe
from avikit.media.resample import resample_audio
from avikit.media.save import save
from avikit.media.timeline import Seconds, index_to_seconds, seconds_to_index, to_fraction, window_indices

__all__ = [
    "AVClip",
    "AudioStreamInfo",
    "MediaInfo",
    "MediaReader",
    "Seconds",
    "VideoStreamInfo",
    "index_to_seconds",
    "load",
    "log_mel",
    "mel_filterbank",
    "probe",
    "resample_audio",
    "save",
    "seconds_to_index",
    "to_fraction",
    "window_indices",
]
