"""Audio domains: a speech, music and sound-effect corpus with mixtures, generated locally from a seed.

The corpus of :mod:`avikit.data.audio_corpus`, written in the recipe contract: ``prepare_audio_domains``
generates every clip of the requested splits as 16-bit mono WAV (``OUT/clips/<split>_<domain>_<index>.wav``)
and writes one manifest per split, ``prepared.json`` and the Croissant card; ``download_audio_domains``
downloads nothing (the corpus is generated) and checks that the Debian programs it runs are installed.

Layout written::

    OUT/clips/<split>_<domain>_<index>.wav   mono, ``seconds`` long, 16 kHz
    OUT/<split>.jsonl                         one Sample per clip (targets: avikit.data.audio_corpus.corpus)

Inputs and their licences (also in the card): sentences and compositions written for the corpus (CC0-1.0);
espeak-ng (GPL-3.0-or-later; its synthesized speech carries no terms); the FluidR3_GM soundfont of Debian's
``fluid-soundfont-gm`` (MIT, whose samples sound in the music); AVSynth's sounds (CC0-1.0). The corpus is
therefore under MIT (the notice of FluidR3_GM travels with the music clips).

Idempotent: a second ``prepare`` into the same folder with the same options reuses every clip already
written (its manifest row and file); other options regenerate all.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.audio_corpus.corpus import CORPUS_VERSION, DOMAINS, CorpusConfig, make_clip
from avikit.data.audio_corpus.tools import find_program, find_soundfont, run_program
from avikit.data.croissant import DatasetInfo, build_croissant
from avikit.data.datasets._recipe import media_ref, provenance, write_prepared
from avikit.data.manifest import read_manifest
from avikit.data.prepared import PREPARED_FILE
from avikit.data.profile import DatasetProfile
from avikit.data.sample import Sample
from avikit.errors import DataError, InputFileError, UsageError

__all__ = [
    "AUDIO_DOMAINS_INFO",
    "DEFAULT_COUNTS",
    "card_audio_domains",
    "download_audio_domains",
    "prepare_audio_domains",
    "read_audio_domains",
]

log = logging.getLogger(__name__)

_SAMPLE_RATE = CorpusConfig().sample_rate

DEFAULT_COUNTS = {"train": 64, "val": 16, "test": 24}
"""Clips per domain in each split of the default corpus."""

INPUT_LICENCES = {
    "sentences and compositions": "CC0-1.0 (written for avikit)",
    "espeak-ng (Debian espeak-ng, espeak-ng-data)": "GPL-3.0-or-later (a program run; its speech output "
    "carries no terms)",
    "FluidR3_GM.sf2 (Debian fluid-soundfont-gm)": "MIT (its samples sound in the music clips)",
    "fluidsynth (Debian fluidsynth)": "LGPL-2.1-or-later (a program run)",
    "pretty-midi (PyPI)": "MIT (writes the MIDI files)",
    "AVSynth sounds (avikit.data.synth)": "CC0-1.0",
}
"""Each input of the corpus and its licence."""

AUDIO_DOMAINS_INFO = DatasetInfo(
    name="audio-domains",
    title="Audio domains: speech, music and sound effects",
    description="Mono 16 kHz clips in four domains generated offline from a seed: speech by espeak-ng in six "
    "languages and six voice variants (transcripts kept), music composed as MIDI (melody, chords, drums; key "
    "and tempo varied) and rendered by fluidsynth with the FluidR3 General MIDI soundfont (notes and "
    "instruments kept), AVSynth's sound effects (classes and events kept), and mixtures of all three at set "
    "levels.",
    url="urn:avikit:audio-domains",
    licence="MIT",
    citation="@misc{avikit_audio_domains, "
    "title={Audio domains: a generated speech, music and effects corpus}, "
    "note={avikit}}",
    version=f"generator {CORPUS_VERSION}",
    non_commercial=False,
    research_only=False,
    faces=False,
    voices=False,
    redistribution=True,
    media_source="Generated locally by avikit.data.audio_corpus; inputs and licences: "
    + "; ".join(f"{name}: {licence}" for name, licence in INPUT_LICENCES.items()),
    known_issues=(
        "Speech is formant-synthesized (espeak-ng): intelligible but not natural; a recogniser trained on "
        "natural "
        "speech makes errors on the original audio too, so judge codecs against the original's score.",
        "Music is rendered without reverb or chorus; the melody leads, but chords and drums sound with it.",
        "Clips depend on the installed espeak-ng, fluidsynth and soundfont versions (recorded in "
        "prepared.json).",
    ),
    media_globs={"clips": "clips/*.wav"},
    manual_steps="Install the Debian packages espeak-ng, fluidsynth and fluid-soundfont-gm "
    "(tools/install_system_packages.sh).",
)


def _tool_versions() -> dict[str, str]:
    """The first line each program prints about its version, and the soundfont's path."""
    espeak = run_program(["espeak-ng", "--version"]).decode("utf-8", "replace").strip().splitlines()[0]
    fluid = run_program(["fluidsynth", "--version"]).decode("utf-8", "replace").strip().splitlines()[0]
    return {"espeak-ng": espeak, "fluidsynth": fluid, "soundfont": find_soundfont().name}


