"""Instruction data from AVSynth ground truth: questions and answers in words, every answer exact.

Each clip's targets (objects, events, question templates) give a set of :class:`Instruction` records:

- ``qa``: the MUSIC-AVQA question types (counting, location, comparison, existence, temporal) answered
  with one word; ``mc``: the same as multiple choice (four lettered options, answer ``"(B)"``);
- ``evidence``: the same questions answered with a word and the cited evidence ("two. Evidence: heard
  from 0.0 to 4.9 seconds."), the modality cited as heard, seen, or heard and seen;
- ``caption``: the whole clip, only what is heard, only what is seen (per-modality detail);
- ``grounding``: "When does the X sound?" answered with seconds ("From 1.5 to 3.0 seconds.");
- ``probe``: AVHBench-style yes/no questions (is a sound heard, is an object seen, is a seen object the
  one sounding), balanced with absent classes;
- ``sync``: "Is the sound early or late?" on clips whose audio is shifted (``av_offset_ms`` condition);
- ``refusal``: questions about a class that is neither heard nor seen, answered with a refusal.

Every record names its evidence (time span and modality) where there is one. The split is AVSynth's, so
``open_test`` classes never appear in ``train`` records.

Example:
    >>> from avikit.data.synth import generate
    >>> sample = generate("test", 1)[0]
    >>> records = build_instructions(sample.to_dict()["targets"], sample.id, sample.split)
    >>> sorted({r.kind for r in records})
    ['caption', 'evidence', 'grounding', 'mc', 'probe', 'qa', 'refusal']
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from avikit.data.synth.classes import CLASS_NAMES, SOUNDS, get_class
from avikit.data.synth.scene import split_classes
from avikit.errors import DataError

__all__ = [
    "CITED",
    "KINDS",
    "REFUSAL_PREFIX",
    "SYNC_ANSWERS",
    "Instruction",
    "audio_caption",
    "build_instructions",
    "format_options",
    "format_span",
    "visual_caption",
]

KINDS = ("qa", "mc", "evidence", "caption", "grounding", "probe", "sync", "refusal")
"""The kinds of instruction record."""
REFUSAL_PREFIX = "There is no"
"""Every refusal answer starts with this ("There is no cow in this clip.")."""
SYNC_ANSWERS = {"early": "The sound is early.", "late": "The sound is late.", "sync": "They are in sync."}
CITED = {"audio": "heard", "visual": "seen", "audio_visual": "heard and seen"}
"""How an evidence answer names the modality of its evidence."""
_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_LETTERS = "ABCD"


@dataclass(frozen=True)
class Instruction:
    """One question about one clip, with its exact answer.

    Attributes:
        id: ``"<clip>/<kind>/<k>"``.
        clip: the sample id of the clip.
        split: the AVSynth split.
        kind: one of :data:`KINDS`.
        question: the user turn (without media).
        answer: the reference answer.
        modality: the modality the answer rests on (``"audio"``, ``"visual"``, ``"audio_visual"``,
            ``"none"`` for refusals).
        evidence: ``{"start", "end"}`` seconds supporting the answer, or ``None``.
        options: the lettered options of a multiple-choice question.
        conditions: AVSynth conditions the clip is made under (``{"av_offset_ms": 1000}`` for sync).
        meta: the question type and template, the class asked about, the yes/no label of a probe.
    """

    id: str
    clip: str
    split: str
    kind: str
    question: str
    answer: str
    modality: str
    evidence: Mapping[str, float] | None = None
    options: tuple[str, ...] = ()
    conditions: Mapping[str, float] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form."""
        data = asdict(self)
        data["options"] = list(self.options)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Instruction:
        """Build from :meth:`to_dict` output; unknown or missing fields are a :class:`DataError`."""
        names = {f for f in cls.__dataclass_fields__}
        required = {"id", "clip", "split", "kind", "question", "answer", "modality"}
        if set(data) - names or required - set(data):
            raise DataError(
                f"instruction record {data.get('id', '?')!r}: unknown {sorted(set(data) - names)} or "
                f"missing {sorted(required - set(data))} fields; valid fields are {sorted(names)}"
            )
        return cls(**{**data, "options": tuple(data.get("options", ()))})


