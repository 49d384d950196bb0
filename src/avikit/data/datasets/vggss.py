"""VGG-SS: VGG-Sound Source, sound source localization boxes.

Chen et al., CVPR 2021; hche11/Localizing-Visual-Sounds-the-Hard-Way.

Official layout (the repository's ``metadata/`` and the test data as its README lays it out)::

    ROOT/metadata/vggss.json      [{"file": "<YouTubeID>_<start:06d>", "class": name,
                                    "bbox": [[x1, y1, x2, y2], ...]}, ...]  (coordinates in [0, 1])
    ROOT/metadata/vggss_test.csv  one file id per line (CRLF line ends): the test list
    ROOT/frames/<file>.jpg        the annotated frame
    ROOT/audio/<file>.wav         the audio

Unknown fields are errors. The sample's media is the audio; targets hold ``labels`` ([class]),
``boxes`` (as published, unclipped), ``box_format`` (``"xyxy_unit"``), ``ground_truth``
(``"union"``: the boxes' union is the map) and ``frame`` (path relative to the manifest).

Profile (the card's ``avikit:profile``): the frame read at 224 x 224 (the LVS test transform resizes and
centre-crops to 224), the ground-truth map at 224 x 224, audio at 16 kHz; the sample's length is its audio's
(read from the file when present; the VGGSound clips last 10 s). Classes: the sorted class names.

Quirk: 12 entries hold a coordinate of about -2.9e16 (a corrupt value); the official evaluations clip
coordinates (LVS at 0, EZ-VSL to [0, 1]). The boxes are written unclipped and counted in the notes.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from avikit.data.croissant import CardFile, DatasetInfo, build_croissant
from avikit.data.datasets._recipe import (
    check_keys,
    find_file,
    media_ref,
    media_seconds,
    provenance,
    write_prepared,
)
from avikit.data.download import RemoteFile, download_files
from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.errors import DataError

__all__ = [
    "LVS_COMMIT",
    "VGGSS_INFO",
    "card_vggss",
    "download_vggss",
    "prepare_vggss",
    "still_frame_profile",
]

log = logging.getLogger(__name__)

LVS_COMMIT = "8fe8cbbf810e804cf8cc9b244bb5d77ec8aa8315"
_RAW = f"https://raw.githubusercontent.com/hche11/Localizing-Visual-Sounds-the-Hard-Way/{LVS_COMMIT}/metadata"
_SHA256 = {
    "vggss.json": "ae300b4a259267e6fe839970d495862edd70bfe3da63d925bcdb34054ed3b15e",
    "vggss_test.csv": "971081929d45caf21a148a6ca968822d96e8316331d0cc0bafb1783acb4d2c35",
}
LVS_CITATION = (
    "@inproceedings{chen2021localizing, title={Localizing Visual Sounds the Hard Way}, author={Chen, Honglie "
    "and Xie, Weidi and Afouras, Triantafyllos and Nagrani, Arsha and Vedaldi, Andrea and Zisserman, "
    "Andrew}, "
    "booktitle={CVPR}, year={2021}}"
)

VGGSS_INFO = DatasetInfo(
    name="vggss",
    title="VGG-SS: VGG-Sound Source",
    description="5,158 VGGSound test clips of 221 classes with bounding boxes of the sounding objects on "
    "one frame, for sound source localization (cIoU, AUC).",
    url="https://github.com/hche11/Localizing-Visual-Sounds-the-Hard-Way",
    licence="Apache-2.0",
    citation=LVS_CITATION,
    version=f"metadata/vggss.json @ {LVS_COMMIT[:10]}",
    date_published="2021-06-19",
    non_commercial=False,
    research_only=False,
    media_source="VGGSound YouTube clips; the Apache-2.0 licence covers the repository's metadata, the media "
    "stays under its uploaders' copyright",
    known_issues=(
        "12 entries hold a corrupt coordinate (about -2.9e16); LVS clips at 0, EZ-VSL clips to [0, 1].",
        "Some boxes were updated after publication; results differ by 2-3 % cIoU from the paper's.",
    ),
    files=tuple(
        CardFile(n, f"{_RAW}/{n}", "application/json" if n.endswith("json") else "text/csv", h)
        for n, h in _SHA256.items()
    ),
    media_globs={"frames": "frames/*.jpg", "audio": "audio/*.wav"},
    manual_steps="Fetch the VGGSound test clips from YouTube, then save one frame (frames/<file>.jpg) and "
    "the "
    "audio (audio/<file>.wav) per file id under ROOT, as the README of the LVS repository lays out.",
)


def _read_boxes(path: Path) -> tuple[dict[str, dict[str, Any]], int]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list):
        raise DataError(f"{path}: expected a JSON list")
    out, corrupt = {}, 0
    for k, row in enumerate(rows):
        check_keys(f"{path}: entry {k}", row, {"file", "class", "bbox"})
        boxes = [[float(v) for v in box] for box in row["bbox"]]
        if not boxes or any(len(b) != 4 for b in boxes):
            raise DataError(
                f"{path}: entry {k} ({row['file']}) needs boxes of 4 coordinates, got {row['bbox']}"
            )
        corrupt += any(not -1 <= v <= 2 for b in boxes for v in b)
        out[row["file"]] = {"labels": [row["class"]], "boxes": boxes}
    return out, corrupt


def still_frame_profile(name: str, classes: list[str] | None, duration: int | None) -> DatasetProfile:
    """The profile of a still-frame source localization set (VGG-SS, Flickr-SoundNet)."""
    return DatasetProfile(
        name,
        fps=1,
        sample_rate=16000,
        frame_size=224,
        duration=duration,
        mask_size=224,
        vocabularies={} if classes is None else {"classes": classes},
        source="LVS / EZ-VSL evaluation: one frame resized and centre-cropped to 224 x 224, the ground-truth "
        "map at 224 x 224; audio at 16 kHz",
    )


def prepare_vggss(root: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the avikit manifest (split ``test``) of VGG-SS from its metadata and test data under ``root``.

    Raises:
        FileNotFoundError: a metadata file is missing.
        ValueError: a file is not in the official format, or the test list names an unannotated file.
    """
    base = Path(root)
    boxes_path = find_file(base, ["metadata/vggss.json", "vggss.json"], "VGG-SS vggss.json")
    test_path = find_file(base, ["metadata/vggss_test.csv", "vggss_test.csv"], "VGG-SS vggss_test.csv")
    boxes, corrupt = _read_boxes(boxes_path)
    rows = []
    for line in test_path.read_text(encoding="utf-8").splitlines():
        file_id = line.split(",")[0].strip()
        if not file_id:
            continue
        if file_id not in boxes:
            raise DataError(f"{test_path}: {file_id} has no boxes in {boxes_path}")
        frame, audio = base / "frames" / f"{file_id}.jpg", base / "audio" / f"{file_id}.wav"
        targets = {
            **boxes[file_id],
            "box_format": "xyxy_unit",
            "ground_truth": "union",
            "frame": os.path.relpath(frame.absolute(), Path(out).absolute()),
        }
        found = frame.is_file() and audio.is_file()
        sample = Sample(
            file_id,
            "vggss",
            "test",
            media_ref(Path(out), audio, 0, media_seconds(audio) if found else None),
            provenance(VGGSS_INFO, f"youtube:{file_id[:11]}@{int(file_id[12:] or 0)}"),
            targets,
        )
        rows.append((sample, found))
    notes = [f"{corrupt} entr(ies) with a corrupt box coordinate, written unclipped"] if corrupt else []
    classes = sorted({row["labels"][0] for row in boxes.values()})
    profile = still_frame_profile("vggss", classes, 10)
    return write_prepared(
        out, VGGSS_INFO, {"test": rows}, [boxes_path, test_path], {}, notes=notes, profile=profile
    )


def download_vggss(root: str | os.PathLike[str]) -> Path:
    """Download the metadata (checked by SHA-256) into ``root/metadata``; frames and audio are manual."""
    base = Path(root)
    download_files(base / "metadata", [RemoteFile(f.url, f.name, f.sha256) for f in VGGSS_INFO.files])
    log.warning("VGG-SS frames and audio are not directly downloadable. %s", VGGSS_INFO.manual_steps)
    return base


def card_vggss() -> dict[str, Any]:
    """Return the Croissant card of VGG-SS."""
    return build_croissant(VGGSS_INFO, counts={"test": 5158})
