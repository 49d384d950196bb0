"""The ``Sample`` record: a reference to media, its provenance and the task targets.

A sample never holds decoded arrays. It points at media (a file plus a time window), says where the
media came from and under which licence, and carries the targets of every task as a plain JSON-able
mapping. The decoded :class:`~avikit.media.AVClip` is made from it on demand.

Example:
    >>> s = Sample(
    ...     id="test_000001",
    ...     dataset="avsynth",
    ...     split="test",
    ...     media=MediaRef("clips/test_000001.mp4", start=0, duration=10),
    ...     provenance=Provenance(source="avsynth", licence="CC0-1.0"),
    ...     targets={"labels": ["bell"]},
    ... )
    >>> Sample.from_dict(s.to_dict()) == s
    True
    >>> s.media.end
    Fraction(10, 1)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from avikit.errors import DataError
from avikit.media.timeline import Seconds, to_fraction

__all__ = ["MediaRef", "Provenance", "Sample", "seconds_to_json"]

_SAMPLE_KEYS = {"id", "dataset", "split", "media", "provenance", "targets"}
_MEDIA_KEYS = {"path", "start", "duration"}
_PROVENANCE_KEYS = {"source", "licence", "consent", "generator"}


def seconds_to_json(value: Fraction) -> int | float:
    """Write exact seconds as a JSON number: an int when whole, else the nearest float.

    Reading the float back through :func:`avikit.media.timeline.to_fraction` restores the fraction for any
    denominator up to 10^7, so no sample is lost.

    Example:
        >>> seconds_to_json(Fraction(5, 2)), seconds_to_json(Fraction(10))
        (2.5, 10)
    """
    return int(value) if value.denominator == 1 else float(value)


def _check_keys(kind: str, data: Mapping[str, Any], allowed: set[str], required: set[str]) -> None:
    if not isinstance(data, Mapping):
        raise TypeError(f"a {kind} must be a JSON object, got {type(data).__name__}")
    unknown = set(data) - allowed
    if unknown:
        raise DataError(f"unknown {kind} field(s) {sorted(unknown)}; valid fields are {sorted(allowed)}")
    missing = required - set(data)
    if missing:
        raise DataError(f"{kind} is missing required field(s) {sorted(missing)}")


def _freeze(value: Any) -> Any:
    """Return a read-only deep copy of a JSON-able value (mappings become read-only, lists tuples)."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(
        f"targets must be JSON-able (dict, list, str, number, bool, None), got {type(value).__name__}"
    )


def _thaw(value: Any) -> Any:
    """Return a plain ``dict``/``list`` copy of a value made by :func:`_freeze`."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class MediaRef:
    """A reference to a window of a media file.

    Attributes:
        path: file path (relative to the manifest's folder) or a generator URI such as ``avsynth:test/3``.
        start: start of the window in seconds, exact.
        duration: length of the window in seconds, exact (``None``: to the end of the file).
    """

    path: str
    start: Fraction = Fraction(0)
    duration: Fraction | None = None

    def __init__(self, path: str, start: Seconds = 0, duration: Seconds | None = None) -> None:
        if not isinstance(path, str) or not path:
            raise DataError(f"a media path must be a non-empty string, got {path!r}")
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "start", to_fraction(start))
        object.__setattr__(self, "duration", None if duration is None else to_fraction(duration))
        if self.start < 0 or (self.duration is not None and self.duration <= 0):
            raise DataError(f"media window needs start >= 0 and duration > 0, got {start!r}, {duration!r}")

    @property
    def end(self) -> Fraction | None:
        """End of the window in seconds, or ``None`` when it runs to the end of the file."""
        return None if self.duration is None else self.start + self.duration

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form."""
        duration = None if self.duration is None else seconds_to_json(self.duration)
        return {"path": self.path, "start": seconds_to_json(self.start), "duration": duration}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaRef:
        """Build from :meth:`to_dict` output; unknown fields are errors."""
        _check_keys("media reference", data, _MEDIA_KEYS, {"path"})
        return cls(data["path"], data.get("start", 0), data.get("duration"))


@dataclass(frozen=True)
class Provenance:
    """Where a sample's media came from and what may be done with it.

    Attributes:
        source: the origin (a dataset name, a URL or a generator name).
        licence: an SPDX identifier or the dataset's own licence name.
        consent: flags such as ``{"faces": False, "voices": False, "redistribution": True}``.
        generator: for generated media, what regenerates it bit for bit (name, version, seed, ...).
    """

    source: str
    licence: str
    consent: Mapping[str, bool] = field(default_factory=dict)
    generator: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        for key, flag in self.consent.items():
            if not isinstance(flag, bool):
                raise TypeError(f"consent flag {key!r} must be a bool, got {flag!r}")
        object.__setattr__(self, "consent", _freeze(self.consent))
        if self.generator is not None:
            object.__setattr__(self, "generator", _freeze(self.generator))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form."""
        gen = None if self.generator is None else _thaw(self.generator)
        return {
            "source": self.source,
            "licence": self.licence,
            "consent": _thaw(self.consent),
            "generator": gen,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        """Build from :meth:`to_dict` output; unknown fields are errors."""
        _check_keys("provenance", data, _PROVENANCE_KEYS, {"source", "licence"})
        return cls(data["source"], data["licence"], data.get("consent") or {}, data.get("generator"))


@dataclass(frozen=True)
class Sample:
    """One example of a dataset: media reference, provenance and targets (a record, never arrays).

    Attributes:
        id: unique id within the dataset.
        dataset: dataset name, e.g. ``"avsynth"`` or ``"ave"``.
        split: split name, e.g. ``"train"`` or ``"test"``.
        media: the media file and time window.
        provenance: origin, licence and consent flags.
        targets: the targets of every task, a read-only JSON-able mapping.
    """

    id: str
    dataset: str
    split: str
    media: MediaRef
    provenance: Provenance
    targets: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("id", "dataset", "split"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise DataError(f"Sample.{name} must be a non-empty string, got {value!r}")
        object.__setattr__(self, "targets", _freeze(self.targets))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form (one manifest line)."""
        return {
            "id": self.id,
            "dataset": self.dataset,
            "split": self.split,
            "media": self.media.to_dict(),
            "provenance": self.provenance.to_dict(),
            "targets": _thaw(self.targets),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sample:
        """Build from :meth:`to_dict` output; unknown or missing fields are errors."""
        _check_keys("sample", data, _SAMPLE_KEYS, _SAMPLE_KEYS - {"targets"})
        return cls(
            id=data["id"],
            dataset=data["dataset"],
            split=data["split"],
            media=MediaRef.from_dict(data["media"]),
            provenance=Provenance.from_dict(data["provenance"]),
            targets=data.get("targets") or {},
        )

    def to_json(self) -> str:
        """Return the sample as one line of JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=False)

    def target(self, name: str) -> Any:
        """Return the target ``name`` as plain dicts and lists.

        Raises:
            KeyError: if the sample has no such target; the message lists those it has.
        """
        if name not in self.targets:
            raise KeyError(f"sample {self.id!r} has no target {name!r}; it has {sorted(self.targets)}")
        return _thaw(self.targets[name])
