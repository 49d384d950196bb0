"""Machine-readable dataset cards in MLCommons Croissant 1.0 (JSON-LD).

A card states the licence (SPDX id), source, citation, files with their hashes, counts, known issues
and usage restrictions (non-commercial, research-only, people's faces and voices). Responsible-AI facts
use the Croissant RAI vocabulary (``rai:``); avikit's machine-checkable usage flags and counts live under
the ``avikit:`` prefix, which :func:`avikit.data.governance.check_allowed_use` reads.

Validation uses the optional ``mlcroissant`` package when it is installed (``validate_croissant``).

Example:
    >>> info = DatasetInfo(name="demo", title="Demo", description="A demo set.", url="https://example.org",
    ...                    licence="CC0-1.0", citation="@misc{demo}", version="1")
    >>> card = build_croissant(info, counts={"test": 3})
    >>> card["license"], card["avikit:counts"]
    ('CC0-1.0', {'test': 3})
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avikit.data.manifest import atomic_writer
from avikit.errors import DataError, InputFileError

__all__ = [
    "CARD_VERSION",
    "CROISSANT_CONTEXT",
    "CardFile",
    "DatasetInfo",
    "build_croissant",
    "read_croissant",
    "validate_croissant",
    "write_croissant",
]

_CR = "http://mlcommons.org/croissant/"
CARD_VERSION = "1.0.0"
"""Version of avikit's cards (semantic versioning, as Croissant asks); the official files' version is
``avikit:sourceVersion``."""
CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": _CR,
    "rai": f"{_CR}RAI/",
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "samplingRate": "cr:samplingRate",
    "avikit": "urn:avikit:",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "avikit:usage": {"@id": "avikit:usage", "@type": "@json"},
    "avikit:counts": {"@id": "avikit:counts", "@type": "@json"},
    "avikit:subsets": {"@id": "avikit:subsets", "@type": "@json"},
    "avikit:profile": {"@id": "avikit:profile", "@type": "@json"},
}
"""The Croissant 1.0 JSON-LD context, plus avikit's JSON-valued properties."""


@dataclass(frozen=True)
class CardFile:
    """One file of a card's distribution.

    Attributes:
        name: file name or path relative to the dataset root.
        url: where it comes from (an address or a relative path).
        encoding: MIME type, e.g. ``text/csv``.
        sha256: SHA-256 hex digest (Croissant requires a hash for a single file).
        md5: MD5 hex digest, when only that is published.
    """

    name: str
    url: str
    encoding: str
    sha256: str | None = None
    md5: str | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """The static facts of a dataset that its card states.

    Attributes:
        name: registry name, e.g. ``"ave"``.
        title: human title.
        description: what the data is.
        url: the dataset's home page or official repository.
        licence: SPDX id of the annotations' licence (``NOASSERTION`` when none is stated).
        citation: BibTeX of the paper to cite.
        version: version or commit of the official files the recipe reads.
        date_published: ISO date of the dataset's release (paper date), e.g. ``"2018-09-08"``.
        non_commercial: whether the terms forbid commercial use.
        research_only: whether the terms allow research use only.
        faces: whether the media shows people's faces (collected without consent for reuse).
        voices: whether the media holds people's voices.
        redistribution: whether the media may be redistributed.
        media_source: where the media comes from (e.g. YouTube) and whose copyright it is under.
        known_issues: documented problems of the official files.
        files: official files with their hashes.
        media_globs: file patterns of the media (Croissant file sets), relative to the dataset root.
        manual_steps: what must be fetched by hand, and where to put it.
    """

    name: str
    title: str
    description: str
    url: str
    licence: str
    citation: str
    version: str
    date_published: str = ""
    non_commercial: bool = True
    research_only: bool = True
    faces: bool = True
    voices: bool = True
    redistribution: bool = False
    media_source: str = "YouTube videos; copyright stays with their uploaders"
    known_issues: tuple[str, ...] = ()
    files: tuple[CardFile, ...] = ()
    media_globs: Mapping[str, str] = field(default_factory=dict)
    manual_steps: str = ""


