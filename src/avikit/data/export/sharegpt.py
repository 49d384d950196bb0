"""Instruction and preference data in the formats omni models are fine-tuned with: LLaMA-Factory and ms-swift.

Both are sharegpt-style ``messages`` records with media paths:

- ``llamafactory``: ``{"messages": [{"role": "user", "content": "<video><audio>Question"},
  {"role": "assistant", "content": "Answer"}], "videos": ["clips/x.mp4"], "audios": ["audio/x.wav"]}``, a JSON
  list file plus ``dataset_info.json`` (``formatting: sharegpt``; preference data ``ranking: true`` with
  ``chosen``/``rejected`` assistant messages). Train Qwen2.5-Omni with ``use_audio_in_video: true`` and
  ``video_fps: 2`` (:data:`LLAMAFACTORY_YAML`).
- ``ms-swift``: JSON Lines ``{"messages": [...], "videos": ["clips/x.mp4"]}`` with the audio read from the mp4
  (``USE_AUDIO_IN_VIDEO=1 FPS=2``); preference data adds ``rejected_response``.

Each record also carries ``id`` (the instruction id), which both tools ignore, so predictions of a model
trained with them can be scored by avikit. Media are real files: H.264/AAC mp4 and 16 kHz wav.

:func:`import_sharegpt` reads such a file back. A record whose audio file is missing, whose video has no
audio stream, or whose media fails to decode is an **error that is counted and reported**
(:class:`ImportReport`), never silently kept video-only; ``strict=True`` raises :class:`DataError` on any.

Example:
    >>> record = to_sharegpt("llamafactory", "Q?", "A.", "clips/x.mp4", "audio/x.wav", record_id="x/qa/0")
    >>> record["messages"][0]["content"], record["audios"]
    ('<video><audio>Q?', ['audio/x.wav'])
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avikit.data.instructions import Instruction
from avikit.data.manifest import atomic_writer
from avikit.data.preferences import PreferencePair
from avikit.errors import DataError, MediaError, UsageError
from avikit.media import AVClip, load, save

__all__ = [
    "FORMATS",
    "LLAMAFACTORY_YAML",
    "ImportReport",
    "ImportedRecord",
    "export_sharegpt",
    "import_sharegpt",
    "to_sharegpt",
]

FORMATS = ("llamafactory", "ms-swift")
LLAMAFACTORY_YAML = """\
### model
model_name_or_path: Qwen/Qwen2.5-Omni-3B
### method
stage: {stage}
finetuning_type: lora
### dataset
dataset: {dataset}
dataset_dir: {folder}
template: qwen2_omni
use_audio_in_video: true
video_fps: 2.0
video_maxlen: 128
"""
"""A LLaMA-Factory training config for the exported set (``stage``: ``sft`` or ``dpo``)."""


def to_sharegpt(
    format: str,
    question: str,
    answer: str,
    video: str,
    audio: str | None = None,
    rejected: str | None = None,
    record_id: str | None = None,
) -> dict[str, Any]:
    """One record in ``format`` (``rejected``: a preference record)."""
    if format not in FORMATS:
        raise UsageError(f"unknown sharegpt format {format!r}; valid formats are {', '.join(FORMATS)}")
    user = {
        "role": "user",
        "content": ("<video><audio>" if format == "llamafactory" else "<video>") + question,
    }
    out: dict[str, Any] = {"id": record_id} if record_id is not None else {}
    if format == "llamafactory":
        if audio is None:
            raise UsageError("a LLaMA-Factory record needs its audio file (use_audio_in_video reads it)")
        if rejected is None:
            out["messages"] = [user, {"role": "assistant", "content": answer}]
        else:
            out |= {
                "messages": [user],
                "chosen": {"role": "assistant", "content": answer},
                "rejected": {"role": "assistant", "content": rejected},
            }
        return out | {"videos": [video], "audios": [audio]}
    out["messages"] = [user, {"role": "assistant", "content": answer}]
    if rejected is not None:
        out["rejected_response"] = rejected
    return out | {"videos": [video]}


def _write_media(out: Path, clip_id: str, clip: AVClip) -> tuple[str, str]:
    video, audio = Path("clips") / f"{clip_id}.mp4", Path("audio") / f"{clip_id}.wav"
    if not (out / video).is_file():
        save(clip, out / video)
    if not (out / audio).is_file():
        save(AVClip(waveform=clip.require_waveform(), sample_rate=clip.sample_rate), out / audio)
    return str(video), str(audio)


def export_sharegpt(
    out: str | os.PathLike[str],
    format: str,
    clips: Mapping[str, AVClip],
    records: Sequence[Instruction] = (),
    pairs: Sequence[PreferencePair] = (),
    name: str = "avsynth",
) -> Path:
    """Write the media of ``clips`` (by sample id) and the SFT or preference records in ``format``.

    Returns:
        The data file (``<name>.json`` for LLaMA-Factory, with ``dataset_info.json`` and ``train.yaml``
        beside it; ``<name>.jsonl`` for ms-swift).
    """
    if bool(records) == bool(pairs):
        raise UsageError("export either instruction records or preference pairs, not both or neither")
    folder = Path(out)
    media = {cid: _write_media(folder, cid, clip) for cid, clip in clips.items()}
    rows = []
    items: list[Instruction | PreferencePair] = [*records, *pairs]
    for item in items:
        inst = item.instruction if isinstance(item, PreferencePair) else item
        if inst.clip not in media:
            raise UsageError(
                f"record {inst.id!r} is about clip {inst.clip!r}, which is not among the clips given"
            )
        video, audio = media[inst.clip]
        rejected = item.rejected if isinstance(item, PreferencePair) else None
        rows.append(to_sharegpt(format, inst.question, inst.answer, video, audio, rejected, inst.id))
    if format == "ms-swift":
        path = folder / f"{name}.jsonl"
        with atomic_writer(path) as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
        return path
    path = folder / f"{name}.json"
    with atomic_writer(path) as f:
        json.dump(rows, f, indent=1)
    columns = {"messages": "messages", "videos": "videos", "audios": "audios"}
    info: dict[str, Any] = {
        "file_name": path.name,
        "formatting": "sharegpt",
        "columns": columns,
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
        },
    }
    if pairs:
        info |= {"ranking": True, "columns": {**columns, "chosen": "chosen", "rejected": "rejected"}}
    (folder / "dataset_info.json").write_text(json.dumps({name: info}, indent=1))
    stage = "dpo" if pairs else "sft"
    (folder / "train.yaml").write_text(LLAMAFACTORY_YAML.format(stage=stage, dataset=name, folder=folder))
    return path


@dataclass(frozen=True)
class ImportedRecord:
    """One record read back: question, answers, media and its id (if the file carries one)."""

    id: str | None
    question: str
    answer: str
    rejected: str | None
    video: Path
    audio: Path


@dataclass
class ImportReport:
    """What an import found: the usable records and every error, by record number."""

    records: list[ImportedRecord] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        """``"N records read, M with errors (first: ...)"``."""
        first = f" (first: record {self.errors[0][0]}: {self.errors[0][1]})" if self.errors else ""
        return f"{len(self.records)} records read, {len(self.errors)} with errors{first}"


def _rows(path: Path) -> list[Any]:
    text = path.read_text()
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return list(json.loads(text))
    except json.JSONDecodeError as error:
        raise DataError(
            f"{path}: not valid JSON ({error}); write a JSON list (.json) or JSON Lines (.jsonl)"
        ) from None


def _check_media(video: Path, audio: Path, format: str) -> None:
    """Raise a MediaError unless the video decodes and the audio decodes (from its file, or the mp4)."""
    if format == "llamafactory":
        load(video, 0, 0.5, audio=False, video=True)
        load(audio, 0, 0.5, audio=True, video=False)
    else:
        load(video, 0, 0.5, audio=True, video=True)


def _parse(row: Any, format: str, root: Path) -> ImportedRecord:
    if not isinstance(row, dict) or "messages" not in row or "videos" not in row:
        raise DataError("not a sharegpt record with 'messages' and 'videos'")
    user = row["messages"][0]["content"]
    question = user.replace("<video>", "").replace("<audio>", "")
    rejected = row.get("rejected_response") or (row.get("rejected") or {}).get("content")
    answer = row["chosen"]["content"] if "chosen" in row else row["messages"][1]["content"]
    video = root / row["videos"][0]
    if format == "llamafactory":
        if "<audio>" not in user or not row.get("audios"):
            raise DataError("the record has no audio: a video-only record would train without the sound")
        audio = root / row["audios"][0]
    else:
        audio = video
    _check_media(video, audio, format)
    return ImportedRecord(row.get("id"), question, answer, rejected, video, audio)


def import_sharegpt(path: str | os.PathLike[str], format: str, strict: bool = False) -> ImportReport:
    """Read a LLaMA-Factory (``.json``) or ms-swift (``.jsonl``) file; media paths are relative to its folder.

    Raises:
        DataError: with ``strict=True``, if any record has a missing or undecodable audio or video (the
            message counts them and names the first).
    """
    if format not in FORMATS:
        raise UsageError(f"unknown sharegpt format {format!r}; valid formats are {', '.join(FORMATS)}")
    file = Path(path)
    report = ImportReport()
    for number, row in enumerate(_rows(file), start=1):
        try:
            report.records.append(_parse(row, format, file.parent))
        except (DataError, MediaError, KeyError, IndexError, TypeError) as error:
            report.errors.append((number, f"{type(error).__name__}: {error}"))
    if strict and report.errors:
        raise DataError(f"{file}: {report.summary()}; fix or drop those records")
    return report
