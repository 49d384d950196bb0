"""AVSBench: audio-visual segmentation, S4, MS3 and AVSS.

Zhou et al., ECCV 2022 / IJCV 2024; OpenNLPLab/AVSBench.

Official layouts (``ROOT`` is ``avsbench_data``)::

    S4   ROOT/Single-source/s4_meta_data.csv       name,start_time,category,split
         ROOT/Single-source/s4_data/visual_frames/<split>/<category>/<name>/<name>_<i>.png   i = 1..5
         ROOT/Single-source/s4_data/gt_masks/<split>/<category>/<name>/<name>_<i>.png  (train: i = 1 only)
         ROOT/Single-source/s4_data/audio_wav/<split>/<category>/<name>.wav
    MS3  ROOT/Multi-sources/ms3_meta_data.csv      video_id,split
         ROOT/Multi-sources/ms3_data/visual_frames/<name>/<name>.mp4_<i>.png
         ROOT/Multi-sources/ms3_data/gt_masks/<split>/<name>/<name>_<i>.png
         ROOT/Multi-sources/ms3_data/audio_wav/<split>/<name>.wav
    AVSS ROOT/avss/metadata.csv                    vid,uid,s_min,s_sec,a_obj,split,label
         ROOT/avss/label2idx.json
         ROOT/avss/<label>/<uid>/frames/<i>.jpg, labels_rgb/<i>.png, audio.wav   (v1s, v1m: 5 frames; v2: 10)

For AVSS ``ROOT`` may also be the released folder itself (``metadata.csv`` at its top). Columns must be
exactly the official ones. The sample's media is the audio file; its targets hold the frame and mask
paths (relative to the manifest, like the media path), the annotated frame numbers and the class
(S4), the sounding objects (AVSS ``a_obj``) and the subset (AVSS ``label``: v1s, v1m or v2).

Profile (the card's ``avikit:profile``): the frames are one image per second (so 1 frame per second), read at
224 x 224 as the official test loaders do (S4 and MS3 frames are released at that size; AVSS resizes frames
bilinearly and masks by nearest neighbour to 224), masks at 224 x 224, audio at 16 kHz (VGGish); 5 s clips
(AVSS v2: 10 s, each sample states its own). Classes: S4 the categories of the metadata in sorted order, MS3
none (binary masks), AVSS ``label2idx.json`` in index order without the background (index 0).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.croissant import DatasetInfo, build_croissant
from avikit.data.datasets._recipe import check_header, find_file, media_ref, provenance, write_prepared
from avikit.data.download import ManualDownloadError
from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.errors import DataError

__all__ = [
    "AVSBENCH_INFO",
    "VARIANTS",
    "avsbench_frame_indices",
    "avsbench_profile",
    "avss_palette",
    "card_avsbench",
    "download_avsbench",
    "prepare_avsbench",
]

VARIANTS = ("s4", "ms3", "avss")
_HEADERS = {
    "s4": ["name", "start_time", "category", "split"],
    "ms3": ["video_id", "split"],
    "avss": ["vid", "uid", "s_min", "s_sec", "a_obj", "split", "label"],
}
_AVSS_FRAMES = {"v1s": 5, "v1m": 5, "v2": 10}

AVSBENCH_INFO = DatasetInfo(
    name="avsbench",
    title="AVSBench: audio-visual segmentation (S4, MS3, AVSS)",
    description="Pixel masks of sounding objects in YouTube clips: S4 (4,932 single-source 5 s clips, 23 "
    "classes), MS3 (424 multi-source clips) and AVSBench-semantic (AVSS, 71 classes incl. background, 5 s "
    "v1 clips and 10 s v2 clips), one annotated frame per second.",
    url="https://github.com/OpenNLPLab/AVSBench",
    licence="NOASSERTION",
    citation="@inproceedings{zhou2022avs, title={Audio-Visual Segmentation}, author={Zhou, Jinxing and Wang, "
    "Jianyuan and Zhang, Jiayi and Sun, Weixuan and Zhang, Jing and Birchfield, Stan and Guo, Dan and Kong, "
    "Lingpeng and Wang, Meng and Zhong, Yiran}, booktitle={ECCV}, year={2022}}",
    version="AVSBench-object and AVSBench-semantic releases (code @ f7414aff6a)",
    date_published="2022-10-23",
    known_issues=(
        "S4 training clips annotate only the first frame; test clips annotate all 5.",
        "The official F-score depends on batch size and order (test.sh uses batch 4).",
        "AVSS pads v1 clips to 10 frames with black frames and background labels, and its miou_noBg drops "
        "the last class although background is index 0 (AVSBench#23).",
        "The data is given on request under the authors' terms; the code is Apache-2.0, the data has no "
        "SPDX licence.",
    ),
    media_globs={
        "s4_audio": "Single-source/s4_data/audio_wav/*/*/*.wav",
        "ms3_audio": "Multi-sources/ms3_data/audio_wav/*/*.wav",
        "s4_masks": "Single-source/s4_data/gt_masks/*/*/*/*.png",
    },
    manual_steps="Request AVSBench-object and AVSBench-semantic through the forms linked from "
    "github.com/OpenNLPLab/AVSBench (avsbench_data/readme.md) and extract them under ROOT as in the README.",
)


def avsbench_frame_indices(fps: float | Fraction, num_frames: int, seconds: int = 5) -> tuple[int, ...]:
    """Indices of the frames that AVSBench's preprocessing keeps: one per second, 15/16 of the way in.

    Official: ``preprocess_scripts/preprocess_s4.py`` and ``preprocess_ms3.py`` at f7414aff6a. With
    ``F = int(round(fps))`` (Python's rounding), second ``l`` lists the 16 frames ``int(l * F + i / 16 * F)``,
    ``i = 0..15``, an index past the clip giving its last frame; the frame listed 16th is kept
    (``k % 16 == 15``), i.e. ``l * F + 15 * F // 16``.

    Args:
        fps: the video's frame rate.
        num_frames: frames in the clip (indices are capped at the last one).
        seconds: seconds of the clip (5 for S4 and MS3).

    Example:
        >>> avsbench_frame_indices(8, 80)
        (7, 15, 23, 31, 39)
        >>> avsbench_frame_indices(25, 110)
        (23, 48, 73, 98, 109)
    """
    step = round(float(fps))  # an int, as the official int(round(fps))
    if step < 1 or num_frames < 1:
        raise DataError(f"need fps >= 0.5 and at least one frame, got fps={fps}, num_frames={num_frames}")
    return tuple(min(second * step + 15 * step // 16, num_frames - 1) for second in range(seconds))


def avss_palette(count: int = 71) -> np.ndarray:
    """Return the AVSBench colour palette ``uint8 [count, 3]``: the bits of the index spread over R, G, B.

    Official: ``avs_scripts/avss/color_dataloader.py::get_v2_pallete`` (71 colours, background 0); a mask
    pixel's class is the index of the colour it equals (no colour: background).

    Example:
        >>> avss_palette(3).tolist()
        [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
    """
    palette = np.zeros((count, 3), dtype=np.uint8)
    for j in range(count):
        lab, bit = j, 0
        while lab > 0:
            for channel in range(3):
                palette[j, channel] |= ((lab >> channel) & 1) << (7 - bit)
            bit, lab = bit + 1, lab >> 3
    return palette


def _read_csv(path: Path, variant: str) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        check_header(path, header, _HEADERS[variant])
        rows = []
        for number, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise DataError(f"{path}:{number}: expected {len(header)} comma-separated fields, got {row}")
            rows.append(dict(zip(_HEADERS[variant], (c.strip() for c in row), strict=True)))
    return rows


def _rel(out: Path, paths: list[Path]) -> list[str]:
    return [os.path.relpath(p.absolute(), out.absolute()) for p in paths]


def _s4_ms3(
    base: Path, out: Path, variant: str, row: dict[str, str]
) -> tuple[Path, dict[str, Any], list[Path]]:
    split = row["split"]
    if variant == "s4":
        data, name = base / "Single-source/s4_data", row["name"]
        where = Path(split) / row["category"] / name
        frames = [data / "visual_frames" / where / f"{name}_{i}.png" for i in range(1, 6)]
        audio = data / "audio_wav" / split / row["category"] / f"{name}.wav"
    else:
        data, name = base / "Multi-sources/ms3_data", row["video_id"]
        where = Path(split) / name
        frames = [data / "visual_frames" / name / f"{name}.mp4_{i}.png" for i in range(1, 6)]
        audio = data / "audio_wav" / split / f"{name}.wav"
    annotated = [1] if variant == "s4" and split == "train" else [1, 2, 3, 4, 5]
    masks = [data / "gt_masks" / where / f"{name}_{i}.png" for i in annotated]
    targets: dict[str, Any] = {
        "duration": 5,
        "frames": _rel(out, frames),
        "masks": _rel(out, masks),
        "annotated_frames": annotated,
    }
    if variant == "s4":
        targets |= {"labels": [row["category"]], "start_time": int(row["start_time"])}
    return audio, targets, [audio, *frames, *masks]


def _avss(base: Path, out: Path, row: dict[str, str]) -> tuple[Path, dict[str, Any], list[Path]]:
    subset = row["label"]
    if subset not in _AVSS_FRAMES:
        raise DataError(
            f"AVSS row {row['uid']}: unknown subset label {subset!r}; expected one of "
            f"{', '.join(_AVSS_FRAMES)}"
        )
    folder = base / subset / row["uid"]
    count = _AVSS_FRAMES[subset]
    frames = [folder / "frames" / f"{i}.jpg" for i in range(count)]
    masks = [folder / "labels_rgb" / f"{i}.png" for i in range(count)]
    start = int(float(row["s_min"])) * 60 + int(float(row["s_sec"]))
    targets = {
        "duration": count,
        "subset": subset,
        "sounding_objects": row["a_obj"],
        "source_start": start,
        "frames": _rel(out, frames),
        "masks": _rel(out, masks),
        "annotated_frames": list(range(1, count + 1)),
    }
    return folder / "audio.wav", targets, [folder / "audio.wav", *frames, *masks]


def _meta(base: Path, variant: str) -> tuple[Path, Path]:
    """Return the metadata CSV and the folder the variant's paths are relative to."""
    if variant == "avss":
        path = find_file(base, ["avss/metadata.csv", "metadata.csv"], "AVSS metadata.csv")
        return path, path.parent
    name = "Single-source/s4_meta_data.csv" if variant == "s4" else "Multi-sources/ms3_meta_data.csv"
    return find_file(base, [name], f"AVSBench {variant.upper()} metadata"), base


def avsbench_profile(variant: str, classes: list[str] | None = None) -> DatasetProfile:
    """The profile of an AVSBench variant over ``classes`` (S4: categories; AVSS: label2idx order)."""
    return DatasetProfile(
        f"avsbench-{variant}",
        fps=1,
        sample_rate=16000,
        frame_size=224,
        segment_seconds=1,
        duration=None if variant == "avss" else 5,
        mask_size=224,
        vocabularies={} if classes is None else {"classes": classes},
        source="AVSBench (Zhou et al., ECCV 2022; avs_scripts @ f7414aff6a): one frame per second read at "
        "224 x 224, masks at 224 x 224, 16 kHz audio (VGGish)",
    )


def _avss_classes(path: Path) -> list[str]:
    index = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(index, dict) or sorted(index.values()) != list(range(len(index))):
        raise DataError(f"{path}: expected {{label: index}} with indices 0..N-1 (background 0)")
    names = sorted(index, key=lambda label: index[label])
    return names[1:]


def prepare_avsbench(
    root: str | os.PathLike[str], out: str | os.PathLike[str], variant: str = "s4"
) -> dict[str, Path]:
    """Write avikit manifests of an AVSBench variant (``s4``, ``ms3`` or ``avss``) from ``root`` to ``out``.

    Media counts as found when the audio, every frame and every annotated mask are present.

    Raises:
        FileNotFoundError: the metadata CSV is not under ``root``.
        ValueError: unknown variant, or a file not in the official format.
    """
    if variant not in VARIANTS:
        raise DataError(f"unknown AVSBench variant {variant!r}; valid variants are {', '.join(VARIANTS)}")
    target = Path(out)
    meta, base = _meta(Path(root), variant)
    sources = [meta]
    classes = None
    names = None
    if variant == "avss":
        sources.append(find_file(base, ["label2idx.json"], "AVSS label2idx.json"))
        names = _avss_classes(sources[-1])
        classes = len(names) + 1
    splits: dict[str, list[tuple[Sample, bool]]] = {}
    for row in _read_csv(meta, variant):
        audio, targets, needed = (
            _avss(base, target, row) if variant == "avss" else _s4_ms3(base, target, variant, row)
        )
        sample_id = row.get("uid") or row.get("name") or row["video_id"]
        yid = row.get("vid") or sample_id
        sample = Sample(
            sample_id,
            f"avsbench-{variant}",
            row["split"],
            media_ref(target, audio, 0, targets["duration"]),
            provenance(AVSBENCH_INFO, f"youtube:{yid}"),
            targets,
        )
        splits.setdefault(row["split"], []).append((sample, all(p.is_file() for p in needed)))
    options = {"variant": variant, **({"classes": classes} if classes is not None else {})}
    if variant == "s4":
        names = sorted({s.targets["labels"][0] for rows in splits.values() for s, _ in rows})
    info = replace(AVSBENCH_INFO, name=f"avsbench-{variant}")
    return write_prepared(out, info, splits, sources, options, profile=avsbench_profile(variant, names))


def download_avsbench(root: str | os.PathLike[str]) -> Path:
    """AVSBench is given on request: raise :class:`ManualDownloadError` saying how to get it."""
    raise ManualDownloadError(
        f"AVSBench must be requested and placed by hand in {root}: {AVSBENCH_INFO.manual_steps}"
    )


def card_avsbench() -> dict[str, Any]:
    """Return the Croissant card of AVSBench."""
    return build_croissant(AVSBENCH_INFO, counts={"s4_videos": 4932, "ms3_videos": 424, "avss_classes": 71})
