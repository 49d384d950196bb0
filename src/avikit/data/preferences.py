"""Preference pairs from AVSynth ground truth: the rejected answer invents, drops or swaps one event.

After OmniDPO and MoD-DPO: a pair shares the question and the clip; the chosen answer is the reference,
the rejected one is wrong about exactly one modality, so a preference for the chosen answer needs that
modality. Corruptions, each tagged with the modality it concerns:

- captions: ``invent`` (a class neither heard nor seen is added, with its sound for the audio detail, with
  a place for the visual detail), ``drop`` (a present source is left out), ``swap`` (a present class is
  replaced by an absent one);
- one-word answers: ``swap`` (another answer of the same type: a count off by one, the other of yes/no,
  another place, another class);
- probes: ``flip`` (yes <-> no);
- grounding: ``shift`` (the span moved by half the clip, clipped to it);
- evidence answers: ``modality`` (the right span cited from the wrong modality: heard <-> seen).

Example:
    >>> from avikit.data.synth import generate
    >>> from avikit.data.instructions import build_instructions
    >>> sample = generate("test", 1)[0]
    >>> records = build_instructions(sample.to_dict()["targets"], sample.id, sample.split, ("caption",))
    >>> pair = build_preference_pairs(records, sample.to_dict()["targets"])[0]
    >>> pair.chosen, pair.corruption in CORRUPTIONS
    ('A snake hisses on the right.', True)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from avikit.data.instructions import CITED, Instruction, format_span
from avikit.data.synth.classes import SOUNDS, get_class
from avikit.data.synth.scene import split_classes
from avikit.errors import DataError

__all__ = ["CORRUPTIONS", "PreferencePair", "build_preference_pairs"]

CORRUPTIONS = ("invent", "drop", "swap", "flip", "shift", "modality")
_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_PLACES = ("left", "middle", "right")


@dataclass(frozen=True)
class PreferencePair:
    """One preference pair.

    Attributes:
        id: ``"<instruction id>/pref"``.
        instruction: the instruction record (question, reference answer, clip, evidence).
        chosen: the reference answer.
        rejected: the corrupted answer.
        corruption: one of :data:`CORRUPTIONS`.
        modality: the modality the corruption concerns (``"audio"`` or ``"visual"``).
    """

    id: str
    instruction: Instruction
    chosen: str
    rejected: str
    corruption: str
    modality: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form."""
        data = asdict(self)
        data["instruction"] = self.instruction.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PreferencePair:
        """Build from :meth:`to_dict` output; missing or unknown fields are a :class:`DataError`."""
        names = set(cls.__dataclass_fields__)
        if set(data) != names:
            raise DataError(
                f"preference pair {data.get('id', '?')!r}: fields {sorted(data)}, expected {sorted(names)}"
            )
        return cls(**{**data, "instruction": Instruction.from_dict(data["instruction"])})


def _rng(key: str) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little"))


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _absent(targets: Mapping[str, Any], split: str, rng: np.random.Generator) -> str:
    present = {o["class"] for o in targets["objects"]}
    pool = [c for c in split_classes(split) if c not in present]
    return str(pool[int(rng.integers(len(pool)))])


def _caption_pair(
    record: Instruction, targets: Mapping[str, Any], rng: np.random.Generator
) -> tuple[str, str, str]:
    detail = record.meta["detail"]
    modality = (
        "visual"
        if detail == "visual"
        else "audio"
        if detail == "audio"
        else ("audio", "visual")[int(rng.integers(2))]
    )
    present = sorted(
        {o["class"] for o in targets["objects"]} & set(re.findall(r"\w+", record.answer.lower()))
    )
    absent = _absent(targets, record.split, rng)
    choices = ["invent"] + (["swap"] if present else []) + (["drop"] if len(present) > 1 else [])
    corruption = choices[int(rng.integers(len(choices)))]
    answer = record.answer.rstrip(".")
    if corruption == "invent":
        addition = (
            f"{_a(absent)} {SOUNDS[get_class(absent).sound]}"
            if modality == "audio"
            else f"{_a(absent)} on the left"
        )
        return f"{answer}, and {addition}.", corruption, modality
    victim = present[int(rng.integers(len(present)))]
    if corruption == "swap":
        return re.sub(rf"\b{victim}\b", absent, record.answer), corruption, modality
    parts = [p for p in re.split(r", then | while | and |; ", answer) if not re.search(rf"\b{victim}\b", p)]
    text = ", then ".join(parts)
    return text[0].upper() + text[1:] + ".", corruption, modality


def _word_swap(answer: str, split: str, rng: np.random.Generator) -> str:
    if answer in _NUMBERS:
        k = _NUMBERS.index(answer)
        return _NUMBERS[k + 1] if k == 0 or rng.random() < 0.5 else _NUMBERS[k - 1]
    if answer in ("yes", "no"):
        return "no" if answer == "yes" else "yes"
    if answer in _PLACES:
        others = [p for p in _PLACES if p != answer]
        return others[int(rng.integers(2))]
    others = [c for c in split_classes(split) if c != answer]
    return str(others[int(rng.integers(len(others)))])


def _pair(record: Instruction, targets: Mapping[str, Any]) -> tuple[str, str, str] | None:
    rng = _rng(record.id)
    side = "visual" if record.modality == "visual" else "audio"
    if record.kind == "caption":
        return _caption_pair(record, targets, rng)
    if record.kind == "qa":
        return _word_swap(record.answer, record.split, rng) + "", "swap", side
    if record.kind == "probe":
        return ("no" if record.answer == "yes" else "yes"), "flip", side
    if record.kind == "grounding" and record.evidence is not None:
        start, end = float(record.evidence["start"]), float(record.evidence["end"])
        length, duration = end - start, float(targets["duration"])
        moved = (start + duration / 2) % duration
        moved = min(moved, duration - length)
        return format_span(moved, moved + length), "shift", "audio"
    if record.kind == "evidence" and record.modality in ("audio", "visual"):
        wrong = CITED["visual" if record.modality == "audio" else "audio"]
        return (
            record.answer.replace(f"Evidence: {CITED[record.modality]}", f"Evidence: {wrong}"),
            "modality",
            side,
        )
    return None


def build_preference_pairs(
    records: Sequence[Instruction], targets: Mapping[str, Any]
) -> list[PreferencePair]:
    """One pair per record that has a corruption (captions, one-word answers, probes, grounding, evidence).

    Args:
        records: the instruction records of one clip.
        targets: the clip's plain-dict targets (objects, events, duration).
    """
    out = []
    for record in records:
        made = _pair(record, targets)
        if made is None or made[0] == record.answer:
            continue
        rejected, corruption, modality = made
        out.append(PreferencePair(f"{record.id}/pref", record, record.answer, rejected, corruption, modality))
    return out
