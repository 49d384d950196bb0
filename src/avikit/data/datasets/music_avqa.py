r"""MUSIC-AVQA: audio-visual question answering on music videos (Li et al., CVPR 2022; GeWu-Lab/MUSIC-AVQA).

Official layout::

    ROOT/data/json/avqa-{train,val,test}.json         original annotations
    ROOT/data/json_update/avqa-{train,val,test}.json  updated annotations (fixes by the authors)
    ROOT/data/video/<video_id>.mp4                    the videos (any of video/, videos/, data/videos/)

``ROOT`` may also be the folder holding ``avqa-*.json`` (and ``json_update/``) directly. Each file is a
JSON list of questions with exactly the fields ``video_id``, ``question_id``, ``type`` (a JSON list in a
string, e.g. ``"[\\"Audio\\", \\"Counting\\"]"``), ``question_content`` (with slots such as ``<Object>``
and ``<LR>``), ``templ_values`` (a JSON list in a string), ``question_deleted`` and the answer under
the official key ``anser`` (sic). Unknown fields are errors. Splits whose file is absent are skipped.

One sample per video; its target ``qa`` lists the questions in file order, in the AVSynth QA schema:
``type`` ([modality, kind]), ``question`` (slots filled), ``question_content``, ``templ_values``,
``answer``, plus ``question_id`` and ``key``. Quirk: the original test file repeats 55 question ids with
different answers; ``key`` is the question id, with ``#2`` appended to a repeat, so it is unique.

Profile (the card's ``avikit:profile``): 1 s segments at 1 frame per second and 224 x 224 with 16 kHz audio
(the official features: one frame per second, VGGish per second); a sample lasts its video's whole seconds
(read from the file when present; the official videos last 60 s). Answers: every answer of the files
read, in first-seen order over train, val and test (the official code builds its vocabulary from the train
answers in that order).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from avikit.data.croissant import CardFile, DatasetInfo, build_croissant
from avikit.data.datasets._recipe import (
    check_keys,
    find_media,
    find_optional,
    media_dirs,
    media_ref,
    media_seconds,
    provenance,
    write_prepared,
)
from avikit.data.download import RemoteFile, download_files
from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.errors import DataError, InputFileError

__all__ = [
    "MUSIC_AVQA_INFO",
    "card_music_avqa",
    "download_music_avqa",
    "music_avqa_profile",
    "prepare_music_avqa",
]

log = logging.getLogger(__name__)

_COMMIT = "cc8809514a2ee3d7ae81a3021c15e7c0679170d7"
_RAW = f"https://raw.githubusercontent.com/GeWu-Lab/MUSIC-AVQA/{_COMMIT}/data"
_FIELDS = ("video_id", "question_id", "type", "question_content", "templ_values", "question_deleted", "anser")
_FOLDERS = {"original": "json", "updated": "json_update"}
_SPLITS = ("train", "val", "test")
_SLOT = re.compile(r"<[^<>]+>")
_SHA256 = {
    "json/avqa-test.json": "fa79cbd8e7f0bf043e1761271b216f130832dd419a171bce9d9b561017af6cc2",
    "json/avqa-val.json": "119fc12dd07e2e4568797d0c5faf4e786356eab7eb8271cb6a14034e1148ac37",
    "json/avqa-train.json": None,
    "json_update/avqa-test.json": "76ce24ee02fd85e28038605aedd4f62633e1335ccda96a1fcf7340b5feaf230e",
    "json_update/avqa-val.json": "650ca7e9e577139f43b7895d5b8207a2e287d8cdad940522b2122a12c0c9b8ef",
    "json_update/avqa-train.json": None,
}

MUSIC_AVQA_INFO = DatasetInfo(
    name="music-avqa",
    title="MUSIC-AVQA: audio-visual question answering",
    description="45,867 question-answer pairs on 9,288 music performance videos (real and synthetic), "
    "9 question types over audio, visual and audio-visual modalities, 42 answers.",
    url="https://github.com/GeWu-Lab/MUSIC-AVQA",
    licence="MIT",
    citation="@inproceedings{li2022learning, title={Learning to Answer Questions in Dynamic Audio-Visual "
    "Scenarios}, author={Li, Guangyao and Wei, Yake and Tian, Yapeng and Xu, Chenliang and Wen, Ji-Rong "
    "and Hu, Di}, booktitle={CVPR}, year={2022}}",
    version=f"data/json and data/json_update @ {_COMMIT[:10]}",
    date_published="2022-06-19",
    non_commercial=False,
    research_only=False,
    known_issues=(
        "The original test file has 9,185 questions but 55 question ids occur twice with different answers; "
        "the updated file (json_update) has 9,129 questions with unique ids.",
        "The answer field is spelled 'anser'.",
        "The official test() reads question types from the hard-coded original test file by loader index, "
        "which misaligns per-type accuracies on json_update; key on question id instead.",
        "The MIT licence covers the repository's annotation files; the videos are YouTube uploads and "
        "rendered combinations of them.",
    ),
    files=tuple(CardFile(n, f"{_RAW}/{n}", "application/json", h) for n, h in _SHA256.items()),
    media_globs={"videos": "data/video/*.mp4"},
    manual_steps="Download the raw videos (real and synthetic) from the Google Drive or Baidu links in the "
    "README of github.com/GeWu-Lab/MUSIC-AVQA and put all 9,288 of them in ROOT/data/video/.",
)


def _json_list(path: Path, key: str, text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: field {key!r} is not a JSON list in a string: {text!r}") from err
    if not isinstance(value, list):
        raise DataError(f"{path}: field {key!r} must hold a JSON list, got {text!r}")
    return value


def _fill(text: str, values: list[str]) -> str:
    parts = _SLOT.split(text)
    out = parts[0]
    for value, rest in zip(values, parts[1:], strict=False):
        out += f"{value}{rest}"
    return out


def _question(path: Path, k: int, row: Any, seen: Counter[int]) -> dict[str, Any]:
    check_keys(f"{path}: question {k}", row, _FIELDS)
    kind = _json_list(path, "type", row["type"])
    values = _json_list(path, "templ_values", row["templ_values"])
    if len(kind) != 2 or len(_SLOT.findall(row["question_content"])) != len(values):
        raise DataError(f"{path}: question {k} has a bad type {kind} or {len(values)} values for its slots")
    seen[row["question_id"]] += 1
    repeat = seen[row["question_id"]]
    return {
        "question_id": row["question_id"],
        "key": str(row["question_id"]) if repeat == 1 else f"{row['question_id']}#{repeat}",
        "type": kind,
        "question": _fill(row["question_content"], values),
        "question_content": row["question_content"],
        "templ_values": values,
        "answer": row["anser"],
        "question_deleted": row["question_deleted"],
    }


def _read_questions(path: Path) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Return the questions per video id (in first-seen order) and the number of repeated question ids."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list):
        raise DataError(f"{path}: expected a JSON list of questions")
    seen: Counter[int] = Counter()
    per_video: dict[str, list[dict[str, Any]]] = {}
    for k, row in enumerate(rows):
        q = _question(path, k, row, seen)
        per_video.setdefault(str(row["video_id"]), []).append(q)
    return per_video, sum(1 for v in seen.values() if v > 1)


def _split_files(base: Path, annotations: str) -> dict[str, Path]:
    folder = _FOLDERS[annotations]
    dirs = [f"data/{folder}", folder] + (["."] if annotations == "original" else [])
    found = {s: find_optional(base, [f"{d}/avqa-{s}.json" for d in dirs]) for s in _SPLITS}
    present = {s: p for s, p in found.items() if p is not None and p.stat().st_size > 0}
    if not present:
        raise InputFileError(
            f"no MUSIC-AVQA {annotations} annotation file (avqa-<split>.json) under "
            f"{base}/{{{', '.join(dirs)}}}"
        )
    for split in set(_SPLITS) - set(present):
        log.info("MUSIC-AVQA: no %s annotations for split %s; skipped", annotations, split)
    return present


def music_avqa_profile(answers: list[str]) -> DatasetProfile:
    """The MUSIC-AVQA profile over ``answers`` (first-seen order)."""
    return DatasetProfile(
        "music-avqa",
        fps=1,
        sample_rate=16000,
        frame_size=224,
        segment_seconds=1,
        duration=60,
        vocabularies={"answers": answers},
        source="MUSIC-AVQA (Li et al., CVPR 2022): 60 s videos in 1 s segments, one frame per second at "
        "224 x 224, 16 kHz audio (VGGish); answers in first-seen order",
    )


def prepare_music_avqa(
    root: str | os.PathLike[str], out: str | os.PathLike[str], annotations: str = "original"
) -> dict[str, Path]:
    """Write avikit manifests (one sample per video, its questions as targets) of MUSIC-AVQA.

    Args:
        root: the repository or the folder of the JSON files.
        out: output folder.
        annotations: ``"original"`` (``data/json``) or ``"updated"`` (``data/json_update``).

    Raises:
        FileNotFoundError: no annotation file was found.
        ValueError: a question is not in the official format, or ``annotations`` is unknown.
    """
    if annotations not in _FOLDERS:
        raise DataError(
            f"unknown MUSIC-AVQA annotations {annotations!r}; choose one of {', '.join(_FOLDERS)}"
        )
    base = Path(root)
    paths = _split_files(base, annotations)
    folders = media_dirs(base, ["data/video", "data/videos", "video", "videos"])
    splits, extra, notes = {}, {}, []
    for split, path in paths.items():
        per_video, repeated = _read_questions(path)
        if repeated:
            notes.append(f"{path.name} ({split}): {repeated} question id(s) occur more than once")
        rows = []
        for video_id, questions in per_video.items():
            media = find_media(folders, [video_id], (".mp4",))
            where = media or (folders[0] if folders else base / "data/video") / f"{video_id}.mp4"
            seconds = media_seconds(media, whole=True) if media is not None else None
            sample = Sample(
                video_id,
                "music-avqa",
                split,
                media_ref(Path(out), where, 0, seconds),
                provenance(MUSIC_AVQA_INFO, f"music-avqa:{video_id}"),
                {"qa": questions},
            )
            rows.append((sample, media is not None))
        splits[split] = rows
        types = Counter("/".join(q["type"]) for qs in per_video.values() for q in qs)
        extra[split] = {"questions": sum(types.values()), "question_types": dict(sorted(types.items()))}
    answers = [q["answer"] for split in _SPLITS if split in splits for s, _ in splits[split]
               for q in s.targets["qa"]]  # fmt: skip
    options = {"annotations": annotations}
    profile = music_avqa_profile(list(dict.fromkeys(answers)))
    return write_prepared(
        out, MUSIC_AVQA_INFO, splits, list(paths.values()), options, extra, notes, profile=profile
    )


def download_music_avqa(root: str | os.PathLike[str]) -> Path:
    """Download the annotation JSON files (original and updated) into ``root/data``; the videos are manual.

    Files with a known SHA-256 are verified; the train files have no pinned digest (their digest is logged).
    """
    base = Path(root)
    download_files(base / "data", [RemoteFile(f.url, f.name, f.sha256) for f in MUSIC_AVQA_INFO.files])
    log.warning("MUSIC-AVQA videos are not directly downloadable. %s", MUSIC_AVQA_INFO.manual_steps)
    return base


def card_music_avqa() -> dict[str, Any]:
    """Return the Croissant card of MUSIC-AVQA."""
    counts = {
        "questions": 45867,
        "videos": 9288,
        "test_questions_original": 9185,
        "test_questions_updated": 9129,
    }
    return build_croissant(MUSIC_AVQA_INFO, counts=counts)
