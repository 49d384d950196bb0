"""UnAV-100: dense audio-visual event localization in untrimmed videos.

Geng et al., CVPR 2023; ttgeng233/UnAV.

Official layout (``ROOT`` is ``data/unav100`` of the repository, or the repository itself)::

    ROOT/annotations/unav100_annotations.json
        {"database": {<video id>: {"subset": "train" | "validation" | "test", "duration": seconds,
                                   ["fps": ..., "resolution": ..., "url": ...,]
                                   "annotations": [{"segment": [start, end], "label": name,
                                                    "label_id": index}, ...]}}}
    ROOT/raw_videos/<video id>.mp4   (as the official scripts/video_download.py names them; or videos/)

Profile (the card's ``avikit:profile``): decoded at 25 fps and 224 x 224 with 16 kHz audio (the official
features: I3D over 24-frame windows of 25 fps video with a stride of 8 frames, VGGish audio), so a feature
step is 8 / 25 s; clip lengths vary (each sample states its ``duration``). The classes are ordered by their
``label_id``, as the official loader's label dictionary maps them.

Unknown fields are errors. Targets (the AVSynth schema): ``duration`` (seconds), ``labels`` (sorted
classes) and ``events.audio_visual``: [{label, label_id, onset, offset}] in seconds, in file order (the
official evaluation removes duplicate events itself, so they are kept).
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

from avikit.data.croissant import DatasetInfo, build_croissant
from avikit.data.datasets._recipe import (
    check_keys,
    find_file,
    find_media,
    media_dirs,
    media_ref,
    provenance,
    write_prepared,
)
from avikit.data.download import ManualDownloadError
from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.errors import DataError

__all__ = ["UNAV100_INFO", "card_unav100", "download_unav100", "prepare_unav100", "unav100_profile"]

_SUBSETS = {"train": "train", "validation": "val", "test": "test"}
_VIDEO_KEYS = {"subset", "duration", "fps", "resolution", "url", "annotations"}
_EVENT_KEYS = {"segment", "label", "label_id"}
_DIRS = (".", "data/unav100")

UNAV100_INFO = DatasetInfo(
    name="unav100",
    title="UnAV-100: untrimmed audio-visual events",
    description="10,790 untrimmed YouTube videos (126 h) with 30,059 audio-visual events of 100 classes, "
    "annotated with start and end times; splits train / validation / test.",
    url="https://unav100.github.io/",
    licence="NOASSERTION",
    citation="@inproceedings{geng2023dense, title={Dense-Localizing Audio-Visual Events in Untrimmed Videos: "
    "A Large-Scale Benchmark and Baseline}, author={Geng, Tiantian and Wang, Teng and Duan, Jinming and "
    "Cong, Runmin and Zheng, Feng}, booktitle={CVPR}, year={2023}}",
    version="unav100_annotations.json (release of github.com/ttgeng233/UnAV @ 1609deba4f)",
    date_published="2023-06-18",
    known_issues=(
        "The official evaluation uses np.float and fails on NumPy >= 1.24; avikit's metric is a float64 "
        "port.",
        "Duplicate events (same label, start and end within 1 ms) are removed by the official evaluation.",
        "No licence is stated for the annotations (the code is MIT); the videos are YouTube uploads.",
    ),
    media_globs={"videos": "raw_videos/*.mp4"},
    manual_steps="Download annotations/unav100_annotations.json from the project page (unav100.github.io: "
    "Hugging Face ttgeng233/UnAV-100, Google Drive or Baidu) and fetch the videos from YouTube with "
    "scripts/video_download.py of github.com/ttgeng233/UnAV into ROOT/raw_videos/.",
)


def _events(path: Path, video_id: str, rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise DataError(f"{path}: {video_id}: 'annotations' must be a list")
    out = []
    for k, row in enumerate(rows):
        check_keys(f"{path}: {video_id} event {k}", row, _EVENT_KEYS)
        start, end = (float(x) for x in row["segment"])
        if not 0 <= start <= end:
            raise DataError(f"{path}: {video_id} event {k} has a bad segment {row['segment']}")
        out.append({"label": row["label"], "label_id": int(row["label_id"]), "onset": start, "offset": end})
    return out


def _targets(path: Path, video_id: str, entry: Any) -> tuple[str, dict[str, Any]]:
    check_keys(f"{path}: {video_id}", entry, _VIDEO_KEYS, {"subset", "duration", "annotations"})
    split = _SUBSETS.get(str(entry["subset"]).lower())
    if split is None:
        raise DataError(
            f"{path}: {video_id} has subset {entry['subset']!r}; expected one of {', '.join(_SUBSETS)}"
        )
    events = _events(path, video_id, entry["annotations"])
    targets = {
        "duration": float(entry["duration"]),
        "labels": sorted({e["label"] for e in events}),
        "events": {"audio_visual": events},
    }
    return split, targets


def unav100_profile(classes: list[str]) -> DatasetProfile:
    """The UnAV-100 profile over ``classes`` (in ``label_id`` order)."""
    return DatasetProfile(
        "unav100",
        fps=25,
        sample_rate=16000,
        frame_size=224,
        segment_seconds=Fraction(8, 25),
        vocabularies={"classes": classes},
        source="UnAV-100 (Geng et al., CVPR 2023): 25 fps (default_fps) at 224 x 224 for I3D over 24-frame "
        "windows with stride 8, 16 kHz audio (VGGish); classes by label_id",
    )


def _classes(path: Path, splits: dict[str, list[tuple[Sample, bool]]]) -> list[str]:
    ids: dict[str, int] = {}
    for rows in splits.values():
        for sample, _ in rows:
            for event in sample.targets["events"]["audio_visual"]:
                if ids.setdefault(event["label"], event["label_id"]) != event["label_id"]:
                    raise DataError(f"{path}: class {event['label']!r} has two label_ids")
    return sorted(ids, key=lambda label: ids[label])


def prepare_unav100(root: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write avikit manifests (train, val, test) of UnAV-100 from its annotation JSON under ``root``.

    Raises:
        FileNotFoundError: the annotation file is not under ``root``.
        ValueError: the file is not in the official format.
    """
    base = Path(root)
    path = find_file(
        base, [f"{d}/annotations/unav100_annotations.json" for d in _DIRS], "UnAV-100 annotations"
    )
    data = json.loads(path.read_text(encoding="utf-8"))
    check_keys(str(path), data, {"database"}, {"database"})
    folders = media_dirs(base, [f"{d}/{v}" for d in _DIRS for v in ("raw_videos", "videos")])
    splits: dict[str, list[tuple[Sample, bool]]] = {s: [] for s in _SUBSETS.values()}
    for video_id, entry in data["database"].items():
        split, targets = _targets(path, video_id, entry)
        media = find_media(folders, [video_id], (".mp4",))
        where = media or (folders[0] if folders else base / "raw_videos") / f"{video_id}.mp4"
        sample = Sample(
            video_id,
            "unav100",
            split,
            media_ref(Path(out), where),
            provenance(UNAV100_INFO, f"youtube:{video_id}"),
            targets,
        )
        splits[split].append((sample, media is not None))
    splits = {s: rows for s, rows in splits.items() if rows}
    extra = {
        s: {"events": sum(len(x.targets["events"]["audio_visual"]) for x, _ in rows)}
        for s, rows in splits.items()
    }
    profile = unav100_profile(_classes(path, splits))
    return write_prepared(out, UNAV100_INFO, splits, [path], {}, extra, profile=profile)


def download_unav100(root: str | os.PathLike[str]) -> Path:
    """UnAV-100 has no pinned direct download: raise :class:`ManualDownloadError` saying what to fetch."""
    raise ManualDownloadError(f"UnAV-100 must be fetched by hand into {root}: {UNAV100_INFO.manual_steps}")


def card_unav100() -> dict[str, Any]:
    """Return the Croissant card of UnAV-100."""
    return build_croissant(UNAV100_INFO, counts={"videos": 10790, "events": 30059, "classes": 100})
