"""Recipes of the official AV datasets: ``prepare_<name>(root, out)``, ``download_<name>(root)`` and cards.

One plain registry, :data:`DATASETS`, maps each name to its entry (prepare, download and card
functions). ``prepare`` reads the official layout under ``root`` and writes manifests, the missing-media
lists, ``prepared.json`` and a Croissant card to ``out``; it never touches the network. ``download``
fetches what has an official direct download and says what must be fetched by hand.

Example:
    >>> "ave" in DATASETS and "avsbench-s4" in DATASETS
    True
    >>> list_datasets()[0]["name"]
    'audio-domains'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from avikit._registry import lookup
from avikit.data.datasets.audio_domains import (
    card_audio_domains,
    download_audio_domains,
    prepare_audio_domains,
)
from avikit.data.datasets.audioset import card_audioset, download_audioset, prepare_audioset
from avikit.data.datasets.ave import card_ave, download_ave, prepare_ave
from avikit.data.datasets.avsbench import card_avsbench, download_avsbench, prepare_avsbench
from avikit.data.datasets.avsynth import card_avsynth, download_avsynth_recipe, prepare_avsynth_recipe
from avikit.data.datasets.flickr_soundnet import (
    card_flickr_soundnet,
    download_flickr_soundnet,
    prepare_flickr_soundnet,
)
from avikit.data.datasets.llp import card_llp, download_llp, prepare_llp
from avikit.data.datasets.music_avqa import card_music_avqa, download_music_avqa, prepare_music_avqa
from avikit.data.datasets.unav100 import card_unav100, download_unav100, prepare_unav100
from avikit.data.datasets.vggsound import card_vggsound, download_vggsound, prepare_vggsound
from avikit.data.datasets.vggss import card_vggss, download_vggss, prepare_vggss

__all__ = [
    "DATASETS",
    "DatasetEntry",
    "card_audio_domains",
    "card_audioset",
    "card_ave",
    "card_avsbench",
    "card_avsynth",
    "card_flickr_soundnet",
    "card_llp",
    "card_music_avqa",
    "card_unav100",
    "card_vggsound",
    "card_vggss",
    "download_audio_domains",
    "download_audioset",
    "download_ave",
    "download_avsbench",
    "download_flickr_soundnet",
    "download_llp",
    "download_music_avqa",
    "download_unav100",
    "download_vggsound",
    "download_vggss",
    "get_dataset",
    "list_datasets",
    "prepare_audio_domains",
    "prepare_audioset",
    "prepare_ave",
    "prepare_avsbench",
    "prepare_flickr_soundnet",
    "prepare_llp",
    "prepare_music_avqa",
    "prepare_unav100",
    "prepare_vggsound",
    "prepare_vggss",
]


class DatasetEntry(NamedTuple):
    """A registry entry: ``prepare(root, out, **options)``, ``download(root)`` and ``card()``."""

    prepare: Callable[..., dict[str, Path]]
    download: Callable[[str | os.PathLike[str]], Path]
    card: Callable[[], dict[str, Any]]


DATASETS: dict[str, DatasetEntry] = {
    "audio-domains": DatasetEntry(prepare_audio_domains, download_audio_domains, card_audio_domains),
    "audioset": DatasetEntry(prepare_audioset, download_audioset, card_audioset),
    "ave": DatasetEntry(prepare_ave, download_ave, card_ave),
    "avsbench-avss": DatasetEntry(
        partial(prepare_avsbench, variant="avss"), download_avsbench, card_avsbench
    ),
    "avsbench-ms3": DatasetEntry(partial(prepare_avsbench, variant="ms3"), download_avsbench, card_avsbench),
    "avsbench-s4": DatasetEntry(partial(prepare_avsbench, variant="s4"), download_avsbench, card_avsbench),
    "avsynth": DatasetEntry(prepare_avsynth_recipe, download_avsynth_recipe, card_avsynth),
    "flickr-soundnet": DatasetEntry(prepare_flickr_soundnet, download_flickr_soundnet, card_flickr_soundnet),
    "llp": DatasetEntry(prepare_llp, download_llp, card_llp),
    "music-avqa": DatasetEntry(prepare_music_avqa, download_music_avqa, card_music_avqa),
    "unav100": DatasetEntry(prepare_unav100, download_unav100, card_unav100),
    "vggsound": DatasetEntry(prepare_vggsound, download_vggsound, card_vggsound),
    "vggss": DatasetEntry(prepare_vggss, download_vggss, card_vggss),
}
"""Dataset name -> its recipe functions. Options of ``prepare`` (e.g. ``annotations``, ``protocol``) are
keywords."""


def get_dataset(name: str) -> DatasetEntry:
    """Return the registry entry of ``name``.

    Raises:
        UnknownNameError: (a ``KeyError``) for an unknown name; the message lists the known ones.
    """
    return lookup(DATASETS, name, "dataset")


def _defined_in(function: Callable[..., Any]) -> str:
    inner = function.func if isinstance(function, partial) else function
    return f"{inner.__module__}.{inner.__qualname__}"


def list_datasets() -> list[dict[str, str]]:
    """Return one row per dataset: name, title, licence and where its prepare function is defined."""
    rows = []
    for name, entry in DATASETS.items():
        card = entry.card()
        rows.append(
            {
                "name": name,
                "title": card["alternateName"],
                "licence": card["license"],
                "defined_in": _defined_in(entry.prepare),
            }
        )
    return rows
