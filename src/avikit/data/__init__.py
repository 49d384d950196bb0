"""The ``data`` layer: Sample records, manifests, dataset cards, AVSynth and exporters.

Import AVSynth from :mod:`avikit.data.synth` and the exporters from :mod:`avikit.data.export`.
"""

from avikit.data.card import DatasetCard, read_card, write_card
from avikit.data.manifest import atomic_writer, iter_manifest, read_manifest, write_manifest
from avikit.data.sample import MediaRef, Provenance, Sample

__all__ = [
    "DatasetCard",
    "MediaRef",
    "Provenance",
    "Sample",
    "atomic_writer",
    "iter_manifest",
    "read_card",
    "read_manifest",
    "write_card",
    "write_manifest",
]
