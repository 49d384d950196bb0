"""Dataset profiles: the geometry and vocabularies a dataset declares, read by every task.

A :class:`DatasetProfile` says how a dataset's media is decoded for evaluation (frame rate, frame size,
sample rate), how clips are cut into segments (segment length; the clip length where it is fixed), the size
of its masks, and its closed vocabularies: the class list (``"classes"``, in index order) and the answer list
of question answering (``"answers"``). Every recipe writes one into its dataset card (``card.json`` of
AVSynth, ``croissant.json`` of a prepared folder, under ``avikit:profile``), with a note saying where each
number comes from (the official preprocessing it follows). A sample's own length comes from its manifest
line (``media.duration``, else its ``duration`` target), else from :attr:`DatasetProfile.duration`.

Example:
    >>> profile = DatasetProfile("ave", fps=16, sample_rate=16000, frame_size=(224, 224),
    ...                          duration=10, vocabularies={"classes": ("Church bell", "Dog")})
    >>> DatasetProfile.from_dict(profile.to_dict()) == profile
    True
    >>> profile.num_segments, profile.labels("classes")
    (10, ('Church bell', 'Dog'))
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

from avikit.data.sample import Sample, seconds_to_json
from avikit.errors import DataError, InputFileError
from avikit.media.timeline import Seconds, to_fraction

__all__ = ["PROFILE_KEY", "DatasetProfile", "read_profile", "sample_duration"]

PROFILE_KEY = "avikit:profile"
"""The key under which a Croissant card (``croissant.json``) holds the profile."""


def _size(value: Any, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair):
        raise DataError(f"dataset profile: {name} must be (height, width) in pixels, got {value!r}")
    return int(pair[0]), int(pair[1])


@dataclass(frozen=True)
class DatasetProfile:
    """The geometry and closed vocabularies of a dataset (a record; no arrays).

    Attributes:
        name: the dataset, e.g. ``"ave"``.
        fps: frame rate media is decoded at for evaluation (exact; an image dataset stores one frame per
            second of its frame list, and says 1).
        sample_rate: audio sample rate media is decoded at, in Hz.
        frame_size: ``(height, width)`` frames are decoded at.
        segment_seconds: length of one segment (AVE, LLP and MUSIC-AVQA cut clips into 1 s segments).
        duration: the clip length in seconds where the dataset fixes it (``None``: it varies; each sample
            states its own).
        mask_size: ``(height, width)`` of segmentation masks and localization maps (default: the frame size).
        vocabularies: closed label lists by name: ``"classes"`` (index order) and ``"answers"``.
        source: where these numbers come from (the official preprocessing or generator they follow).
    """

    name: str
    fps: Fraction
    sample_rate: int
    frame_size: tuple[int, int]
    segment_seconds: Fraction = Fraction(1)
    duration: Fraction | None = None
    mask_size: tuple[int, int] | None = None
    vocabularies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    def __init__(
        self,
        name: str,
        fps: Seconds,
        sample_rate: int,
        frame_size: int | Sequence[int],
        segment_seconds: Seconds = 1,
        duration: Seconds | None = None,
        mask_size: int | Sequence[int] | None = None,
        vocabularies: Mapping[str, Sequence[str]] | None = None,
        source: str = "",
    ) -> None:
        values = {
            "name": name,
            "fps": to_fraction(fps),
            "sample_rate": sample_rate,
            "frame_size": _size(frame_size, "frame_size"),
            "segment_seconds": to_fraction(segment_seconds),
            "duration": None if duration is None else to_fraction(duration),
            "mask_size": None if mask_size is None else _size(mask_size, "mask_size"),
            "vocabularies": {str(k): tuple(str(x) for x in v) for k, v in (vocabularies or {}).items()},
            "source": source,
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)
        ok = isinstance(sample_rate, int) and sample_rate > 0 and self.fps > 0 and self.segment_seconds > 0
        if not ok or (self.duration is not None and self.duration <= 0):
            raise DataError(
                f"dataset profile {name!r}: fps, sample_rate, segment_seconds and duration must be positive, "
                f"got fps={fps!r}, sample_rate={sample_rate!r}, segment_seconds={segment_seconds!r}, "
                f"duration={duration!r}"
            )

    @property
    def masks(self) -> tuple[int, int]:
        """``(height, width)`` of masks and maps: :attr:`mask_size`, else the frame size."""
        return self.mask_size or self.frame_size

    @property
    def num_segments(self) -> int | None:
        """Segments in a clip of the fixed :attr:`duration` (``None`` where clip lengths vary)."""
        if self.duration is None:
            return None
        return -(-self.duration // self.segment_seconds)

    def labels(self, name: str) -> tuple[str, ...]:
        """The vocabulary ``name`` (``"classes"`` or ``"answers"``).

        Raises:
            DataError: if the dataset declares no such vocabulary; the message names those it has.
        """
        if name not in self.vocabularies:
            raise DataError(
                f"dataset {self.name!r} declares no {name!r} vocabulary (it has "
                f"{sorted(self.vocabularies) or 'none'})"
            )
        return self.vocabularies[name]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form (exact rates as numbers or ``"p/q"`` strings)."""

        def exact(value: Fraction | None) -> int | float | str | None:
            if value is None:
                return None
            as_json = seconds_to_json(value)
            return as_json if Fraction(as_json) == value else f"{value.numerator}/{value.denominator}"

        return {
            "name": self.name,
            "fps": exact(self.fps),
            "sample_rate": self.sample_rate,
            "frame_size": list(self.frame_size),
            "segment_seconds": exact(self.segment_seconds),
            "duration": exact(self.duration),
            "mask_size": None if self.mask_size is None else list(self.mask_size),
            "vocabularies": {k: list(v) for k, v in self.vocabularies.items()},
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetProfile:
        """Build from :meth:`to_dict` output; unknown or missing fields are errors."""
        if not isinstance(data, Mapping):
            raise DataError(f"a dataset profile must be a JSON object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown, missing = set(data) - names, {"name", "fps", "sample_rate", "frame_size"} - set(data)
        if unknown or missing:
            raise DataError(
                f"dataset profile: unknown field(s) {sorted(unknown)}, missing field(s) {sorted(missing)}; "
                f"valid fields are {sorted(names)}"
            )
        values = dict(data)
        for key in ("fps", "segment_seconds", "duration"):
            if isinstance(values.get(key), str):
                values[key] = Fraction(values[key])
        return cls(**values)


def read_profile(folder: str | os.PathLike[str]) -> DatasetProfile:
    """Read the profile a dataset folder declares (in ``croissant.json`` if prepared, else ``card.json``).

    Raises:
        InputFileError: the folder has neither card.
        DataError: the card declares no profile (written by an older avikit: prepare the dataset again).
    """
    base = Path(folder)
    for name, key in (("croissant.json", PROFILE_KEY), ("card.json", "profile")):
        path = base / name
        if path.is_file():
            card = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(card, dict) or card.get(key) is None:
                raise DataError(
                    f"{path} declares no dataset profile (geometry and vocabularies); it was written by an "
                    "older avikit: prepare (or make) the dataset again"
                )
            return DatasetProfile.from_dict(card[key])
    raise InputFileError(
        f"{base} has no croissant.json or card.json; give a folder from `avikit data prepare`"
    )


def sample_duration(sample: Sample, profile: DatasetProfile) -> Fraction:
    """A sample's length in seconds: its media window, else its ``duration`` target, else the profile's.

    Raises:
        DataError: if none of the three states it.

    Example:
        >>> from avikit.data.sample import MediaRef, Provenance
        >>> s = Sample("a", "demo", "test", MediaRef("a.mp4"), Provenance("demo", "CC0-1.0"), {"duration": 4})
        >>> sample_duration(s, DatasetProfile("demo", 8, 16000, 64))
        Fraction(4, 1)
    """
    if sample.media.duration is not None:
        return sample.media.duration
    if "duration" in sample.targets:
        return to_fraction(sample.targets["duration"])
    if profile.duration is not None:
        return profile.duration
    raise DataError(
        f"sample {sample.id!r} of {profile.name!r} states no duration (media.duration or a 'duration' "
        "target) and the dataset fixes none; prepare the dataset with its media present"
    )