def _counts(options: Mapping[str, Any]) -> dict[str, int]:
    counts = {}
    for split, default in DEFAULT_COUNTS.items():
        value = options.get(split, default)
        try:
            counts[split] = int(value)
        except (TypeError, ValueError) as err:
            raise UsageError(f"{split}={value!r}: clips per domain must be a whole number >= 0") from err
        if counts[split] < 0:
            raise UsageError(f"{split}={value!r}: clips per domain must be a whole number >= 0")
    return {split: n for split, n in counts.items() if n > 0}


def _domains(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    names = tuple(d.strip() for d in value.split(",")) if isinstance(value, str) else tuple(value)
    unknown = [d for d in names if d not in DOMAINS]
    if unknown or not names:
        raise UsageError(f"unknown domain(s) {unknown}; choose from {', '.join(DOMAINS)}")
    return names


def _reusable(out: Path, options: Mapping[str, Any]) -> dict[str, Sample]:
    """Samples of an earlier prepare into ``out`` with the same options, whose clips are still there."""
    record_path = out / PREPARED_FILE
    if not record_path.is_file():
        return {}
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record.get("dataset") != "audio-domains" or record.get("options") != json.loads(json.dumps(options)):
        return {}
    found = {}
    for entry in record.get("splits", {}).values():
        manifest = out / entry["manifest"]
        if manifest.is_file():
            for sample in read_manifest(manifest):
                if (out / sample.media.path).is_file():
                    found[sample.id] = sample
    return found


def _write_clip(out: Path, domain: str, split: str, index: int, seed: int, config: CorpusConfig) -> Sample:
    from avikit.media import AVClip, save

    targets, waveform = make_clip(domain, split, index, seed, config)
    sample_id = f"{split}_{domain}_{index:05d}"
    path = save(
        AVClip(waveform=waveform[None], sample_rate=config.sample_rate), out / "clips" / f"{sample_id}.wav"
    )
    return Sample(
        sample_id,
        "audio-domains",
        split,
        media_ref(out, path, 0, config.seconds),
        provenance(AUDIO_DOMAINS_INFO, f"audio-domains:{domain}/{split}/{index}@seed{seed}"),
        targets,
    )


def prepare_audio_domains(
    root: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    seed: int | str = 0,
    seconds: int | str = 4,
    domains: str | tuple[str, ...] = DOMAINS,
    **counts: int | str,
) -> dict[str, Path]:
    """Generate the corpus into ``out``: WAV clips, one manifest per split, ``prepared.json`` and the card.

    Args:
        root: not read (the corpus is generated); accepted for the recipe contract.
        out: output folder.
        seed: the corpus seed.
        seconds: clip length in whole seconds.
        domains: the domains to make (comma-separated or a tuple), of ``speech, music, effects, mixture``.
        **counts: clips per domain for ``train``, ``val`` and ``test`` (default :data:`DEFAULT_COUNTS`;
            0 drops a split). Values may be strings, as from ``avikit data prepare --option test=8``.

    Returns:
        ``{split: manifest path}``.

    Raises:
        UsageError: an unknown option, split or domain, or a count that is not a whole number.
        MissingDependencyError: espeak-ng, fluidsynth or the soundfont is not installed.
    """
    unknown = set(counts) - set(DEFAULT_COUNTS)
    if unknown:
        raise UsageError(
            f"unknown option(s) {sorted(unknown)}; options: seed, seconds, domains, train, val, test"
        )
    config, base, names = CorpusConfig(seconds=int(seconds)), Path(out), _domains(domains)
    for program in ("espeak-ng", "fluidsynth"):
        find_program(program)
    sizes = _counts(counts)
    options = {
        "seed": int(seed),
        "seconds": config.seconds,
        "sample_rate": config.sample_rate,
        "level_db": config.level_db,
        "domains": list(names),
        "counts": sizes,
        "generator": CORPUS_VERSION,
        "tools": _tool_versions(),
    }
    reuse = _reusable(base, options)
    splits: dict[str, list[tuple[Sample, bool]]] = {}
    for split, count in sizes.items():
        rows = []
        for domain in names:
            for index in range(count):
                cached = reuse.get(f"{split}_{domain}_{index:05d}")
                rows.append((cached or _write_clip(base, domain, split, index, int(seed), config), True))
        splits[split] = rows
        log.info(
            "audio-domains %s: %d clips (%d reused)", split, len(rows), sum(s.id in reuse for s, _ in rows)
        )
    profile = DatasetProfile(
        "audio-domains",
        fps=1,
        sample_rate=config.sample_rate,
        frame_size=1,
        duration=config.seconds,
        vocabularies={"classes": tuple(names)},
        source="audio only (the frame rate and frame size are placeholders: no clip has video); classes are "
        "the domains in the order asked",
    )
    return write_prepared(base, AUDIO_DOMAINS_INFO, splits, [find_soundfont()], options, profile=profile)


def read_audio_domains(
    folder: str | os.PathLike[str], split: str, domains: tuple[str, ...] | None = None
) -> dict[str, tuple[list[Sample], np.ndarray]]:
    """Read a prepared split: per domain, its samples and their waveforms ``float32 [N, seconds * rate]``.

    Args:
        folder: a folder written by :func:`prepare_audio_domains`.
        split: ``train``, ``val`` or ``test``.
        domains: the domains to read (default: every domain in the split), in this order.

    Raises:
        InputFileError: the split's manifest is not in ``folder``.
        DataError: a clip has another length or rate than the corpus's.
    """
    from avikit.media import load

    base = Path(folder)
    manifest = base / f"{split}.jsonl"
    if not manifest.is_file():
        raise InputFileError(
            f"{manifest} not found; prepare the corpus with `avikit data prepare audio-domains`"
        )
    by_domain: dict[str, list[Sample]] = {}
    for sample in read_manifest(manifest):
        by_domain.setdefault(sample.targets["domain"], []).append(sample)
    wanted = tuple(by_domain) if domains is None else domains
    missing = [d for d in wanted if d not in by_domain]
    if missing:
        raise DataError(f"{manifest} holds no clips of {missing}; prepare with domains including them")
    out = {}
    for domain in wanted:
        rows = []
        for sample in by_domain[domain]:
            clip = load(base / sample.media.path, sample_rate=_SAMPLE_RATE, channels=1)
            waveform = clip.require_waveform()[0]
            if len(waveform) != int(sample.targets["duration"]) * _SAMPLE_RATE:
                raise DataError(
                    f"{sample.media.path}: {len(waveform)} samples, expected {sample.targets['duration']} s"
                )
            rows.append(waveform)
        out[domain] = (by_domain[domain], np.stack(rows))
    return out


def download_audio_domains(root: str | os.PathLike[str]) -> Path:
    """The corpus is generated, never downloaded: check the Debian programs; make and return ``root``.

    Raises:
        MissingDependencyError: espeak-ng, fluidsynth or the soundfont is missing (the message says what to
            install).
    """
    for program in ("espeak-ng", "fluidsynth"):
        find_program(program)
    find_soundfont()
    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    return base


def card_audio_domains() -> dict[str, Any]:
    """Return the Croissant card of the corpus (inputs and their licences under ``rai:dataCollection``)."""
    return build_croissant(AUDIO_DOMAINS_INFO, counts={"per_domain": DEFAULT_COUNTS, "domains": len(DOMAINS)})
