"""Where an evaluation's samples come from, under which condition, and how their media is made.

A run reads a prepared dataset folder (``manifest`` + ``card.json``) or generates AVSynth in memory, with
the dataset's profile (:class:`~avikit.data.profile.DatasetProfile`: the geometry media is decoded at and
the vocabularies tasks read). A condition is ``clean``, a modality control (``audio_muted``,
``video_blanked``, ``audio_swapped``) or AVSynth corruptions such as ``noise_snr=10`` or
``noise_snr=10+occlusion=0.3``; corrupted samples are regenerated from their provenance, so their targets
stay exact (an audio offset moves the audio events with it).

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
from typing import Any, NoReturn

from avikit.data.card import DatasetCard, read_card
from avikit.data.clips import load_sample_media
from avikit.data.croissant import read_croissant
from avikit.data.manifest import read_manifest
from avikit.data.pack import is_packed, load_packed_clip
from avikit.data.prepared import PREPARED_FILE, describe_subset
from avikit.data.profile import DatasetProfile, read_profile
from avikit.data.sample import Sample
from avikit.data.synth import VERSION, SynthConfig, avsynth_profile, generate, parse_conditions
from avikit.data.synth.recipe import URI_PREFIX
from avikit.errors import InputFileError, UsageError
from avikit.eval.controls import CONTROLS
from avikit.media import AVClip

log = logging.getLogger(__name__)

__all__ = [
    "Condition",
    "EvalData",
    "check_conditions",
    "load_eval_data",
    "load_sample_clip",
    "parse_condition",
    "resolve_sample",
]


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
    """The samples of one split, where relative media paths start, the dataset card, subset and profile.

    ``subset`` states what a score was computed on, so that numbers stay comparable when media is missing:
    the split, the number of samples, the SHA-256 of their sorted ids, and how many official items were
    left out because their media is missing (0 when they were kept, see ``missing_media`` of
    :func:`load_eval_data`).
    """

    samples: tuple[Sample, ...]
    root: Path | None
    card: dict[str, Any]
    subset: dict[str, Any] = field(default_factory=dict)
    profile: DatasetProfile = field(default_factory=avsynth_profile)


def load_eval_data(
    dataset: str | Path | None,
    split: str = "test",
    num_samples: int | None = None,
    seed: int = 0,
    missing_media: str = "leave_out",
) -> EvalData:
    """Read a prepared dataset folder, or generate ``num_samples`` AVSynth clips in memory.

    A folder written by ``avikit data prepare`` (with ``prepared.json``) is read with its Croissant card,
    and the items listed in ``<split>.missing.txt`` (media not found) are left out of the subset, unless
    ``missing_media="keep"`` (scoring a prediction file from annotations alone needs no media).

    Args:
        dataset: a folder with ``<split>.jsonl`` (or ``manifest.jsonl``) and ``card.json``, a prepared
            folder, or ``None`` for in-memory AVSynth.
        split: the split to read.
        num_samples: keep the first N samples (in-memory AVSynth: required).
        seed: the AVSynth seed (in-memory only).
        missing_media: ``"leave_out"`` or ``"keep"`` the items whose media was not found.

    Raises:
        FileNotFoundError: if the folder lacks a manifest or card.
        DataError: if its card declares no profile (prepare the dataset again).
    """
    if missing_media not in ("leave_out", "keep"):
        raise UsageError(f"missing_media must be 'leave_out' or 'keep', got {missing_media!r}")
    if dataset is None:
        if num_samples is None:
            raise UsageError("in-memory AVSynth needs num_samples; or pass a dataset folder")
        samples = tuple(generate(split, i, seed)[0] for i in range(num_samples))
        params = {"seed": seed, "config": SynthConfig().to_dict(), "conditions": {}, "version": VERSION}
        profile = avsynth_profile()
        card = DatasetCard.for_avsynth(params, samples, {}, profile).to_dict()
        return EvalData(samples, None, card, _subset(split, samples, 0), profile)
    root = Path(dataset)
    if not root.is_dir():
        raise InputFileError(f"{root}: no such dataset folder; give one from `avikit data prepare`")
    manifest = root / f"{split}.jsonl"
    if not manifest.is_file():
        manifest = root / "manifest.jsonl"
    if not manifest.is_file():
        _no_split(root, split)
    rows = [s for s in read_manifest(manifest) if s.split == split]
    missing: set[str] = set()
    if (root / PREPARED_FILE).is_file():
        card = read_croissant(root / "croissant.json")
        missing_list = root / f"{split}.missing.txt"
        if missing_list.is_file() and missing_media == "leave_out":
            missing = set(missing_list.read_text(encoding="utf-8").splitlines())  # ids may hold spaces
        if missing:
            log.info("%s: %d %s item(s) have no media and are left out", root, len(missing), split)
        kept_rows = [s for s in rows if s.id not in missing]
        if rows and not kept_rows:
            raise UsageError(
                f"{root}: none of the {len(rows)} {split!r} samples has its media (see {split}.missing.txt): "
                "put the media where the recipe looks and prepare again, or score the annotations alone "
                "(`avikit score --include-missing-media`)"
            )
        rows = kept_rows
    else:
        card = read_card(root / "card.json").to_dict()
    kept = tuple(rows[:num_samples] if num_samples is not None else rows)
    return EvalData(kept, root, card, _subset(split, kept, len(missing)), read_profile(root))


def _no_split(root: Path, split: str) -> NoReturn:
    """Raise the error for a folder without ``split``: the splits it has, or that it is no dataset folder."""
    splits = sorted(p.stem for p in root.glob("*.jsonl") if p.name != "manifest.jsonl")
    if (root / PREPARED_FILE).is_file() and splits:
        raise UsageError(
            f"{root} has no split {split!r}; its splits are {', '.join(splits)}: choose one (--split)"
        )
    raise UsageError(
        f"{root} holds no {split}.jsonl or manifest.jsonl: it is not a dataset folder; give a folder "
        "from `avikit data prepare` or `avikit data synth`"
    )


def _subset(split: str, samples: Sequence[Sample], missing: int) -> dict[str, Any]:
    return {"split": split, **describe_subset(s.id for s in samples), "missing_media": missing}


def check_conditions(data: EvalData, conditions: Sequence[Condition]) -> None:
    """Refuse, before anything runs, corruptions on a dataset whose clips AVSynth cannot re-render.

    Raises:
        UsageError: naming the condition and the dataset, and the conditions that do apply.
    """
    corrupted = [c.name for c in conditions if c.corruptions]
    foreign = [s.id for s in data.samples if (s.provenance.generator or {}).get("name") != "avsynth"]
    if corrupted and foreign:
        raise UsageError(
            f"condition {corrupted[0]!r} re-renders AVSynth clips with a corruption, and "
            f"{data.profile.name!r} clips (e.g. {foreign[0]!r}) are not AVSynth's: use clean or a modality "
            f"control ({', '.join(CONTROLS)})"
        )


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


def load_sample_clip(sample: Sample, root: Path | None, profile: DatasetProfile | None = None) -> AVClip:
    """Decode a (resolved) sample at its dataset's geometry (default: the AVSynth world's).

    Regenerated for ``avsynth:`` URIs, else read from its files (:func:`avikit.data.clips.load_sample_media`).
    In a packed folder (``avikit data pack``) the video is read with its audio sidecar.
    """
    if is_packed(root) and not sample.media.path.startswith(URI_PREFIX):
        return load_packed_clip(sample, root)  # type: ignore[arg-type]
    return load_sample_media(sample, root, profile or avsynth_profile())
