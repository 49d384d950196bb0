"""Typed errors shared by every layer.

Every error avikit raises on bad input derives from :class:`AvikitError`, and its message names the
offending file or value and says what to do about it.
"""

from __future__ import annotations

__all__ = [
    "AvikitError",
    "CorruptMediaError",
    "DataError",
    "InputFileError",
    "MediaError",
    "MediaNotFoundError",
    "MissingDependencyError",
    "MissingStreamError",
    "UnknownNameError",
    "UnsupportedCodecError",
    "UsageError",
    "WindowError",
    "WorkerError",
]


class AvikitError(Exception):
    """Base class of every error raised by avikit."""


class UsageError(AvikitError, ValueError):
    """An argument or option is wrong (an unknown value, out of range, a bad combination): the CLI exits 2."""


class UnknownNameError(UsageError, KeyError):
    """A name (task, model, split, condition, recipe, ...) is not in its registry; the message lists them."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


class InputFileError(UsageError, FileNotFoundError):
    """A file or folder named by an argument does not exist: the CLI exits 2."""


class MissingDependencyError(UsageError):
    """A program or package that this feature needs is not installed; the message says what to install."""


class WorkerError(AvikitError, RuntimeError):
    """A model's worker process failed: it exited, timed out, spoke another protocol or answered malformed."""


class DataError(AvikitError, ValueError):
    """A file's content is wrong (malformed annotation, schema mismatch, stale records): the CLI exits 1."""


class MediaError(AvikitError):
    """A media file could not be read or written as asked."""


class MediaNotFoundError(MediaError, FileNotFoundError):
    """The media file does not exist."""


class CorruptMediaError(MediaError):
    """The file exists but is not a decodable media file (corrupt, truncated, or not media at all)."""


class UnsupportedCodecError(MediaError):
    """The file uses a codec that the bundled FFmpeg cannot decode or encode."""


class WindowError(MediaError, ValueError):
    """A requested time window lies (partly) outside the file or is malformed."""


class MissingStreamError(MediaError, LookupError):
    """A stream (audio or video) was requested from a clip or file that does not have it."""
