"""LLP / AVVP: weakly-supervised audio-visual video parsing (Tian et al., ECCV 2020; YapengTian/AVVP-ECCV20).

Official layout (tab-separated, header first)::

    ROOT/data/AVVP_train.csv        filename  event_labels (comma-joined video-level labels)
    ROOT/data/AVVP_val_pd.csv       the same for val (649 videos); AVVP_test_pd.csv for test (1200)
    ROOT/data/AVVP_eval_audio.csv   filename  onset  offset  event_labels: audio events of val and test
    ROOT/data/AVVP_eval_visual.csv  the same for visual events
    ROOT/data/LLP_dataset/video/<YouTubeID>.mp4

``filename`` is ``<YouTubeID>_<start>_<end>``; the official download script names each clip by the first
11 characters (the YouTube id). ``ROOT`` may also be the ``data`` folder itself. Clips named by the full
``filename``, or kept under ``ROOT/LLP_dataset/video``, are found too.

Targets (the AVSynth schema): ``duration`` (10) and ``labels`` (the weak video-level labels); for val and
test also ``events`` (``audio``, ``visual`` and ``audio_visual`` rows {label, onset, offset} in whole
seconds) and ``segment_labels`` (per modality, the sorted labels of each 1 s segment). Audio-visual
segments are the intersection of the audio and visual ones, as the official evaluation computes them.

Profile (the card's ``avikit:profile``): ten 1 s segments decoded at 8 fps and 224 x 224 (the official
features: ResNet-152 and R(2+1)D at 8 frames per second) with 16 kHz audio (VGGish); the classes are the 25
LLP classes in the official evaluation's order (with ``check_classes=False``: the labels found, in first-seen
order of the split files).

Annotation versions: ``"current"`` (the files as fixed on 2024-04-16) or ``"pre2024"``, which restores
the 3 rows of ``AVVP_eval_audio.csv`` that the fix changed (two Speech rows of JfZEqeLZqWk_30_40 filed
under the name ``Baby_cry_infant_cry`` and a Cat row of ``KvIjsmANkxI_10_20``` with a stray backtick). The
official evaluation drops rows whose filename is not a listed video, so under ``pre2024`` those videos
lose these events, as they did in papers before the fix.
"""

from __future__ import annotations

import csv
import io
import logging
import os
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
from avikit.data.text import read_text
from avikit.errors import DataError

__all__ = ["LLP_CLASSES", "LLP_INFO", "card_llp", "download_llp", "llp_profile", "prepare_llp"]

log = logging.getLogger(__name__)

_COMMIT = "fde56118f2c2e7c19188dfefa2569a37b70054fe"
_RAW = f"https://raw.githubusercontent.com/YapengTian/AVVP-ECCV20/{_COMMIT}/data"
_SHA256 = {
    "AVVP_train.csv": "bbeb83e8af46a85075216b213d3464f92dd4ab71468c852ae454b82cc745c0a4",
    "AVVP_val_pd.csv": "1811813b54c5f43c3be0a97bd0971cfb8a93818ca7b3ab96cdc7f4ac37ef37a6",
    "AVVP_test_pd.csv": "3f7a2b040e3b67c15d08efef25002bf8c5b2320f11049eb99ae0eb2d62f8eb9b",
    "AVVP_eval_audio.csv": "d5435664668bec6e7eafb39059d2f424ed2682f6b55395262fc3cb691b7d0778",
    "AVVP_eval_visual.csv": "e2274af694f3f27e38b840e0cd91a9d8d9ac85280f193e90828d26b22db69abe",
    "AVVP_dataset_full.csv": "89f112ffc602279c87cc2b2040c4cd42eaf163a9d7e61cf4e74250a343d21e56",
}
_WEAK = {"train": "AVVP_train.csv", "val": "AVVP_val_pd.csv", "test": "AVVP_test_pd.csv"}
_SECONDS = 10
_PRE_2024 = {
    ("JfZEqeLZqWk_30_40", "0", "4", "Speech"): "Baby_cry_infant_cry",
    ("JfZEqeLZqWk_30_40", "7", "10", "Speech"): "Baby_cry_infant_cry",
    ("KvIjsmANkxI_10_20", "0", "1", "Cat"): "KvIjsmANkxI_10_20`",
}
ANNOTATIONS = ("current", "pre2024")

LLP_CLASSES = (
    "Speech", "Car", "Cheering", "Dog", "Cat", "Frying_(food)", "Basketball_bounce", "Fire_alarm", "Chainsaw",
    "Cello", "Banjo", "Singing", "Chicken_rooster", "Violin_fiddle", "Vacuum_cleaner", "Baby_laughter",
    "Accordion", "Lawn_mower", "Motorcycle", "Helicopter", "Acoustic_guitar", "Telephone_bell_ringing",
    "Baby_cry_infant_cry", "Blender", "Clapping",
)  # fmt: skip
"""The 25 LLP classes in the order of the official evaluation."""

