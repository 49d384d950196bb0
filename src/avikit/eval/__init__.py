"""The ``eval`` layer: runner, cache, sweeps and reports."""

__all__: list[str] = []
