"""Check an AVSynth set on disk: files decode, durations, label consistency, masks, QA answers.

Example:
    >>> import tempfile
    >>> from avikit.data.synth import prepare_avsynth
    >>> root = tempfile.mkdtemp()
    >>> _ = prepare_avsynth(root, {"test": 2})
    >>> report = validate_dataset(root)
    >>> report.ok, report.checked
    (True, 2)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.card import read_card
from avikit.data.manifest import iter_manifest
from avikit.data.sample import Sample
from avikit.data.synth.classes import CLASSES
from avikit.data.synth.ground_truth import BACKGROUND, avel_labels, segment_labels_of, segment_mask_maps
from avikit.data.synth.questions import answer
from avikit.data.synth.recipe import load_clip, load_ids
from avikit.errors import MediaError
from avikit.media import probe

__all__ = ["ValidationReport", "validate_dataset", "validate_sample"]


@dataclass
class ValidationReport:
    """What :func:`validate_dataset` found: how many samples it checked and every problem."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


def _check_labels(t: dict[str, Any], duration: Fraction) -> list[str]:
    out = []
    seconds = len(t["avel"])
    for modality, rows in t["events"].items():
        for e in rows:
            if e["label"] not in CLASSES or not 0 <= e["onset"] < e["offset"] <= duration:
                out.append(f"bad {modality} event {e}")
        if t["segment_labels"][modality] != segment_labels_of(rows, seconds):
            out.append(f"{modality} segment labels do not follow from the {modality} events")
    if t["avel"] != avel_labels(t["events"]["audio_visual"], seconds):
        out.append("AVEL labels do not follow from the audio-visual events")
    if any(label != BACKGROUND and label not in CLASSES for label in t["avel"]):
        out.append("AVEL labels hold an unknown class")
    labels = sorted({e["label"] for rows in t["events"].values() for e in rows})
    if t["labels"] != labels:
        out.append(f"video labels {t['labels']} != classes of the events {labels}")
    for q in t["qa"]:
        result = answer(t, q["template"], q["templ_values"])
        if result is None or result[0] != q["answer"]:
            out.append(f"QA {q['question']!r}: stored answer {q['answer']!r}, ground truth gives {result}")
    return out


def _check_masks(t: dict[str, Any], ids: np.ndarray, fps: int) -> list[str]:
    out = []
    binary, _ = segment_mask_maps(ids, t, fps)
    size = ids.shape[1]
    for e in t["events"]["audio_visual"]:
        obj = t["objects"][e["object"]]
        tr = obj["track"]
        for k in range(int(np.ceil(e["onset"] * fps)), int(np.ceil(e["offset"] * fps))):
            j = k - tr["first_frame"]
            ys, xs = np.nonzero((ids[k] == obj["id"] + 1) & (binary[k] > 0))
            if len(xs) == 0:
                continue
            cx, cy, r = tr["x"][j] * size, tr["y"][j] * size, tr["r"][j] * size
            if np.hypot(xs.mean() - cx, ys.mean() - cy) > r + 1 and len(xs) > 0.5 * np.pi * r * r:
                out.append(f"mask of object {obj['id']} in frame {k} is not where the object is")
                break
    return out


def validate_sample(sample: Sample, root: str | os.PathLike[str], decode: bool = True) -> list[str]:
    """Return the problems of one sample of a set stored under ``root`` (empty if none)."""
    base = Path(root)
    t = {k: sample.target(k) for k in sample.targets}
    problems: list[str] = []
    path = base / sample.media.path
    duration = sample.media.duration or Fraction(t["duration"])
    try:
        info = probe(path)
    except (MediaError, FileNotFoundError) as err:
        return [f"{sample.id}: {err}"]
    if info.video is None or info.audio is None or abs(info.duration - float(duration)) > 0.05:
        problems.append(
            f"media lasts {info.duration} s (video: {info.video is not None}, audio: "
            f"{info.audio is not None}); expected {float(duration)} s with both streams"
        )
    problems += _check_labels(t, duration)
    fps = int(sample.provenance.generator["config"]["fps"]) if sample.provenance.generator else 8
    if decode:
        clip = load_clip(sample, base)
        ids = load_ids(sample, base)
        if ids.shape[0] != clip.num_frames or ids.shape[1:] != (clip.height, clip.width):
            problems.append(
                f"mask id map {ids.shape} does not match the video "
                f"{clip.num_frames}x{clip.height}x{clip.width}"
            )
        else:
            problems += _check_masks(t, ids, fps)
    return [f"{sample.id}: {p}" for p in problems]


def validate_dataset(
    root: str | os.PathLike[str],
    decode: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ValidationReport:
    """Check every sample of the AVSynth set in ``root`` (``card.json`` and ``manifest.jsonl``).

    Args:
        root: the folder written by :func:`~avikit.data.synth.prepare_avsynth`.
        decode: also decode every clip and check frames and masks (slower).
        progress: called with the number of samples checked so far.
    """
    base = Path(root)
    report = ValidationReport()
    try:
        card = read_card(base / "card.json")
    except (FileNotFoundError, ValueError) as err:
        report.problems.append(f"card: {err}; the set is incomplete or not an AVSynth set")
        return report
    counts: dict[str, int] = {}
    for sample in iter_manifest(base / "manifest.jsonl"):
        report.problems += validate_sample(sample, base, decode)
        counts[sample.split] = counts.get(sample.split, 0) + 1
        report.checked += 1
        if progress is not None:
            progress(report.checked)
    if counts != dict(card.split_counts):
        report.problems.append(f"card counts {dict(card.split_counts)} differ from the manifest's {counts}")
    return report