LLP_INFO = DatasetInfo(
    name="llp",
    title="LLP: Look, Listen and Parse (AVVP)",
    description="11,849 ten-second YouTube clips of 25 event classes with video-level labels (10,000 train) "
    "and second-level audio and visual event annotations for 649 validation and 1,200 test clips.",
    url="https://github.com/YapengTian/AVVP-ECCV20",
    licence="NOASSERTION",
    citation="@inproceedings{tian2020avvp, title={Unified Multisensory Perception: Weakly-Supervised "
    "Audio-Visual Video Parsing}, author={Tian, Yapeng and Li, Dingzeyu and Xu, Chenliang}, "
    "booktitle={ECCV}, year={2020}}",
    version=f"data/*.csv @ {_COMMIT[:10]} (2024-04-16)",
    date_published="2020-08-23",
    known_issues=(
        "On 2024-04-16 three rows of AVVP_eval_audio.csv were fixed (two Speech rows filed under the name "
        "'Baby_cry_infant_cry', one filename with a stray backtick); earlier papers used the old rows "
        "(prepare with annotations='pre2024' to reproduce them).",
        "AVVP_eval_audio.csv has 5 rows with onset = offset and one with onset > offset "
        "(8DF2PxdT5tE_390_400 9-0 Cheering); the official evaluation marks no segment for them.",
        "The eval CSVs hold rows of 8 filenames that no split lists (e.g. VMTJRpjbE_150_160 for "
        "1-VMTJRpjbE_150_160, 19jWnmYnlD8_30_400 for 19jWnmYnlD8_30_40); the official evaluation ignores "
        "them.",
        "No licence is stated for the annotations; the videos are YouTube uploads.",
    ),
    files=tuple(CardFile(n, f"{_RAW}/{n}", "text/tab-separated-values", h) for n, h in _SHA256.items()),
    media_globs={"videos": "data/LLP_dataset/video/*.mp4"},
    manual_steps="Fetch the clips from YouTube with the official scripts/download_dataset.py of "
    "github.com/YapengTian/AVVP-ECCV20 into ROOT/data/LLP_dataset/video/<YouTubeID>.mp4.",
)


def _read_tsv(path: Path, header: list[str]) -> list[list[str]]:
    text = io.StringIO(read_text(path), newline="")
    rows = [[c.strip() for c in row] for row in csv.reader(text, delimiter="\t") if row]
    check_header(path, rows[0] if rows else [], header)
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path}:{number}: expected {len(header)} tab-separated fields, got {row}")
    return rows[1:]


def _labels(path: Path, text: str, classes: tuple[str, ...] | None) -> list[str]:
    labels = [x for x in text.split(",") if x]
    unknown = [x for x in labels if classes is not None and x not in classes]
    if unknown:
        raise DataError(
            f"{path}: unknown LLP class(es) {unknown}; the 25 classes are {', '.join(LLP_CLASSES)}"
        )
    return labels