def _distribution(files: Sequence[CardFile], media_globs: Mapping[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in files:
        if f.sha256 is None and f.md5 is None:  # Croissant needs a hash for a file object
            out.append(
                {
                    "@type": "cr:FileSet",
                    "@id": f.name,
                    "name": f.name,
                    "includes": f.name,
                    "encodingFormat": f.encoding,
                    "description": f"no published checksum; from {f.url}",
                }
            )
            continue
        item: dict[str, Any] = {"@type": "cr:FileObject", "@id": f.name, "name": f.name, "contentUrl": f.url}
        item["encodingFormat"] = f.encoding
        if f.sha256 is not None:
            item["sha256"] = f.sha256
        if f.md5 is not None:
            item["md5"] = f.md5
        out.append(item)
    for name, pattern in media_globs.items():
        out.append(
            {
                "@type": "cr:FileSet",
                "@id": name,
                "name": name,
                "includes": pattern,
                "encodingFormat": _media_type(pattern),
            }
        )
    return out


def _media_type(pattern: str) -> str:
    suffix = pattern.rsplit(".", 1)[-1].lower()
    return {
        "mp4": "video/mp4",
        "wav": "audio/wav",
        "flac": "audio/flac",
        "png": "image/png",
        "jpg": "image/jpeg",
        "xml": "application/xml",
    }.get(suffix, "application/octet-stream")


def _usage(info: DatasetInfo) -> dict[str, Any]:
    return {
        "nonCommercial": info.non_commercial,
        "researchOnly": info.research_only,
        "redistribution": info.redistribution,
        "containsFaces": info.faces,
        "containsVoices": info.voices,
    }


def _rai(info: DatasetInfo) -> dict[str, Any]:
    people = [w for w, flag in (("faces", info.faces), ("voices", info.voices)) if flag]
    personal = (
        f"The media shows people's {' and '.join(people)}; no consent to reuse was collected."
        if people
        else "None."
    )
    terms = (
        "research use only"
        if info.research_only
        else "non-commercial use"
        if info.non_commercial
        else "as the licence allows"
    )
    return {
        "rai:dataCollection": info.media_source,
        "rai:dataLimitations": list(info.known_issues) or ["None documented."],
        "rai:personalSensitiveInformation": personal,
        "rai:dataUseCases": f"Benchmarking audio-visual models; {terms}.",
    }


def build_croissant(
    info: DatasetInfo,
    files: Sequence[CardFile] | None = None,
    counts: Mapping[str, Any] | None = None,
    subsets: Mapping[str, Any] | None = None,
    profile: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the Croissant JSON-LD card of a dataset.

    Args:
        info: the dataset's static facts.
        files: the files to list (default: ``info.files``), each with its hash.
        counts: counts to state, e.g. samples per split.
        subsets: per split, the subset a prepared copy holds (counts and the hash of its id list).
        profile: the geometry and vocabularies of a prepared copy
            (:meth:`avikit.data.profile.DatasetProfile.to_dict`), under ``avikit:profile``.
    """
    card: dict[str, Any] = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "name": info.name,
        "alternateName": info.title,
        "description": info.description,
        "url": info.url,
        "license": info.licence,
        "citeAs": info.citation,
        "version": CARD_VERSION,
        "avikit:sourceVersion": info.version,
        "isAccessibleForFree": True,
        "distribution": _distribution(info.files if files is None else files, info.media_globs),
        **_rai(info),
        "avikit:usage": _usage(info),
    }
    if info.date_published:
        card["datePublished"] = info.date_published
    if counts is not None:
        card["avikit:counts"] = dict(counts)
    if subsets is not None:
        card["avikit:subsets"] = dict(subsets)
    if profile is not None:
        card["avikit:profile"] = dict(profile)
    return card


def validate_croissant(card: Mapping[str, Any]) -> list[str]:
    """Validate a card with ``mlcroissant``; return its warnings.

    Raises:
        ImportError: ``mlcroissant`` is not installed (``pip install mlcroissant``).
        ValueError: the card is not valid Croissant; the message lists the problems.
    """
    import mlcroissant as mlc  # optional dependency, imported only when validating

    try:
        dataset = mlc.Dataset(jsonld=json.loads(json.dumps(card)))
    except mlc.ValidationError as err:
        raise DataError(f"card {card.get('name')!r} is not valid Croissant: {err}") from err
    return [str(w) for w in dataset.metadata.issues.warnings]


def write_croissant(path: str | os.PathLike[str], card: Mapping[str, Any]) -> Path:
    """Write a card as indented JSON-LD, atomically, and return the path."""
    with atomic_writer(path) as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    return Path(path)


def read_croissant(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a card written by :func:`write_croissant`.

    Raises:
        FileNotFoundError: it does not exist.
        ValueError: it is not a Croissant dataset card.
    """
    source = Path(path)
    if not source.is_file():
        raise InputFileError(f"dataset card {source} does not exist")
    card = json.loads(source.read_text(encoding="utf-8"))
    if not isinstance(card, dict) or card.get("@type") != "sc:Dataset" or "license" not in card:
        raise DataError(f"{source} is not a Croissant dataset card (needs @type sc:Dataset and a license)")
    return card
