"""The ``tasks`` layer: the task taxonomy as versioned specs."""

__all__: list[str] = []
