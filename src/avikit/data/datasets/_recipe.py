"""Pieces shared by the dataset recipes: finding official files, strict field checks, writing a prepared
folder."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from avikit.data.croissant import CardFile, DatasetInfo, build_croissant, write_croissant
from avikit.data.download import compute_file_hash
from avikit.data.manifest import atomic_writer, write_manifest
from avikit.data.prepared import PREPARED_FILE, subset_digest, validate_prepared
from avikit.data.profile import DatasetProfile
from avikit.data.sample import MediaRef, Provenance, Sample
from avikit.errors import DataError, InputFileError
from avikit.media import probe
from avikit.media.timeline import Seconds

log = logging.getLogger(__name__)

CARD_FILE = "croissant.json"
MEDIA_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".wav", ".flac")


def find_file(root: Path, candidates: Sequence[str], what: str) -> Path:
    """Return the first existing ``root/candidate``; raise FileNotFoundError naming all that were tried."""
    found = find_optional(root, candidates)
    if found is None:
        tried = ", ".join(str(root / c) for c in candidates)
        raise InputFileError(f"{what} not found; looked for {tried}. Point --root at the dataset's folder")
    return found


def find_optional(root: Path, candidates: Sequence[str]) -> Path | None:
    """Return the first existing ``root/candidate`` or ``None``."""
    for candidate in candidates:
        path = root / candidate
        if path.exists():
            return path
    return None


def media_dirs(root: Path, candidates: Sequence[str]) -> list[Path]:
    """Return the existing media folders among ``candidates`` (relative to ``root``)."""
    return [root / c for c in candidates if (root / c).is_dir()]


def find_media(
    folders: Sequence[Path], stems: Sequence[str], suffixes: Sequence[str] = MEDIA_SUFFIXES
) -> Path | None:
    """Return the first existing ``folder/stem+suffix``, or ``None`` when the media is missing."""
    for folder in folders:
        for stem in stems:
            for suffix in suffixes:
                path = folder / f"{stem}{suffix}"
                if path.is_file():
                    return path
    return None


def media_seconds(path: Path, whole: bool = False) -> Fraction:
    """The length of a media file in exact seconds (its audio's samples over its rate, else the container's).

    Args:
        path: an existing media file.
        whole: round down to whole seconds (for protocols that cut clips into whole 1 s segments).
    """
    info = probe(path)
    if info.audio is not None and info.audio.num_samples > 0:
        seconds = Fraction(info.audio.num_samples, info.audio.sample_rate)
    else:
        seconds = Fraction(info.duration).limit_denominator(10**6)
    return Fraction(math.floor(seconds)) if whole else seconds


def check_keys(where: str, data: Any, allowed: Iterable[str], required: Iterable[str] | None = None) -> None:
    """Raise ValueError on unknown or missing keys of a JSON object read from an official file."""
    allowed_set = set(allowed)
    if not isinstance(data, Mapping):
        raise DataError(f"{where}: expected a JSON object, got {type(data).__name__}")
    unknown = set(data) - allowed_set
    if unknown:
        raise DataError(
            f"{where}: unknown field(s) {sorted(unknown)}; this recipe knows {sorted(allowed_set)}. "
            "The file is not in the official format, or the format changed: update the recipe"
        )
    missing = set(allowed_set if required is None else required) - set(data)
    if missing:
        raise DataError(f"{where}: missing field(s) {sorted(missing)}")


def check_header(path: Path, header: Sequence[str], expected: Sequence[str]) -> None:
    """Raise ValueError if a CSV header is not exactly the official one."""
    if [h.strip() for h in header] != list(expected):
        raise DataError(
            f"{path}: header {list(header)} is not the official {list(expected)}; unknown or missing columns"
        )


def media_ref(out: Path, media: Path, start: Seconds = 0, duration: Seconds | None = None) -> MediaRef:
    """Return a reference to ``media`` relative to the output folder (where the manifest lives)."""
    return MediaRef(os.path.relpath(media.absolute(), out.absolute()), start, duration)


def provenance(info: DatasetInfo, source: str) -> Provenance:
    """Return the provenance of a sample: its source, the dataset's licence and its media flags."""
    consent = {"faces": info.faces, "voices": info.voices, "redistribution": info.redistribution}
    return Provenance(source=source, licence=info.licence, consent=consent)


