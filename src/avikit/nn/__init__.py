"""The ``nn`` layer: building blocks for models."""

__all__: list[str] = []
