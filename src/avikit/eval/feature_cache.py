"""A disk cache of embedder outputs keyed by (embedder, pinned preprocessing, file hash).

Generation metrics embed thousands of files with several embedders; the cache makes a second run, or a run
that adds one embedder, decode and embed only what is new. The key covers the embedder's name and version,
every preprocessing value (sample rate, duration, fps, ...) and the SHA-256 of the media file's bytes, so a
changed file or a changed protocol never reuses a stale feature.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> media = root / "a.wav"
    >>> _ = media.write_bytes(b"RIFF")
    >>> cache = FeatureCache(root / "cache")
    >>> out = cache.get_or_compute(media, "toy@1", {"sample_rate": 16000}, lambda: {"embedding": np.ones(3)})
    >>> cache.get(media, "toy@1", {"sample_rate": 16000})["embedding"].tolist()
    [1.0, 1.0, 1.0]
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.download import compute_file_hash
from avikit.errors import UsageError

__all__ = ["FeatureCache", "FileHashes", "feature_key", "file_sha256"]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    return compute_file_hash(path, "sha256")


class FileHashes:
    """SHA-256 of files, each hashed once per (resolved path, size, modification time).

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile() as f:
        ...     hashes = FileHashes()
        ...     hashes(f.name) == file_sha256(f.name) == hashes(f.name)
        True
    """

    def __init__(self) -> None:
        self._hashes: dict[tuple[str, int, int], str] = {}

    def __call__(self, path: str | os.PathLike[str]) -> str:
        """The file's SHA-256, hashed again only when its path, size or modification time changes."""
        stat = Path(path).stat()
        marker = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
        if marker not in self._hashes:
            self._hashes[marker] = file_sha256(path)
        return self._hashes[marker]


def feature_key(embedder: str, preprocessing: Mapping[str, Any], file_hash: str) -> str:
    """The cache key: SHA-256 of the embedder name, the preprocessing as canonical JSON, the file hash."""
    try:
        canonical = json.dumps(dict(preprocessing), sort_keys=True, separators=(",", ":"))
    except TypeError as error:
        raise UsageError(
            f"preprocessing must be JSON-serialisable (numbers, strings, lists): {error}"
        ) from error
    return hashlib.sha256(f"{embedder}\n{canonical}\n{file_hash}".encode()).hexdigest()


class FeatureCache:
    """Features on disk as ``<root>/<key[:2]>/<key>.npz``, written atomically."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._file_hash = FileHashes()

    def path_for(
        self, media: str | os.PathLike[str], embedder: str, preprocessing: Mapping[str, Any]
    ) -> Path:
        """Where the features of ``media`` under ``embedder`` and ``preprocessing`` are stored."""
        key = feature_key(embedder, preprocessing, self._file_hash(Path(media)))
        return self.root / key[:2] / f"{key}.npz"

    def get(
        self, media: str | os.PathLike[str], embedder: str, preprocessing: Mapping[str, Any]
    ) -> dict[str, np.ndarray] | None:
        """The cached features, or ``None`` on a miss."""
        path = self.path_for(media, embedder, preprocessing)
        if not path.exists():
            return None
        with np.load(path) as data:
            return {name: np.asarray(data[name]) for name in data.files}

    def put(
        self,
        media: str | os.PathLike[str],
        embedder: str,
        preprocessing: Mapping[str, Any],
        features: Mapping[str, np.ndarray],
    ) -> Path:
        """Store ``features`` (name to array) and return the file written."""
        path = self.path_for(media, embedder, preprocessing)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        arrays = {name: np.asarray(value) for name, value in features.items()}
        np.savez(partial, **arrays)  # type: ignore[arg-type]
        os.replace(partial, path)
        return path

    def get_or_compute(
        self,
        media: str | os.PathLike[str],
        embedder: str,
        preprocessing: Mapping[str, Any],
        compute: Callable[[], Mapping[str, np.ndarray]],
    ) -> dict[str, np.ndarray]:
        """Return cached features, or run ``compute()``, store and return its result."""
        cached = self.get(media, embedder, preprocessing)
        if cached is not None:
            return cached
        features = {name: np.asarray(value) for name, value in compute().items()}
        self.put(media, embedder, preprocessing, features)
        return features
