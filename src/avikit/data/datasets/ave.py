"""AVE: Audio-Visual Event localization (Tian et al., ECCV 2018; YapengTian/AVE-ECCV18).

Official layout (the ``AVE_Dataset.zip`` release; the repository ships ``data/Annotations.txt`` alone)::

    ROOT/AVE_Dataset/Annotations.txt   Category&VideoID&Quality&StartTime&EndTime, one line per event
    ROOT/AVE_Dataset/trainSet.txt      the same format, one file per split (valSet.txt, testSet.txt)
    ROOT/AVE_Dataset/AVE/<VideoID>.mp4 the 10 s clips

``ROOT`` may also be the ``AVE_Dataset`` folder itself or the repository (``data/Annotations.txt``). An
optional first line ``Category&VideoID&Quality&StartTime&EndTime`` is the header. Without split files
every line goes to one split named ``all`` (a log line says so).

Targets (the AVSynth AVEL schema): ``duration`` (10), ``labels`` ([category]), ``events.audio_visual``
([{label, onset, offset}] in whole seconds) and ``avel``: the per-second label, ``"background"`` outside
the event.

Profile (the card's ``avikit:profile``, which tasks read): ten 1 s segments decoded at 16 fps and 224 x 224
(the paper's 16 frames per 1 s segment for VGG-19) with 16 kHz audio (VGGish); the classes are the categories
in the order they first occur in ``Annotations.txt`` (the official code does not state its class indices).

Quirks: one line has an empty event (``Church bell&VWi2ENBuTbw&good&0&0``): its per-second labels are all
background and it has no event; it is kept and noted. 45 video ids occur on 2 or 3 lines with different
categories (e.g. male and female speech on the
same clip). Such a sample's id is ``<VideoID>#<Category>``; the others keep ``<VideoID>``.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avikit.data.croissant import CardFile, DatasetInfo, build_croissant
from avikit.data.datasets._recipe import (
    find_file,
    find_media,
    find_optional,
    media_dirs,
    media_ref,
    provenance,
    write_prepared,
)
from avikit.data.download import RemoteFile, download_files
from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.data.text import read_text_lines
from avikit.errors import DataError

__all__ = ["AVE_INFO", "ave_profile", "card_ave", "download_ave", "prepare_ave"]

log = logging.getLogger(__name__)

_COMMIT = "93f843fed72fb17394df76330df958b0c2dbde76"
_ANNOTATIONS_SHA256 = "0d24a9ec5cd4ceb779ebd83d74e83ec8e55c5e468cede3f320fb57346c9dd321"
_HEADER = "Category&VideoID&Quality&StartTime&EndTime"
_SPLIT_FILES = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}
_DIRS = ("AVE_Dataset", ".", "data")
_SECONDS = 10
BACKGROUND = "background"

AVE_INFO = DatasetInfo(
    name="ave",
    title="AVE: Audio-Visual Event localization",
    description="4,143 ten-second YouTube clips (AudioSet-derived) of 28 event categories, each with one "
    "audio-visual event annotated in whole seconds; splits of 3,339 / 402 / 402 clips.",
    url="https://github.com/YapengTian/AVE-ECCV18",
    licence="NOASSERTION",
    citation="@inproceedings{tian2018ave, title={Audio-Visual Event Localization in Unconstrained Videos}, "
    "author={Tian, Yapeng and Shi, Jing and Li, Bochen and Duan, Zhiyao and Xu, Chenliang}, "
    "booktitle={ECCV}, year={2018}}",
    version=f"Annotations.txt @ {_COMMIT[:10]}",
    date_published="2018-09-08",
    known_issues=(
        "45 video ids are annotated on 2-3 lines with different categories; avikit ids those "
        "<VideoID>#<Category>.",
        "The HDF5 split orders of the official code differ from testSet.txt; a few test items hold 2 events "
        "(YapengTian/AVE-ECCV18#10).",
        "One line (Church bell, VWi2ENBuTbw) has start = end = 0: an empty event; all its seconds are "
        "background.",
        "The background class index (28) is not stated in the official repository.",
        "No licence is stated for the annotations; the videos are YouTube uploads.",
    ),
    files=(
        CardFile(
            "Annotations.txt",
            f"https://raw.githubusercontent.com/YapengTian/AVE-ECCV18/{_COMMIT}/data/Annotations.txt",
            "text/plain",
            _ANNOTATIONS_SHA256,
        ),
    ),
    media_globs={"videos": "AVE/*.mp4"},
    manual_steps="Download AVE_Dataset.zip (videos and trainSet/valSet/testSet.txt) from the Google Drive "
    "link in "
    "the README of github.com/YapengTian/AVE-ECCV18 and extract it under ROOT (ROOT/AVE_Dataset/...).",
)


@dataclass(frozen=True)
class _Line:
    category: str
    video_id: str
    quality: str
    start: int
    end: int


def _parse_line(path: Path, number: int, line: str) -> _Line:
    fields = line.split("&")
    if len(fields) != 5:
        raise DataError(
            f"{path}:{number}: expected 5 '&'-separated fields ({_HEADER}), got {len(fields)}: {line!r}"
        )
    category, video_id, quality, start, end = (f.strip() for f in fields)
    try:
        a, b = int(start), int(end)
    except ValueError as err:
        raise DataError(
            f"{path}:{number}: start and end must be whole seconds, got {start!r}, {end!r}"
        ) from err
    if not 0 <= a <= b <= _SECONDS or not category or not video_id:
        raise DataError(
            f"{path}:{number}: bad event {line!r}; need a category, an id and 0 <= start <= end <= 10"
        )
    return _Line(category, video_id, quality, a, b)


def _read_lines(path: Path) -> list[_Line]:
    rows = []
    for number, raw in enumerate(read_text_lines(path), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or (number == 1 and line.strip() == _HEADER):
            continue
        rows.append(_parse_line(path, number, line))
    return rows


def _targets(line: _Line) -> dict[str, Any]:
    avel = [line.category if line.start <= k < line.end else BACKGROUND for k in range(_SECONDS)]
    events = (
        [{"label": line.category, "onset": line.start, "offset": line.end}] if line.end > line.start else []
    )
    return {"duration": _SECONDS, "labels": [line.category], "events": {"audio_visual": events}, "avel": avel}


def _sample_ids(lines: list[_Line]) -> dict[tuple[str, str], str]:
    counts = Counter(line.video_id for line in lines)
    ids = {}
    for line in lines:
        key = (line.video_id, line.category)
        if key in ids:
            raise DataError(f"video {line.video_id} is annotated twice with {line.category!r}")
        ids[key] = line.video_id if counts[line.video_id] == 1 else f"{line.video_id}#{line.category}"
    return ids


def ave_profile(categories: list[str]) -> DatasetProfile:
    """The AVE profile over ``categories`` (in index order)."""
    return DatasetProfile(
        "ave",
        fps=16,
        sample_rate=16000,
        frame_size=224,
        segment_seconds=1,
        duration=_SECONDS,
        vocabularies={"classes": categories},
        source="AVE (Tian et al., ECCV 2018): ten 1 s segments, 16 frames per segment at 224 x 224 (VGG-19), "
        "16 kHz audio (VGGish); classes in first-seen order of Annotations.txt",
    )


def prepare_ave(root: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write avikit manifests of AVE from its official files under ``root`` to ``out``.

    Returns:
        ``{split: manifest path}``: ``train``/``val``/``test`` when the split files are present, else ``all``.

    Raises:
        FileNotFoundError: ``Annotations.txt`` is not under ``root``.
        DataError: a line is not in the official format, or the file is not UTF-8 text (the message names
            the file and line).
    """
    base = Path(root)
    annotations = find_file(base, [f"{d}/Annotations.txt" for d in _DIRS], "AVE Annotations.txt")
    all_lines = _read_lines(annotations)
    ids = _sample_ids(all_lines)
    split_paths = {s: find_optional(base, [f"{d}/{n}" for d in _DIRS]) for s, n in _SPLIT_FILES.items()}
    present = {s: p for s, p in split_paths.items() if p is not None}
    if not present:
        log.warning(
            "AVE: no trainSet/valSet/testSet.txt under %s; writing every annotation to split 'all'", base
        )
    split_lines = {s: _read_lines(p) for s, p in present.items()} if present else {"all": all_lines}
    folders = media_dirs(base, [f"{d}/AVE" for d in _DIRS])
    splits = {}
    for split, lines in split_lines.items():
        rows = []
        for line in lines:
            sample_id = ids.get((line.video_id, line.category))
            if sample_id is None:
                raise DataError(f"{split}: {line.video_id} ({line.category}) is not in {annotations}")
            media = find_media(folders, [line.video_id], (".mp4",))
            path = media or (folders[0] if folders else annotations.parent / "AVE") / f"{line.video_id}.mp4"
            sample = Sample(
                sample_id,
                "ave",
                split,
                media_ref(Path(out), path, 0, _SECONDS),
                provenance(AVE_INFO, f"youtube:{line.video_id}"),
                _targets(line),
            )
            rows.append((sample, media is not None))
        splits[split] = rows
    sources = [annotations, *present.values()]
    options = {"splits": "official split files" if present else "none found: all"}
    empty = [f"{line.category}&{line.video_id}" for line in all_lines if line.start == line.end]
    notes = (
        [f"{len(empty)} empty event(s) (start = end), all background: {', '.join(empty)}"] if empty else []
    )
    categories = list(dict.fromkeys(line.category for line in all_lines))
    return write_prepared(
        out, AVE_INFO, splits, sources, options, notes=notes, profile=ave_profile(categories)
    )


def download_ave(root: str | os.PathLike[str]) -> Path:
    """Download ``Annotations.txt`` (checked by SHA-256) into ``root/AVE_Dataset``; the rest is manual.

    The videos and split files are on Google Drive only: a log line says what to fetch by hand.
    """
    base = Path(root)
    download_files(
        base / "AVE_Dataset", [RemoteFile(AVE_INFO.files[0].url, "Annotations.txt", _ANNOTATIONS_SHA256)]
    )
    log.warning("AVE media is not directly downloadable. %s", AVE_INFO.manual_steps)
    return base


def card_ave() -> dict[str, Any]:
    """Return the Croissant card of AVE."""
    return build_croissant(
        AVE_INFO,
        counts={"samples": 4143, "videos": 4097, "train": 3339, "val": 402, "test": 402, "categories": 28},
    )
