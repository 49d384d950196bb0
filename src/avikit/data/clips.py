"""Decode a sample's media at its dataset's declared geometry (:class:`~avikit.data.profile.DatasetProfile`).

Three kinds of samples:

- AVSynth URIs (``avsynth:<split>/<index>``) are regenerated bit for bit, at the rates they were made at;
- video files are decoded at the profile's frame rate, frame size and sample rate (:func:`avikit.media.load`:
  frames by nearest timestamp, FFmpeg's scaler and resampler);
- still-frame datasets list their frames as images in the targets (``frames``: one image per second,
  AVSBench; ``frame``: one image, VGG-SS and Flickr-SoundNet) beside an audio file: the images are read and
  resized bilinearly to the frame size, one frame per image, and the audio decoded at the sample rate.

Example:
    >>> from avikit.data.synth import avsynth_profile, generate
    >>> sample, clip = generate("test", 1)
    >>> decoded = load_sample_media(sample, None, avsynth_profile())
    >>> bool((decoded.frames == clip.frames).all()), decoded.sample_rate
    (True, 16000)
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from avikit.data.images import read_image, resize_frame
from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.data.synth.recipe import URI_PREFIX, load_clip
from avikit.errors import DataError
from avikit.media import AVClip, load, probe

__all__ = ["load_sample_media", "still_frame_paths"]


def still_frame_paths(sample: Sample) -> list[str] | None:
    """The image files of a still-frame sample (``frames`` or ``frame`` target), else ``None``."""
    listed = sample.targets.get("frames")
    if listed is not None:
        return [str(p) for p in listed]
    single = sample.targets.get("frame")
    return None if single is None else [str(single)]


def load_sample_media(sample: Sample, root: str | os.PathLike[str] | None, profile: DatasetProfile) -> AVClip:
    """The sample's media as an :class:`~avikit.media.AVClip` at the profile's geometry.

    Args:
        sample: the sample (its media path is relative to ``root``, the manifest's folder).
        root: the folder of the manifest (``None`` for in-memory AVSynth).
        profile: the dataset's declared geometry.

    Raises:
        InputFileError, MediaError: a file is missing or unreadable (the message names it).
    """
    if sample.media.path.startswith(URI_PREFIX):
        return _checked(load_clip(sample, root), sample, profile)
    base = Path(root or ".")
    images = still_frame_paths(sample)
    if images is None:
        return _load_video(base / sample.media.path, sample, profile)
    audio = load(
        base / sample.media.path,
        sample.media.start,
        sample.media.duration,
        sample_rate=profile.sample_rate,
        video=False,
    )
    frames = np.stack([_frame(base / p, profile.frame_size) for p in images])
    return AVClip(
        frames, audio.waveform, profile.fps, profile.sample_rate, source=str(base / sample.media.path)
    )


def _load_video(path: Path, sample: Sample, profile: DatasetProfile) -> AVClip:
    """A video file at the profile's geometry; a file of a lower frame rate repeats its frames.

    :func:`avikit.media.load` picks frames by nearest timestamp and refuses a rate above the source's, so a
    slower file is loaded at its own rate and each point of the profile's grid ``k / fps`` takes the frame
    nearest in time (a tie to the earlier one), as loading at the higher rate would choose them.
    """
    window = (sample.media.start, sample.media.duration)
    info = probe(path).video
    source = None if info is None else max(info.fps, info.average_fps)
    if source is None or profile.fps <= source * Fraction(1001, 1000):  # load's slack for rounded rates
        return load(path, *window, fps=profile.fps, size=profile.frame_size, sample_rate=profile.sample_rate)
    clip = load(path, *window, fps=source, size=profile.frame_size, sample_rate=profile.sample_rate)
    frames = clip.require_frames()
    first = math.ceil(Fraction(clip.first_frame) / source * profile.fps)  # the first grid point in the window
    count = int((Fraction(len(frames)) / source) * profile.fps)
    picks = [
        math.ceil((first + k) * source / profile.fps - Fraction(1, 2)) - clip.first_frame
        for k in range(count)
    ]
    picked = frames[np.clip(picks, 0, len(frames) - 1)]
    return AVClip(picked, clip.waveform, profile.fps, clip.sample_rate, first, clip.first_sample, clip.source)


def _checked(clip: AVClip, sample: Sample, profile: DatasetProfile) -> AVClip:
    """A regenerated AVSynth clip, if it has the profile's geometry (it is never resampled silently)."""
    made = (clip.fps, clip.sample_rate, clip.require_frames().shape[1:3])
    if made != (profile.fps, profile.sample_rate, profile.frame_size):
        raise DataError(
            f"sample {sample.id!r} is made at {made[0]} fps, {made[1]} Hz and {made[2]} px, the dataset "
            f"profile {profile.name!r} declares {profile.fps} fps, {profile.sample_rate} Hz and "
            f"{profile.frame_size} px; bind the task to the set's profile (avsynth_profile(config))"
        )
    return clip


def _frame(path: Path, size: tuple[int, int]) -> np.ndarray:
    image = read_image(path)
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
    return resize_frame(rgb, size)
