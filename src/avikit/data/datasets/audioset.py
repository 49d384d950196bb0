"""AudioSet segment lists (Gemmeke et al., ICASSP 2017; Google).

Official layout::

    ROOT/balanced_train_segments.csv     (also unbalanced_train_segments.csv, eval_segments.csv)
    ROOT/class_labels_indices.csv        index,mid,display_name (display names with commas are quoted)
    ROOT/<split>/<YTID>_<start>.{wav,flac,mp4}   media, if any (start in whole seconds; or audio/, video/)

A segment CSV starts with comment lines, then rows of ``YTID, start_seconds, end_seconds,
positive_labels`` separated by a comma *and a space*, the labels being a quoted comma-separated list of
machine ids::

    # Segments csv created Sun Mar  5 10:54:25 2017
    # num_ytids=20371, num_segs=20371, num_unique_labels=527, num_positive_labels=51804
    # YTID, start_seconds, end_seconds, positive_labels
    --PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"

The ``num_segs`` and ``num_unique_labels`` of the second comment line are checked. Splits:
``balanced_train``, ``unbalanced_train`` and ``eval`` (those whose file is present). Targets:
``labels`` (display names) and ``label_ids`` (machine ids), in file order.

Profile (the card's ``avikit:profile``): 10 s at 1 frame per second and 224 x 224 with 16 kHz audio
(CAV-MAE's evaluation: 10 frames over the clip); the classes are the display names of
``class_labels_indices.csv`` in index order.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from pathlib import Path
from typing import Any

from avikit.data.croissant import CardFile, DatasetInfo, build_croissant
from avikit.data.datasets._recipe import (
    check_header,
    find_file,
    find_media,
    media_dirs,
    media_ref,
    provenance,
    write_prepared,
)
from avikit.data.download import RemoteFile, download_files
from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.errors import DataError, InputFileError

__all__ = ["AUDIOSET_INFO", "card_audioset", "download_audioset", "prepare_audioset"]

log = logging.getLogger(__name__)

_BASE_URL = "http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv"
SPLITS = {
    "balanced_train": "balanced_train_segments.csv",
    "unbalanced_train": "unbalanced_train_segments.csv",
    "eval": "eval_segments.csv",
}
_COUNTS = re.compile(
    r"#\s*num_ytids=(\d+),\s*num_segs=(\d+),\s*num_unique_labels=(\d+),\s*num_positive_labels=(\d+)"
)
_COLUMNS = ["YTID", "start_seconds", "end_seconds", "positive_labels"]

AUDIOSET_INFO = DatasetInfo(
    name="audioset",
    title="AudioSet",
    description="About 2 million ten-second YouTube segments weakly labelled with 527 sound classes of the "
    "AudioSet ontology: balanced train (about 22k), unbalanced train (about 2M) and eval (about 20k) lists.",
    url="https://research.google.com/audioset/",
    licence="CC-BY-4.0",
    citation="@inproceedings{gemmeke2017audioset, title={Audio Set: An ontology and human-labeled dataset "
    "for "
    "audio events}, author={Gemmeke, Jort F. and Ellis, Daniel P. W. and Freedman, Dylan and Jansen, Aren "
    "and "
    "Lawrence, Wade and Moore, R. Channing and Plakal, Manoj and Ritter, Marvin}, booktitle={ICASSP}, "
    "year={2017}}",
    version="v1 segment CSVs",
    date_published="2017-03-05",
    non_commercial=False,
    research_only=False,
    media_source="YouTube videos; the CC BY 4.0 licence covers the labels, the videos stay under their "
    "uploaders' copyright",
    known_issues=(
        "Segment CSVs begin with '#' comment lines and separate fields by ', '; label lists are quoted.",
        "A large share of the videos has been taken down; every result must state its subset.",
        "Labels are weak (per 10 s segment) and of uneven quality per class.",
    ),
    files=tuple(
        CardFile(n, f"{_BASE_URL}/{n}", "text/csv") for n in [*SPLITS.values(), "class_labels_indices.csv"]
    ),
    media_globs={"media": "*/*.wav"},
    manual_steps="Fetch the segments from YouTube into ROOT/<split>/<YTID>_<start>.wav (or .flac, .mp4).",
)


def _read_classes(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    check_header(path, rows[0] if rows else [], ["index", "mid", "display_name"])
    return {mid: name for _, mid, name in rows[1:]}


def _read_segments(path: Path, classes: dict[str, str]) -> list[tuple[str, float, float, list[str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if line.strip() and not line.startswith("#")]
    declared = next((m for m in map(_COUNTS.match, comments) if m), None)
    if comments and comments[-1].lstrip("# ").split(", ") != _COLUMNS:
        raise DataError(
            f"{path}: last comment line must name the columns {', '.join(_COLUMNS)}; got {comments[-1]!r}"
        )
    rows = []
    for number, row in enumerate(csv.reader(body, skipinitialspace=True), start=len(comments) + 1):
        if len(row) != 4:
            raise DataError(f"{path}: data line {number}: expected 4 fields {_COLUMNS}, got {row}")
        mids = [m for m in row[3].split(",") if m]
        unknown = [m for m in mids if m not in classes]
        if unknown:
            raise DataError(
                f"{path}: data line {number}: label(s) {unknown} are not in class_labels_indices.csv"
            )
        rows.append((row[0], float(row[1]), float(row[2]), mids))
    if declared is not None:
        segs, labels = int(declared.group(2)), int(declared.group(3))
        if segs != len(rows) or labels != len({m for r in rows for m in r[3]}):
            raise DataError(
                f"{path}: header declares {segs} segments and {labels} labels, the rows hold "
                f"{len(rows)} and {len({m for r in rows for m in r[3]})}; the file is truncated or edited"
            )
    return rows


def prepare_audioset(root: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write avikit manifests of the AudioSet segment lists present under ``root``.

    Raises:
        FileNotFoundError: ``class_labels_indices.csv`` or every segment CSV is missing.
        ValueError: a file is not in the official format (or disagrees with its declared counts).
    """
    base = Path(root)
    classes_path = find_file(base, ["class_labels_indices.csv"], "AudioSet class_labels_indices.csv")
    classes = _read_classes(classes_path)
    present = {s: base / n for s, n in SPLITS.items() if (base / n).is_file()}
    if not present:
        raise InputFileError(f"no AudioSet segment CSV ({', '.join(SPLITS.values())}) under {base}")
    splits: dict[str, list[tuple[Sample, bool]]] = {}
    for split, path in present.items():
        folders = media_dirs(base, [split, "audio", "video"])
        rows = []
        for ytid, start, end, mids in _read_segments(path, classes):
            sample_id = f"{ytid}_{int(start)}"
            media = find_media(folders, [sample_id], (".wav", ".flac", ".mp4"))
            where = media or base / split / f"{sample_id}.wav"
            targets: dict[str, Any] = {"labels": [classes[m] for m in mids], "label_ids": mids}
            sample = Sample(
                sample_id,
                "audioset",
                split,
                media_ref(Path(out), where, 0, end - start),
                provenance(AUDIOSET_INFO, f"youtube:{ytid}@{start:g}"),
                targets,
            )
            rows.append((sample, media is not None))
        splits[split] = rows
    profile = DatasetProfile(
        "audioset",
        fps=1,
        sample_rate=16000,
        frame_size=224,
        duration=10,
        vocabularies={"classes": list(classes.values())},
        source="AudioSet as CAV-MAE evaluates it: 10 frames over 10 s at 224 x 224, 16 kHz audio; classes "
        "in class_labels_indices.csv order",
    )
    sources = [classes_path, *present.values()]
    return write_prepared(out, AUDIOSET_INFO, splits, sources, {"classes": len(classes)}, profile=profile)


def download_audioset(root: str | os.PathLike[str]) -> Path:
    """Download the segment CSVs and the class list into ``root``; media is manual.

    No checksums are published: the SHA-256 of each download is logged.
    """
    base = Path(root)
    download_files(base, [RemoteFile(f.url, f.name) for f in AUDIOSET_INFO.files])
    log.warning("AudioSet media is not directly downloadable. %s", AUDIOSET_INFO.manual_steps)
    return base


def card_audioset() -> dict[str, Any]:
    """Return the Croissant card of AudioSet."""
    return build_croissant(AUDIOSET_INFO, counts={"classes": 527})