def _rng(clip: str, kind: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{clip}/{kind}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def format_span(start: float, end: float) -> str:
    """A span in words, to one decimal: ``format_span(1.5, 3) == 'From 1.5 to 3.0 seconds.'``."""
    return f"From {float(start):.1f} to {float(end):.1f} seconds."


def format_options(options: Sequence[str]) -> str:
    """Lettered options on one line: ``'(A) one (B) two ...'``."""
    return " ".join(f"({_LETTERS[k]}) {o}" for k, o in enumerate(options))


def _first_onsets(targets: Mapping[str, Any]) -> dict[int, float]:
    return {e["object"]: e["onset"] for e in reversed(targets["events"]["audio"])}


def audio_caption(targets: Mapping[str, Any]) -> str:
    """What is heard, in order of first onset: ``"a bee buzzes, then a horse calls 'ee'"`` (or silence)."""
    onsets = _first_onsets(targets)
    objects = sorted((o for o in targets["objects"] if o["id"] in onsets), key=lambda o: onsets[o["id"]])
    parts = [f"{_a(o['class'])} {SOUNDS[get_class(o['class']).sound]}" for o in objects]
    return ", then ".join(parts) if parts else "silence"


def visual_caption(targets: Mapping[str, Any]) -> str:
    """What is seen: ``"a bee on the left and a cow in the middle"`` (or an empty scene)."""
    parts = [f"{_a(o['class'])} {o['place']}" for o in targets["objects"] if o["on_screen"] and o["place"]]
    return " and ".join(parts) if parts else "an empty scene"


def _present(targets: Mapping[str, Any]) -> set[str]:
    return {o["class"] for o in targets["objects"]}


def _absent(targets: Mapping[str, Any], split: str, rng: np.random.Generator) -> str:
    pool = [c for c in split_classes(split) if c not in _present(targets)] or [
        c for c in CLASS_NAMES if c not in _present(targets)
    ]
    return str(pool[int(rng.integers(len(pool)))])


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _option_pool(answer: str, split: str) -> list[str]:
    if answer in _NUMBERS:
        return list(_NUMBERS[:6])
    if answer in ("yes", "no"):
        return ["yes", "no"]
    if answer in ("left", "middle", "right"):
        return ["left", "middle", "right"]
    return list(split_classes(split))


def _qa(targets: Mapping[str, Any], clip: str, split: str) -> list[Instruction]:
    out = []
    rng = _rng(clip, "mc")
    for k, q in enumerate(targets.get("qa", [])):
        modality = {"Audio": "audio", "Visual": "visual"}.get(q["type"][0], "audio_visual")
        evidence = {"start": q["evidence"]["start"], "end": q["evidence"]["end"]}
        meta = {"type": list(q["type"]), "template": q["template"]}
        out.append(
            Instruction(
                f"{clip}/qa/{k}",
                clip,
                split,
                "qa",
                q["question"] + " Answer in one word.",
                q["answer"],
                modality,
                evidence,
                meta=meta,
            )
        )
        if evidence["end"] > evidence["start"]:
            cited = (
                f"Evidence: {CITED[modality]} {format_span(evidence['start'], evidence['end'])[0].lower()}"
            )
            text = f"{q['question']} Answer in one word, then give the evidence."
            out.append(
                Instruction(
                    f"{clip}/evidence/{k}",
                    clip,
                    split,
                    "evidence",
                    text,
                    f"{q['answer']}. {cited}{format_span(evidence['start'], evidence['end'])[1:]}",
                    modality,
                    evidence,
                    meta=meta,
                )
            )
        pool = [o for o in _option_pool(q["answer"], split) if o != q["answer"]]
        distractors = list(rng.choice(pool, size=min(3, len(pool)), replace=False))
        options = [q["answer"], *distractors]
        rng.shuffle(options)
        letter = _LETTERS[options.index(q["answer"])]
        text = f"{q['question']} {format_options(options)} Answer with the letter."
        out.append(
            Instruction(
                f"{clip}/mc/{k}",
                clip,
                split,
                "mc",
                text,
                f"({letter})",
                modality,
                evidence,
                tuple(str(o) for o in options),
                meta=meta,
            )
        )
    return out


def _captions(targets: Mapping[str, Any], clip: str, split: str) -> list[Instruction]:
    caption = targets["caption"]
    return [
        Instruction(
            f"{clip}/caption/0",
            clip,
            split,
            "caption",
            "Describe what you see and hear.",
            caption[0].upper() + caption[1:] + ".",
            "audio_visual",
            meta={"detail": "both"},
        ),
        Instruction(
            f"{clip}/caption/1",
            clip,
            split,
            "caption",
            "Describe only what you hear.",
            f"I hear {audio_caption(targets)}.",
            "audio",
            meta={"detail": "audio"},
        ),
        Instruction(
            f"{clip}/caption/2",
            clip,
            split,
            "caption",
            "Describe only what you see.",
            f"I see {visual_caption(targets)}.",
            "visual",
            meta={"detail": "visual"},
        ),
    ]


def _grounding(targets: Mapping[str, Any], clip: str, split: str) -> list[Instruction]:
    by_class: dict[str, list[Mapping[str, Any]]] = {}
    for e in targets["events"]["audio"]:
        by_class.setdefault(e["label"], []).append(e)
    out = []
    for k, (cls, events) in enumerate(sorted(by_class.items())):
        if len(events) != 1 or sum(o["class"] == cls for o in targets["objects"]) != 1:
            continue  # one span per question, as NExT-GQA
        e = events[0]
        out.append(
            Instruction(
                f"{clip}/grounding/{k}",
                clip,
                split,
                "grounding",
                f"When does the {cls} sound?",
                format_span(e["onset"], e["offset"]),
                "audio",
                {"start": e["onset"], "end": e["offset"]},
                meta={"class": cls},
            )
        )
    return out


def _probes(targets: Mapping[str, Any], clip: str, split: str) -> list[Instruction]:
    rng = _rng(clip, "probe")
    heard = sorted({e["label"] for e in targets["events"]["audio"]})
    seen = sorted({o["class"] for o in targets["objects"] if o["on_screen"]})
    av = {e["label"] for e in targets["events"]["audio_visual"]}
    absent = _absent(targets, split, rng)
    rows: list[tuple[str, str, str, str]] = []  # (question, answer, modality, class)
    if heard:
        c = heard[int(rng.integers(len(heard)))]
        rows.append((f"Is there a sound of {_a(c)}?", "yes", "audio", c))
    rows.append((f"Is there a sound of {_a(absent)}?", "no", "audio", absent))
    if seen:
        c = seen[int(rng.integers(len(seen)))]
        rows.append((f"Is {_a(c)} visible?", "yes", "visual", c))
        rows.append((f"Is the {c} in the video making sound?", "yes" if c in av else "no", "audio_visual", c))
    rows.append((f"Is {_a(absent)} visible?", "no", "visual", absent))
    return [
        Instruction(
            f"{clip}/probe/{k}",
            clip,
            split,
            "probe",
            q + " Answer yes or no.",
            a,
            m,
            meta={"label": a, "class": c},
        )
        for k, (q, a, m, c) in enumerate(rows)
    ]


def _refusals(targets: Mapping[str, Any], clip: str, split: str) -> list[Instruction]:
    absent = _absent(targets, split, _rng(clip, "refusal"))
    return [
        Instruction(
            f"{clip}/refusal/0",
            clip,
            split,
            "refusal",
            f"When does the {absent} sound?",
            f"{REFUSAL_PREFIX} {absent} in this clip.",
            "none",
            meta={"class": absent},
        ),
        Instruction(
            f"{clip}/refusal/1",
            clip,
            split,
            "refusal",
            f"Where is the {absent}?",
            f"{REFUSAL_PREFIX} {absent} in this clip.",
            "none",
            meta={"class": absent},
        ),
    ]


def _sync(clip: str, split: str, offset_ms: float) -> list[Instruction]:
    key = "late" if offset_ms > 0 else "early" if offset_ms < 0 else "sync"
    return [
        Instruction(
            f"{clip}/sync/0",
            clip,
            split,
            "sync",
            "Is the sound early or late?",
            SYNC_ANSWERS[key],
            "audio_visual",
            conditions={"av_offset_ms": float(offset_ms)} if offset_ms else {},
            meta={"label": key},
        )
    ]


def build_instructions(
    targets: Mapping[str, Any], clip: str, split: str, kinds: Sequence[str] = KINDS
) -> list[Instruction]:
    """Every instruction record of one clip, from its ground truth (plain-dict targets).

    A ``sync`` record is made only for a clip made under the ``av_offset_ms`` condition alone (0 gives the
    "in sync" answer).

    Raises:
        DataError: for an unknown kind; the message names the valid kinds.
    """
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise DataError(f"unknown instruction kinds {unknown}; valid kinds are {', '.join(KINDS)}")
    out: list[Instruction] = []
    if {"qa", "mc", "evidence"} & set(kinds):
        out += [r for r in _qa(targets, clip, split) if r.kind in kinds]
    makers = {"caption": _captions, "grounding": _grounding, "probe": _probes, "refusal": _refusals}
    for kind, make in makers.items():
        if kind in kinds:
            out += make(targets, clip, split)
    applied = targets.get("conditions", {}).get("applied", {})
    if "sync" in kinds and "av_offset_ms" in applied and set(applied) == {"av_offset_ms"}:
        out += _sync(clip, split, float(applied["av_offset_ms"]))
    return out
