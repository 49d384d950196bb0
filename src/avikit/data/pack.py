"""``pack_dataset``: rewrite a dataset folder into the fast layout for training and evaluation throughput.

A packed folder is a copy of a prepared (``avikit data prepare``) or AVSynth (``avikit data synth``) folder
whose media are re-encoded by :func:`avikit.media.repack.repack`: video at the task's size with keyframes
on the sampling grid (``video/<name>.mp4``), audio as a 16-bit WAV (or FLAC) sidecar at the model's rate
(``audio/<name>.wav``). Manifests, missing lists, cards and ``prepared.json`` keep their names and ids; only
media paths change, and the files the targets name (masks, ground-truth frames) are copied under
``files/``. ``packed.json`` records the transform (:class:`~avikit.media.repack.RepackSpec`), the source
folder, the bytes before and after and the measured fidelity (PSNR of the frames, largest audio error
against :func:`avikit.media.load` on the original at the packed geometry); ``index.jsonl`` lists every
media file with its source, outputs and sizes.

Read a packed clip with :func:`load_packed_clip` (the evaluation runner does so for a packed folder). A
rerun into the same folder with the same transform resumes (files already written are kept); another
transform is refused.

Example:
    >>> packed_name("clips/test_000001.mp4"), packed_name("../raw/a b.mkv")
    ('clips/test_000001', '_up/raw/a b.mkv')
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from avikit.data.download import compute_file_hash
from avikit.data.manifest import atomic_writer, read_manifest, write_manifest
from avikit.data.parallel import Mapper, local_map
from avikit.data.prepared import PREPARED_FILE
from avikit.data.sample import MediaRef, Sample
from avikit.errors import DataError, InputFileError, UsageError
from avikit.media import AVClip, load
from avikit.media.repack import RepackSpec, repack

__all__ = [
    "INDEX_FILE",
    "PACKED_FILE",
    "PackReport",
    "is_packed",
    "load_packed_clip",
    "pack_dataset",
    "packed_media_files",
    "packed_name",
    "read_packed",
]

log = logging.getLogger(__name__)

PACKED_FILE = "packed.json"
INDEX_FILE = "index.jsonl"
_REF_KEYS = ("frame", "frames", "masks")  # targets that name files (see avikit.data.prepared.media_paths)
_SIDECAR_SUFFIXES = (".wav", ".flac", ".mka")


@dataclass(frozen=True)
class PackReport:
    """What :func:`pack_dataset` did.

    Attributes:
        out: the packed folder.
        samples: samples rewritten (all manifests, each sample once).
        media: media files packed.
        bytes_before: bytes of the source media files.
        bytes_after: bytes of the packed video and audio files.
        seconds: wall time.
        fidelity: measured on the first clips: ``psnr_db`` (worst frame PSNR) and ``audio_max_abs``.
    """

    out: Path
    samples: int
    media: int
    bytes_before: int
    bytes_after: int
    seconds: float
    fidelity: dict[str, float]


def _inside(path: str) -> str:
    """A path inside the packed folder: ``..`` becomes ``_up``, ``/x`` becomes ``_abs/x``."""
    pure = PurePosixPath(path.replace(os.sep, "/"))
    parts = [("_up" if part == ".." else part) for part in pure.parts if part not in ("/", ".")]
    return ("_abs/" if pure.is_absolute() else "") + "/".join(parts)


def packed_name(path: str) -> str:
    """The name of a media path inside a packed folder: ``..`` becomes ``_up``, a non-mp4 suffix stays."""
    name = _inside(path)
    return name[: -len(".mp4")] if name.endswith(".mp4") else name


def is_packed(root: str | os.PathLike[str] | None) -> bool:
    """Whether ``root`` is a folder written by :func:`pack_dataset`."""
    return root is not None and (Path(root) / PACKED_FILE).is_file()


def read_packed(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``packed.json`` of a packed folder.

    Raises:
        InputFileError: the folder has none.
        DataError: it is not a packed record.
    """
    path = Path(root) / PACKED_FILE
    if not path.is_file():
        raise InputFileError(f"{path} does not exist; write the folder with `avikit data pack`")
    record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict) or record.get("format") != "avikit-packed":
        raise DataError(f"{path}: not a packed record (no format 'avikit-packed')")
    return record


def _sidecar(root: Path, media_path: str) -> Path | None:
    name = packed_name(media_path.removeprefix("video/"))
    for suffix in _SIDECAR_SUFFIXES:
        candidate = root / "audio" / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def packed_media_files(sample: Sample, root: str | os.PathLike[str]) -> list[Path]:
    """The files a packed sample's clip is decoded from: its video (or audio) file and its audio sidecar."""
    base = Path(root)
    files = [base / sample.media.path]
    if sample.media.path.startswith("video/"):  # an audio-only source packs to its sidecar alone
        sidecar = _sidecar(base, sample.media.path)
        files += [sidecar] if sidecar is not None else []
    return files


