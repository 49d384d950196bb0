"""Looking a name up in one of the layers' name -> entry registries (below every layer).

Example:
    >>> lookup({"oracle": 1, "chance": 2}, "chance", "model")
    2
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from avikit.errors import UnknownNameError

__all__ = ["lookup"]

V = TypeVar("V")


def lookup(registry: Mapping[str, V], name: str, kind: str) -> V:
    """The entry of ``name`` in ``registry``; ``kind`` names what the registry holds, in the singular.

    Raises:
        UnknownNameError: (a ``KeyError``) for an unknown name; the message lists the known ones in
            registry order, e.g. ``unknown model 'x'; known models are: oracle, chance``.
    """
    if name not in registry:
        raise UnknownNameError(f"unknown {kind} {name!r}; known {kind}s are: {', '.join(registry)}")
    return registry[name]