def _split_entry(
    out: Path, split: str, rows: list[tuple[Sample, bool]], extra: Mapping[str, Any]
) -> dict[str, Any]:
    ids = [s.id for s, _ in rows]
    found = [s.id for s, ok in rows if ok]
    missing = [s.id for s, ok in rows if not ok]
    write_manifest(out / f"{split}.jsonl", [s for s, _ in rows])
    with atomic_writer(out / f"{split}.missing.txt") as f:
        f.write("".join(f"{i}\n" for i in missing))
    return {
        "manifest": f"{split}.jsonl",
        "missing_list": f"{split}.missing.txt",
        "samples": len(ids),
        "found": len(found),
        "missing": len(missing),
        "ids_sha256": subset_digest(ids),
        "found_ids_sha256": subset_digest(found),
        **extra,
    }


def _remove_stale(root: Path, splits: set[str]) -> None:
    """Remove the files of splits that an earlier run wrote and this one does not."""
    previous = root / PREPARED_FILE
    if not previous.is_file():
        return
    for split, entry in json.loads(previous.read_text(encoding="utf-8")).get("splits", {}).items():
        if split not in splits:
            for key in ("manifest", "missing_list"):
                (root / Path(entry[key]).name).unlink(missing_ok=True)


def write_prepared(
    out: str | os.PathLike[str],
    info: DatasetInfo,
    splits: Mapping[str, list[tuple[Sample, bool]]],
    sources: Sequence[Path],
    options: Mapping[str, Any],
    extra: Mapping[str, Mapping[str, Any]] | None = None,
    notes: Sequence[str] = (),
    *,
    profile: DatasetProfile,
) -> dict[str, Path]:
    """Write one manifest per split, the missing-media lists, ``prepared.json`` and ``croissant.json``.

    Each split records its subset: sample, found and missing counts and the SHA-256 of the sorted id
    lists (all ids, and the ids whose media was found). The written folder is validated before returning.

    Args:
        out: output folder.
        info: the dataset's card facts.
        splits: per split, ``(sample, media found)`` in official order.
        sources: the official files that were read (hashed into the record and the card).
        options: the recipe options that change the output (e.g. the annotation version).
        extra: per split, more counts to record (e.g. questions).
        notes: what the recipe noticed in the official files (dropped rows, duplicates).
        profile: the geometry and vocabularies the folder declares (in ``croissant.json``), which tasks read.
    """
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale(root, set(splits))
    entries = {
        split: _split_entry(root, split, rows, (extra or {}).get(split, {})) for split, rows in splits.items()
    }
    for split, entry in entries.items():
        log.info(
            "%s %s: %d samples, media found for %d, missing %d",
            info.name,
            split,
            entry["samples"],
            entry["found"],
            entry["missing"],
        )
    hashes = {p.name: compute_file_hash(p) for p in sources}
    record = {
        "format": "avikit-prepared",
        "version": 1,
        "dataset": info.name,
        "options": dict(options),
        "sources": hashes,
        "notes": list(notes),
        "splits": entries,
    }
    with atomic_writer(root / PREPARED_FILE) as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    files = [
        CardFile(
            e["manifest"], e["manifest"], "application/jsonlines", compute_file_hash(root / e["manifest"])
        )
        for e in entries.values()
    ]
    files += [CardFile(name, name, "text/plain", digest) for name, digest in hashes.items()]
    subsets = {
        s: {k: e[k] for k in ("samples", "found", "missing", "ids_sha256", "found_ids_sha256")}
        for s, e in entries.items()
    }
    counts = {s: e["samples"] for s, e in entries.items()}
    card = build_croissant(info, files, counts, subsets, profile.to_dict())
    write_croissant(root / CARD_FILE, card)
    report = validate_prepared(root)
    if not report.ok:
        raise DataError(f"prepared folder {root} failed its own checks: {'; '.join(report.problems[:5])}")
    return {split: root / e["manifest"] for split, e in entries.items()}