def load_packed_clip(sample: Sample, root: str | os.PathLike[str]) -> AVClip:
    """Decode a sample of a packed folder: its video window with the audio from the sidecar.

    Equals :func:`avikit.media.load` of the original file at the packed geometry within the fidelity that
    ``packed.json`` records.
    """
    files = packed_media_files(sample, root)
    sidecar = files[1] if len(files) > 1 else None
    return load(files[0], sample.media.start, sample.media.duration, audio_path=sidecar)


# ------------------------------------------------------------------------------------------ the source


def _source_manifests(src: Path) -> tuple[str, list[str]]:
    """``("prepared" | "card", manifest file names)`` of a dataset folder."""
    if (src / PREPARED_FILE).is_file():
        record = json.loads((src / PREPARED_FILE).read_text(encoding="utf-8"))
        return "prepared", sorted({entry["manifest"] for entry in record["splits"].values()})
    if (src / "card.json").is_file():
        card = json.loads((src / "card.json").read_text(encoding="utf-8"))
        names = sorted(set(card.get("files", {}).values())) or sorted(p.name for p in src.glob("*.jsonl"))
        return "card", names
    raise UsageError(
        f"{src} holds neither prepared.json nor card.json: give a folder from `avikit data prepare` or "
        "`avikit data synth`"
    )


def _pack_one(spec: dict[str, Any], job: dict[str, str]) -> dict[str, Any]:
    """Re-encode one media file (resuming: outputs already written are kept); its index row."""
    src, out = Path(job["src"]), Path(job["out"])
    name = job["name"]
    video, stem = out / "video" / f"{name}.mp4", out / "audio" / name
    done = video.is_file() and any(stem.with_name(stem.name + s).is_file() for s in _SIDECAR_SUFFIXES)
    if not done:
        repack(src, video, stem, RepackSpec.from_dict(spec))
    outputs = [p for p in (video, *(stem.with_name(stem.name + s) for s in _SIDECAR_SUFFIXES)) if p.is_file()]
    return {
        "source": job["source"],
        "source_bytes": src.stat().st_size,
        "files": [p.relative_to(out).as_posix() for p in outputs],
        "bytes": sum(p.stat().st_size for p in outputs),
        "resumed": done,
    }


def _claim(out: Path, record: Mapping[str, Any], overwrite: bool) -> None:
    """Refuse a non-empty ``out`` unless it is this pack being resumed (or ``overwrite`` empties it)."""
    if not out.exists() or not any(out.iterdir()):
        return
    if (out / PACKED_FILE).is_file():
        old = read_packed(out)
        if old["transform"] == record["transform"] and old["source"] == record["source"]:
            return
    if not overwrite:
        raise UsageError(
            f"{out} is not empty (it holds other files or a pack with another transform or source); choose a "
            "new OUT folder, repeat that pack's arguments to resume it, or pass --overwrite"
        )
    log.info("emptying %s before packing (--overwrite)", out)
    for child in out.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


# ------------------------------------------------------------------------------------------ the pack


def pack_dataset(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    spec: RepackSpec | None = None,
    mapper: Mapper | None = None,
    overwrite: bool = False,
    verify: int = 4,
) -> PackReport:
    """Write the fast layout of dataset folder ``src`` into ``out``.

    Args:
        src: a folder from ``avikit data prepare`` (``prepared.json``) or ``avikit data synth``
            (``card.json``).
        out: the packed folder (new, empty, or this pack being resumed).
        spec: the transform (default :class:`~avikit.media.repack.RepackSpec`).
        mapper: how the per-file re-encodes run (:mod:`avikit.data.parallel`; default in this process).
        overwrite: empty a non-empty ``out`` that is not this pack first.
        verify: clips whose fidelity against the original is measured and recorded (0: none).

    Raises:
        UsageError: ``src`` is not a dataset folder, or ``out`` holds something else.
        DataError: a sample's media is a generator URI (nothing to pack: write it to disk first).
    """
    start, source, target = time.perf_counter(), Path(src), Path(out)
    spec = spec or RepackSpec()
    kind, manifests = _source_manifests(source)
    record: dict[str, Any] = {"format": "avikit-packed", "version": 1, "source": str(source.resolve()),
                              "transform": {**spec.to_dict(), "video_codec": "h264"}}  # fmt: skip
    _claim(target, record, overwrite)
    target.mkdir(parents=True, exist_ok=True)
    with atomic_writer(target / PACKED_FILE) as f:
        json.dump({**record, "complete": False}, f, indent=1)
    samples = {name: read_manifest(source / name) for name in manifests}
    jobs = _jobs(source, target, [s for rows in samples.values() for s in rows])
    rows = (mapper or local_map)(partial(_pack_one, spec.to_dict()), jobs)
    _write_index(target, rows)
    refs = _copy_refs(source, target, [s for rows_ in samples.values() for s in rows_])
    outputs = {row["source"]: row["files"] for row in rows}
    written = {name: write_manifest(target / name, [_rewrite(s, outputs, refs) for s in rows_])
               for name, rows_ in samples.items()}  # fmt: skip
    _copy_cards(source, target, kind, written)
    fidelity = _fidelity(source, target, jobs[:verify], spec)
    report = PackReport(target, len({s.id for rows_ in samples.values() for s in rows_}), len(rows),
                        sum(r["source_bytes"] for r in rows), sum(r["bytes"] for r in rows),
                        time.perf_counter() - start, fidelity)  # fmt: skip
    totals = {"samples": report.samples, "media": report.media, "bytes_before": report.bytes_before,
              "bytes_after": report.bytes_after, "fidelity": fidelity, "manifests": manifests}  # fmt: skip
    with atomic_writer(target / PACKED_FILE) as f:
        json.dump({**record, **totals, "index": INDEX_FILE, "complete": True}, f, indent=1)
    return report


