"""The ``models`` layer: reference models, adapters and the Model protocol."""

__all__: list[str] = []
