"""Evaluation under ``torchrun``: one process per rank, samples sharded by rank, records gathered on rank 0.

``torchrun --nproc-per-node N -m avikit eval run ...`` starts N copies of the command with ``RANK`` and
``WORLD_SIZE`` set; :func:`current_world` reads them and joins the process group (gloo on CPU, NCCL where
every rank has a GPU). The runner then gives rank ``r`` the samples :func:`rank_slots` assigns it (strided:
``r, r + N, ...``, padded to equal length so that every rank makes the same predict calls, as
``torch.utils.data.DistributedSampler`` does), writes each rank's records to its own shard file (a rank
resumes from its own file), and gathers every rank's records on rank 0 (:func:`gather_object`), which
writes the records it does not already have and scores the run; the padding is never recorded. On one
machine (a shared run folder) the gathered records are already there; across machines with separate disks,
rank 0's folder ends up holding all of them.

Example:
    >>> rank_slots(5, 1, 2, pad=True)
    [(1, False), (3, False), (0, True)]
    >>> rank_slots(5, 1, 2, pad=False)
    [(1, False), (3, False)]
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

__all__ = [
    "World",
    "broadcast_object",
    "current_world",
    "gather_object",
    "is_main_process",
    "leave",
    "rank_slots",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class World:
    """This process's place in a ``torchrun`` job (rank 0 of size 1 outside one)."""

    rank: int = 0
    size: int = 1
    backend: str | None = None
    owned: bool = False
    """Whether :func:`current_world` joined the group (and :func:`leave` leaves it)."""

    @property
    def distributed(self) -> bool:
        """Whether there is more than one process."""
        return self.size > 1


def is_main_process() -> bool:
    """Whether this is rank 0 (or not under ``torchrun``); reads the environment only."""
    return os.environ.get("RANK", "0") == "0"


def current_world() -> World:
    """The ``torchrun`` world from ``RANK``/``WORLD_SIZE``, with the process group joined (size 1: none).

    The backend is NCCL when CUDA is available (each rank on the GPU ``LOCAL_RANK``), else gloo.
    """
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    import torch
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
    if dist.is_initialized():  # the caller's own group
        return World(rank, size, str(dist.get_backend()))
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)
    log.info("rank %d of %d joined the process group (%s)", rank, size, backend)
    return World(rank, size, backend, owned=True)


def leave(world: World) -> None:
    """Wait for every rank, then leave the process group :func:`current_world` joined (else nothing)."""
    if world.owned:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()


def rank_slots(count: int, rank: int, size: int, pad: bool = True) -> list[tuple[int, bool]]:
    """The sample indices of ``rank`` as ``(index, is_padding)``: strided, padded to ``ceil(count / size)``.

    Padding repeats the first indices of the list (other ranks' samples), as ``DistributedSampler`` does.
    """
    if not 0 <= rank < size:
        raise ValueError(f"rank {rank} outside a world of {size}")
    total = -(-count // size) * size if pad else count
    order = [k % count for k in range(total)] if count else []
    return [(order[k], k >= count) for k in range(rank, total, size)]


def broadcast_object(value: Any, world: World) -> Any:
    """``value`` of rank 0, on every rank."""
    if not world.distributed:
        return value
    import torch.distributed as dist

    box = [value if world.rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_object(value: Any, world: World) -> list[Any] | None:
    """Every rank's ``value`` in rank order, on rank 0 (``None`` on the others)."""
    if not world.distributed:
        return [value]
    import torch.distributed as dist

    out: list[Any] | None = [None] * world.size if world.rank == 0 else None
    dist.gather_object(value, out, dst=0)
    return out
