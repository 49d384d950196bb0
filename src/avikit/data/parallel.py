"""How per-clip preprocessing work runs: in this process, or as a Ray Data pipeline on a Ray cluster.

Preprocessing steps that touch every clip (``avikit data pack`` re-encodes each file, AVSynth generation
renders and encodes each clip) take a :data:`Mapper`: a function that applies a per-item function to a list
of JSON-able items and returns the JSON-able results in item order. :func:`local_map` runs them one after
the other; :func:`ray_map` runs them as a Ray Data pipeline, ``map_batches`` over rows of whole clips (a
row is a clip, never a frame), on the cluster ``ray.init()`` connects to (``RAY_ADDRESS``, or a local one).

Example:
    >>> local_map(lambda x: x * 2, [1, 2, 3])
    [2, 4, 6]
    >>> get_mapper("local") is local_map
    True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from avikit.errors import UsageError

__all__ = ["ENGINES", "Mapper", "get_mapper", "local_map", "ray_map"]

Mapper = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]
"""``mapper(fn, items) -> [fn(item) for item in items]``, items and results JSON-able, in item order."""
ENGINES = ("local", "ray")


def local_map(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """Apply ``fn`` to every item in this process, in order."""
    return [fn(item) for item in items]


def ray_map(fn: Callable[[Any], Any], items: Sequence[Any], batch_size: int = 4) -> list[Any]:
    """Apply ``fn`` to every item as a Ray Data pipeline (``map_batches``, one row per item); item order.

    Connects with ``ray.init()`` unless Ray is already initialised: to ``RAY_ADDRESS`` if set (a real
    cluster), else to a new local cluster.

    Raises:
        UsageError: if Ray is not installed (``pip install 'avikit[ray]'``).
    """
    ray = import_ray()
    import numpy as np

    if not items:
        return []
    if not ray.is_initialized():
        ray.init()
    rows = [{"index": i, "item": json.dumps(item)} for i, item in enumerate(items)]

    def run(batch: dict[str, Any]) -> dict[str, Any]:
        results = [json.dumps(fn(json.loads(str(text)))) for text in batch["item"]]
        return {"index": batch["index"], "result": np.array(results, dtype=object)}

    dataset = ray.data.from_items(rows, override_num_blocks=-(-len(rows) // batch_size))
    done = dataset.map_batches(run, batch_size=batch_size, batch_format="numpy", num_cpus=1).take_all()
    return [json.loads(row["result"]) for row in sorted(done, key=lambda row: int(row["index"]))]


def import_ray() -> Any:
    """The ``ray`` module (with Ray Data), or a one-line error saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise UsageError(
            f"the ray engine needs Ray ({error}); install it: pip install 'avikit[ray]'"
        ) from error
    return ray


def get_mapper(engine: str) -> Mapper:
    """The mapper of ``engine`` (``"local"`` or ``"ray"``).

    Raises:
        UsageError: for another name.
    """
    if engine == "local":
        return local_map
    if engine == "ray":
        return ray_map
    raise UsageError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