def _events(
    path: Path, rows: list[list[str]], annotations: str, empty: list[str], classes: tuple[str, ...] | None
) -> dict[str, list[dict[str, Any]]]:
    """Return events per filename.

    Rows with onset >= offset mark no segment (as in the official evaluation) and go to ``empty``.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for name, onset, offset, label in rows:
        if annotations == "pre2024":
            name = _PRE_2024.get((name, onset, offset, label), name)
        a, b = int(onset), int(offset)
        if not (0 <= a <= _SECONDS and 0 <= b <= _SECONDS):
            raise DataError(f"{path}: event {name} {onset}-{offset} {label} lies outside 0-10 s")
        if a >= b:
            empty.append(f"{path.name}: {name} {onset}-{offset} {label}")
            continue
        out.setdefault(name, []).append({"label": _labels(path, label, classes)[0], "onset": a, "offset": b})
    return out


def _per_second(events: list[dict[str, Any]]) -> list[set[str]]:
    seconds: list[set[str]] = [set() for _ in range(_SECONDS)]
    for e in events:
        for k in range(e["onset"], e["offset"]):
            seconds[k].add(e["label"])
    return seconds


def _runs(seconds: list[set[str]]) -> list[dict[str, Any]]:
    rows = []
    for label in sorted({c for s in seconds for c in s}):
        start = None
        for k, labels in enumerate([*seconds, set()]):
            if label in labels and start is None:
                start = k
            elif label not in labels and start is not None:
                rows.append({"label": label, "onset": start, "offset": k})
                start = None
    return sorted(rows, key=lambda e: (e["onset"], e["offset"], e["label"]))


def _dense_targets(audio: list[dict[str, Any]], visual: list[dict[str, Any]]) -> dict[str, Any]:
    a, v = _per_second(audio), _per_second(visual)
    av = [x & y for x, y in zip(a, v, strict=True)]
    sort = lambda rows: sorted(rows, key=lambda e: (e["onset"], e["offset"], e["label"]))  # noqa: E731
    return {
        "events": {"audio": sort(audio), "visual": sort(visual), "audio_visual": _runs(av)},
        "segment_labels": {
            m: [sorted(s) for s in secs] for m, secs in (("audio", a), ("visual", v), ("audio_visual", av))
        },
    }


def llp_profile(classes: tuple[str, ...] = LLP_CLASSES) -> DatasetProfile:
    """The LLP profile over ``classes`` (default: the 25 official classes)."""
    return DatasetProfile(
        "llp",
        fps=8,
        sample_rate=16000,
        frame_size=224,
        segment_seconds=1,
        duration=_SECONDS,
        vocabularies={"classes": classes},
        source="LLP/AVVP (Tian et al., ECCV 2020): ten 1 s segments, 8 frames per second at 224 x 224 "
        "(ResNet-152, R(2+1)D), 16 kHz audio (VGGish); classes in the official evaluation's order",
    )


def _find_csv(base: Path, name: str) -> Path:
    return find_file(base, [f"data/{name}", name], f"LLP {name}")


def prepare_llp(
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    annotations: str = "current",
    check_classes: bool = True,
) -> dict[str, Path]:
    """Write avikit manifests of LLP (train, val, test) from its official files under ``root`` to ``out``.

    Args:
        root: the repository (with ``data/``) or the ``data`` folder.
        out: output folder.
        annotations: ``"current"`` or ``"pre2024"`` (see the module docstring).
        check_classes: reject labels outside the 25 LLP classes; turn off only for files in the LLP layout
            with another vocabulary (e.g. AVSynth exports).

    Raises:
        FileNotFoundError: an official file is missing.
        ValueError: a file is not in the official format, or ``annotations`` is unknown.
    """
    if annotations not in ANNOTATIONS:
        raise DataError(f"unknown LLP annotations {annotations!r}; choose one of {', '.join(ANNOTATIONS)}")
    base = Path(root)
    paths = {s: _find_csv(base, n) for s, n in _WEAK.items()}
    eval_paths = {m: _find_csv(base, f"AVVP_eval_{m}.csv") for m in ("audio", "visual")}
    header = ["filename", "onset", "offset", "event_labels"]
    empty: list[str] = []
    classes = LLP_CLASSES if check_classes else None
    dense = {m: _events(p, _read_tsv(p, header), annotations, empty, classes) for m, p in eval_paths.items()}
    folders = media_dirs(base, ["data/LLP_dataset/video", "LLP_dataset/video", "video"])
    splits, listed = {}, set()
    for split, path in paths.items():
        rows = []
        for name, labels in _read_tsv(path, ["filename", "event_labels"]):
            listed.add(name)
            targets: dict[str, Any] = {"duration": _SECONDS, "labels": _labels(path, labels, classes)}
            if split != "train":
                targets |= _dense_targets(dense["audio"].get(name, []), dense["visual"].get(name, []))
            media = find_media(folders, [name[:11], name], (".mp4",))
            where = (
                media or (folders[0] if folders else path.parent / "LLP_dataset/video") / f"{name[:11]}.mp4"
            )
            sample = Sample(
                name,
                "llp",
                split,
                media_ref(Path(out), where, 0, _SECONDS),
                provenance(LLP_INFO, f"youtube:{name[:11]}"),
                targets,
            )
            rows.append((sample, media is not None))
        splits[split] = rows
    orphans = sorted({n for m in dense.values() for n in m} - listed)
    notes = (
        [f"dropped annotation rows of {len(orphans)} filename(s) that are no listed video: {orphans}"]
        if orphans
        else []
    )
    notes += (
        [f"{len(empty)} row(s) with onset >= offset mark no segment: {'; '.join(empty)}"] if empty else []
    )
    for note in notes:
        log.warning("LLP: %s", note)
    sources = [*paths.values(), *eval_paths.values()]
    options = {"annotations": annotations, "check_classes": check_classes}
    found = [c for rows in splits.values() for s, _ in rows for c in s.targets["labels"]]
    found += [e["label"] for m in dense.values() for events in m.values() for e in events]
    profile = llp_profile(LLP_CLASSES if check_classes else tuple(dict.fromkeys(found)))
    return write_prepared(out, LLP_INFO, splits, sources, options, notes=notes, profile=profile)


def download_llp(root: str | os.PathLike[str]) -> Path:
    """Download the official CSV files (checked by SHA-256) into ``root/data``; the videos are manual."""
    base = Path(root)
    download_files(base / "data", [RemoteFile(f.url, f.name, f.sha256) for f in LLP_INFO.files])
    log.warning("LLP videos are not directly downloadable. %s", LLP_INFO.manual_steps)
    return base


def card_llp() -> dict[str, Any]:
    """Return the Croissant card of LLP."""
    return build_croissant(LLP_INFO, counts={"train": 10000, "val": 649, "test": 1200, "classes": 25})
