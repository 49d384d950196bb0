"""The ``data`` layer: Sample records, manifests, dataset cards, official-format loaders and AVSynth."""

__all__: list[str] = []
