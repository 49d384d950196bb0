"""VGGSound: 10 s YouTube clips of 309 sound classes (Chen et al., ICASSP 2020; VGG, Oxford).

Official layout::

    ROOT/vggsound.csv       no header; YouTubeID,start_seconds,label,split (split: train or test);
                            labels with commas are quoted, e.g. "male speech, man speaking"
    ROOT/video/<YouTubeID>_<start:06d>.mp4    (or videos/, test/, train/; e.g. ---g-f_I2yQ_000001.mp4)

Protocols (``protocol=``), each writing the splits it evaluates on:

- ``classification``: train and test, targets ``labels`` ([label]), 10 s window.
- ``retrieval``: test only, targets ``retrieval`` ({text: label, group: label}) and ``labels``. Papers
  evaluate on their own test subsets: pass that id list as ``ids`` (a file of ``<YouTubeID>_<start:06d>``
  lines); without it the whole test split is written and a log line says so.
- ``v2a`` (video-to-audio generation, as av-benchmark): test only, 8 s window from the clip start,
  targets ``labels`` and ``caption`` (the label, the usual text condition).

Profile (the card's ``avikit:profile``): classification and retrieval decode 10 s at 1 frame per second
and 224 x 224 with 16 kHz audio (CAV-MAE's evaluation: 10 frames over the clip); ``v2a`` decodes 8 s at
25 fps and 224 x 224 with 16 kHz audio (the frame rate of the Synchformer sync score of av-benchmark). The
classes are the labels of ``vggsound.csv`` in sorted order (the 309 classes).
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path
from typing import Any

from avikit.data.croissant import CardFile, DatasetInfo, build_croissant
from avikit.data.datasets._recipe import (
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
from avikit.errors import DataError

__all__ = [
    "PROTOCOLS",
    "VGGSOUND_INFO",
    "card_vggsound",
    "download_vggsound",
    "prepare_vggsound",
    "vggsound_profile",
]

log = logging.getLogger(__name__)

PROTOCOLS = {"classification": ("train", "test"), "retrieval": ("test",), "v2a": ("test",)}
"""Protocol -> the splits it writes."""
_CSV_URL = "https://www.robots.ox.ac.uk/~vgg/data/vggsound/vggsound.csv"

VGGSOUND_INFO = DatasetInfo(
    name="vggsound",
    title="VGGSound",
    description="About 200,000 ten-second YouTube clips of 309 classes in which the sound source is "
    "visible; train and test splits (about 15,000 test clips).",
    url="https://www.robots.ox.ac.uk/~vgg/data/vggsound/",
    licence="CC-BY-4.0",
    citation="@inproceedings{chen2020vggsound, title={VGGSound: A Large-scale Audio-Visual Dataset}, "
    "author={Chen, Honglie and Xie, Weidi and Vedaldi, Andrea and Zisserman, Andrew}, booktitle={ICASSP}, "
    "year={2020}}",
    version="vggsound.csv",
    date_published="2020-05-04",
    non_commercial=False,
    research_only=False,
    media_source="YouTube videos; the CC BY 4.0 licence covers the annotations, the videos stay under their "
    "uploaders' copyright",
    known_issues=(
        "Many clips have been taken down; every result must state its subset (count and id hash).",
        "Retrieval and video-to-audio papers use their own test subsets and window lengths.",
    ),
    files=(CardFile("vggsound.csv", _CSV_URL, "text/csv"),),
    media_globs={"videos": "video/*.mp4"},
    manual_steps="Fetch the clips from YouTube (YouTubeID, start to start + 10 s) into "
    "ROOT/video/<YouTubeID>_<start:06d>.mp4.",
)


def _read_rows(path: Path) -> list[tuple[str, int, str, str]]:
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        for number, row in enumerate(csv.reader(f), start=1):
            if not row:
                continue
            if len(row) != 4:
                raise DataError(
                    f"{path}:{number}: expected 4 fields (YouTubeID,start_seconds,label,split), got {row}"
                )
            ytid, start, label, split = (c.strip() for c in row)
            if split not in ("train", "test") or not start.isdigit():
                raise DataError(
                    f"{path}:{number}: bad row {row}; split must be train or test and start whole seconds"
                )
            rows.append((ytid, int(start), label, split))
    return rows


def vggsound_profile(protocol: str, classes: list[str]) -> DatasetProfile:
    """The VGGSound profile of ``protocol`` over ``classes`` (sorted labels)."""
    generation = protocol == "v2a"
    return DatasetProfile(
        "vggsound",
        fps=25 if generation else 1,
        sample_rate=16000,
        frame_size=224,
        segment_seconds=1,
        duration=8 if generation else 10,
        vocabularies={"classes": classes},
        source="VGGSound: classification and retrieval as CAV-MAE evaluates them (10 frames over 10 s at "
        "224 x 224, 16 kHz audio); v2a as av-benchmark (8 s, 25 fps for the sync score, 16 kHz); "
        "classes are the sorted labels",
    )


def _targets(protocol: str, label: str) -> dict[str, Any]:
    targets: dict[str, Any] = {"labels": [label]}
    if protocol == "retrieval":
        targets["retrieval"] = {"text": label, "group": label}
    if protocol == "v2a":
        targets["caption"] = label
    return targets


def _subset(ids: str | os.PathLike[str] | None) -> set[str] | None:
    if ids is None:
        return None
    return {line.strip() for line in Path(ids).read_text(encoding="utf-8").splitlines() if line.strip()}


def prepare_vggsound(
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    protocol: str = "classification",
    ids: str | os.PathLike[str] | None = None,
) -> dict[str, Path]:
    """Write avikit manifests of VGGSound for one protocol (see the module docstring).

    Args:
        root: folder with ``vggsound.csv`` and the media folder.
        out: output folder.
        protocol: ``classification``, ``retrieval`` or ``v2a``.
        ids: optional file of sample ids (``<YouTubeID>_<start:06d>``) restricting the test split.

    Raises:
        ValueError: unknown protocol, a bad row, or ids that are not in the test split.
    """
    if protocol not in PROTOCOLS:
        raise DataError(f"unknown VGGSound protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    base = Path(root)
    path = find_file(base, ["vggsound.csv"], "vggsound.csv")
    wanted = _subset(ids)
    if protocol == "retrieval" and wanted is None:
        log.warning("VGGSound retrieval: no id list given; writing the whole test split (papers use subsets)")
    folders = media_dirs(base, ["video", "videos", "test", "train"])
    window = 8 if protocol == "v2a" else 10
    splits: dict[str, list[tuple[Sample, bool]]] = {s: [] for s in PROTOCOLS[protocol]}
    rows = _read_rows(path)
    for ytid, start, label, split in rows:
        sample_id = f"{ytid}_{start:06d}"
        if split not in splits or (wanted is not None and split == "test" and sample_id not in wanted):
            continue
        media = find_media(folders, [sample_id], (".mp4",))
        where = media or (folders[0] if folders else base / "video") / f"{sample_id}.mp4"
        sample = Sample(
            sample_id,
            "vggsound",
            split,
            media_ref(Path(out), where, 0, window),
            provenance(VGGSOUND_INFO, f"youtube:{ytid}@{start}"),
            _targets(protocol, label),
        )
        splits[split].append((sample, media is not None))
    if wanted is not None:
        unknown = wanted - {s.id for s, _ in splits["test"]}
        if unknown:
            raise DataError(
                f"{len(unknown)} id(s) of {ids} are not in the VGGSound test split, e.g. "
                f"{sorted(unknown)[:3]}"
            )
    options = {"protocol": protocol, "window_seconds": window, "ids": None if ids is None else str(ids)}
    profile = vggsound_profile(protocol, sorted({row[2] for row in rows}))
    return write_prepared(out, VGGSOUND_INFO, splits, [path], options, profile=profile)


def download_vggsound(root: str | os.PathLike[str]) -> Path:
    """Download ``vggsound.csv`` into ``root``; the clips are manual.

    No checksum is published: the SHA-256 of the download is logged.
    """
    base = Path(root)
    download_files(base, [RemoteFile(_CSV_URL, "vggsound.csv")])
    log.warning("VGGSound clips are not directly downloadable. %s", VGGSOUND_INFO.manual_steps)
    return base


def card_vggsound() -> dict[str, Any]:
    """Return the Croissant card of VGGSound."""
    return build_croissant(VGGSOUND_INFO)