def _jobs(source: Path, target: Path, samples: Sequence[Sample]) -> list[dict[str, str]]:
    jobs: dict[str, dict[str, str]] = {}
    for sample in samples:
        path = sample.media.path
        if ":" in path.split("/")[0] and not (source / path).exists():
            raise DataError(
                f"sample {sample.id}: media {path!r} is a generator URI, not a file; write the set to disk "
                "(`avikit data synth --out DIR`) and pack that folder"
            )
        if path not in jobs and (source / path).is_file():
            jobs[path] = {"src": str(source / path), "out": str(target), "source": path,
                          "name": packed_name(path)}  # fmt: skip
    names = [job["name"] for job in jobs.values()]
    if len(set(names)) != len(names):
        raise DataError(f"{source}: two media paths map to one packed name; rename one of them")
    return list(jobs.values())


def _write_index(target: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    with atomic_writer(target / INDEX_FILE) as f:
        for row in rows:
            f.write(json.dumps(row, separators=(",", ":")) + "\n")


def _copy_refs(source: Path, target: Path, samples: Sequence[Sample]) -> dict[str, str]:
    """Copy (hard-link where possible) the files the targets name into ``files/``; old -> new path."""
    refs: dict[str, str] = {}
    for sample in samples:
        for key in _REF_KEYS:
            value = sample.targets.get(key)
            for path in [value] if isinstance(value, str) else list(value or ()):
                if path in refs:
                    continue
                refs[path] = f"files/{_inside(path)}"
                origin, copy = source / path, target / refs[path]
                if origin.is_file() and not copy.is_file():
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.link(origin, copy)
                    except OSError:
                        shutil.copy2(origin, copy)
    return refs


def _rewrite(sample: Sample, outputs: Mapping[str, Sequence[str]], refs: Mapping[str, str]) -> Sample:
    """The sample with its packed media path (video, else the audio sidecar) and copied target files.

    Media that was missing keeps the path its video would have, so it stays missing.
    """
    media = sample.media
    path = next(iter(outputs.get(media.path, ())), f"video/{packed_name(media.path)}.mp4")
    targets = {key: sample.target(key) for key in sample.targets}
    for key in _REF_KEYS:
        value = targets.get(key)
        if isinstance(value, str):
            targets[key] = refs[value]
        elif value:
            targets[key] = [refs[v] for v in value]
    return replace(sample, media=MediaRef(path, media.start, media.duration), targets=targets)


def _copy_cards(source: Path, target: Path, kind: str, written: Mapping[str, Path]) -> None:
    if kind == "card":
        shutil.copy2(source / "card.json", target / "card.json")
        return
    record = json.loads((source / PREPARED_FILE).read_text(encoding="utf-8"))
    for entry in record["splits"].values():
        shutil.copy2(source / entry["missing_list"], target / entry["missing_list"])
    record["notes"] = [*record["notes"], f"media re-encoded by avikit data pack (see {PACKED_FILE})"]
    with atomic_writer(target / PREPARED_FILE) as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    card = json.loads((source / "croissant.json").read_text(encoding="utf-8"))
    for item in card.get("distribution", []):
        if item.get("contentUrl") in written:
            item["sha256"] = compute_file_hash(written[item["contentUrl"]])
    with atomic_writer(target / "croissant.json") as f:
        json.dump(card, f, indent=2)


def _fidelity(
    source: Path, target: Path, jobs: Sequence[Mapping[str, str]], spec: RepackSpec
) -> dict[str, float]:
    """Worst frame PSNR (dB) and largest audio error of packed against original at the packed geometry."""
    psnrs, errors = [], []
    for job in jobs:
        video = target / "video" / f"{job['name']}.mp4"
        sidecar = _sidecar(target, f"video/{job['name']}.mp4")
        original = load(source / job["source"], size=spec.size, sample_rate=spec.sample_rate,
                        channels=spec.channels)  # fmt: skip
        packed = load(video, audio_path=sidecar) if video.is_file() else load(sidecar or video)
        if original.frames is not None and packed.frames is not None:
            psnrs.append(_psnr(original.frames, packed.frames))
        if original.waveform is not None and packed.waveform is not None:
            n = min(original.num_samples, packed.num_samples)
            errors.append(float(np.abs(original.waveform[:, :n] - packed.waveform[:, :n]).max()))
    out = {"clips": float(len(jobs))}
    if psnrs:
        out["psnr_db"] = round(min(psnrs), 2)
    if errors:
        out["audio_max_abs"] = max(errors)
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB) of ``b`` against ``a``, uint8 frames, over the whole clip."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * float(np.log10(255.0**2 / mse))
