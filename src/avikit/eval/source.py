"""Where an evaluation's samples come from, under which condition, and how their media is made.

A run reads a prepared dataset folder (``manifest`` + ``card.json``) or generates AVSynth in memory. A
condition is ``clean``, a modality control (``audio_muted``, ``video_blanked``, ``audio_swapped``) or AVSynth
corruptions such as ``noise_snr=10`` or ``noise_snr=10+occlusion=0.3``; corrupted samples are regenerated
from their provenance, so their targets stay exact (an audio offset moves the audio events with it).

Example:
    >>> parse_condition("noise_snr=10")
    Condition(name='noise_snr=10', corruptions={'noise_snr': 10.0}, control=None)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avikit.data.card import DatasetCard, read_card
from avikit.data.croissant import read_croissant
from avikit.data.manifest import read_manifest
from avikit.data.prepared import PREPARED_FILE, describe_subset
from avikit.data.sample import Sample
from avikit.data.synth import VERSION, SynthConfig, generate, load_clip, parse_conditions
from avikit.errors import InputFileError, UsageError
from avikit.eval.controls import CONTROLS
from avikit.media import AVClip

log = logging.getLogger(__name__)

__all__ = ["Condition", "EvalData", "load_eval_data", "load_sample_clip", "parse_condition", "resolve_sample"]


@dataclass(frozen=True)
class Condition:
    """One point of the conditions axis.

    Attributes:
        name: as given, e.g. ``"clean"``, ``"audio_muted"`` or ``"noise_snr=10"``.
        corruptions: AVSynth corruptions applied to the media.
        control: the modality control, if any.
    """

    name: str
    corruptions: dict[str, float] = field(default_factory=dict)
    control: str | None = None


def parse_condition(text: str) -> Condition:
    """Parse ``clean``, a control name or ``+``-joined corruptions, e.g. ``noise_snr=10+occlusion=0.3``.

    Raises:
        ValueError: for an unknown control or corruption; the message lists the valid ones.
    """
    name = text.strip()
    if name == "clean":
        return Condition("clean")
    if name in CONTROLS:
        return Condition(name, control=name)
    if "=" not in name:
        raise UsageError(
            f"unknown condition {name!r}; use clean, one of {', '.join(CONTROLS)}, or NAME=VALUE"
        )
    return Condition(name, corruptions=parse_conditions(name.split("+")))


@dataclass(frozen=True)
class EvalData:
    """The samples of one dataset split, where relative media paths start, the dataset card and the subset.

    ``subset`` states what a score was computed on, so that numbers stay comparable when media is missing:
    the split, the number of samples, the SHA-256 of their sorted ids, and how many official items were
    left out because their media is missing.
    """

    samples: tuple[Sample, ...]
    root: Path | None
    card: dict[str, Any]
    subset: dict[str, Any] = field(default_factory=dict)


def load_eval_data(
    dataset: str | Path | None, split: str = "test", num_samples: int | None = None, seed: int = 0
) -> EvalData:
    """Read a prepared dataset folder, or generate ``num_samples`` AVSynth clips in memory.

    A folder written by ``avikit data prepare`` (with ``prepared.json``) is read with its Croissant card,
    and the items listed in ``<split>.missing.txt`` (media not found) are left out of the subset.

    Args:
        dataset: a folder with ``<split>.jsonl`` (or ``manifest.jsonl``) and ``card.json``, a prepared
            folder, or ``None`` for in-memory AVSynth.
        split: the split to read.
        num_samples: keep the first N samples (in-memory AVSynth: required).
        seed: the AVSynth seed (in-memory only).

    Raises:
        FileNotFoundError: if the folder lacks a manifest or card.
    """
    if dataset is None:
        if num_samples is None:
            raise UsageError("in-memory AVSynth needs num_samples; or pass a dataset folder")
        samples = tuple(generate(split, i, seed)[0] for i in range(num_samples))
        params = {"seed": seed, "config": SynthConfig().to_dict(), "conditions": {}, "version": VERSION}
        card = DatasetCard.for_avsynth(params, samples, {}).to_dict()
        return EvalData(samples, None, card, _subset(split, samples, 0))
    root = Path(dataset)
    if not root.is_dir():
        raise InputFileError(f"{root}: no such dataset folder; give one from `avikit data prepare`")
    manifest = root / f"{split}.jsonl"
    if not manifest.is_file():
        manifest = root / "manifest.jsonl"
    if not manifest.is_file():
        raise UsageError(
            f"{root} holds no {split}.jsonl or manifest.jsonl: it is not a dataset folder; give a folder "
            "from `avikit data prepare` or `avikit data synth`"
        )
    rows = [s for s in read_manifest(manifest) if s.split == split]
    missing: set[str] = set()
    if (root / PREPARED_FILE).is_file():
        card = read_croissant(root / "croissant.json")
        missing_list = root / f"{split}.missing.txt"
        if missing_list.is_file():
            missing = set(missing_list.read_text(encoding="utf-8").split())
        if missing:
            log.info("%s: %d %s item(s) have no media and are left out", root, len(missing), split)
        rows = [s for s in rows if s.id not in missing]
    else:
        card = read_card(root / "card.json").to_dict()
    kept = tuple(rows[:num_samples] if num_samples is not None else rows)
    return EvalData(kept, root, card, _subset(split, kept, len(missing)))


def _subset(split: str, samples: Sequence[Sample], missing: int) -> dict[str, Any]:
    return {"split": split, **describe_subset(s.id for s in samples), "missing_media": missing}


def resolve_sample(sample: Sample, condition: Condition) -> Sample:
    """The sample under a condition's corruptions (regenerated from its AVSynth provenance), else itself."""
    if not condition.corruptions:
        return sample
    gen = sample.provenance.generator
    if gen is None or gen.get("name") != "avsynth":
        raise UsageError(f"condition {condition.name!r} needs AVSynth samples; {sample.id!r} is not one")
    config = SynthConfig.from_dict(json.loads(json.dumps(dict(gen["config"]), default=list)))
    conditions = {**dict(gen["conditions"]), **condition.corruptions}
    return generate(gen["split"], gen["index"], gen["seed"], config, conditions)[0]


def load_sample_clip(sample: Sample, root: Path | None) -> AVClip:
    """Decode a (resolved) sample: regenerated for ``avsynth:`` URIs, else read from its file."""
    return load_clip(sample, root)
