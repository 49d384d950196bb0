"""The ``metrics`` layer: pure scoring functions, each equal to a benchmark's official scorer."""

__all__: list[str] = []
